import { ed25519 } from '@noble/curves/ed25519.js'
import { expand, extract } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { OnionAddress } from '../tor/onion-address.js'
import { clientAuthKeyPairFromSeed, onionAddressFromSeed, type ClientAuthKeyPair } from '../tor/onion-keys.js'
import { conceal } from './conceal.js'
import { identityFingerprint } from './fingerprint.js'
import { assertMasterSeed } from './master-seed.js'

/**
 * HKDF-SHA256 `info` labels, one per subkey. Versioned so that a future
 * scheme can derive different keys from the same master seed; never change
 * an existing label, since that would silently change a node's identity and
 * `.onion` address.
 */
export const DERIVATION_LABELS = {
  identity: 'burrow/v1/identity-ed25519',
  onionService: 'burrow/v1/onion-service-ed25519',
  onionClientAuth: 'burrow/v1/onion-client-auth-x25519',
  database: 'burrow/v1/database-key',
} as const

/** Length in bytes of every derived subkey seed. */
const SUBKEY_LENGTH = 32

/** The node's Ed25519 identity: its libp2p PeerId, operation signatures and MLS credential. */
export interface IdentityKeyPair {
  /** 32-byte Ed25519 private seed (RFC 8032 secret key). Secret. */
  readonly seed: Uint8Array
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
}

/**
 * Every key a node uses, derived from one master seed. The object and its
 * secret-holding parts print as placeholders (JSON, util.inspect, template
 * strings), so logging it by mistake does not leak a key.
 */
export interface NodeKeys {
  /** Ed25519 identity key pair. */
  readonly identity: IdentityKeyPair
  /** 32-byte Ed25519 seed of the onion service key, handed to tor. Secret. */
  readonly onionServiceSeed: Uint8Array
  /** The `.onion` address that `onionServiceSeed` publishes. */
  readonly onionAddress: OnionAddress
  /** X25519 key pair this node presents as a client to peers' authorized onion services. */
  readonly clientAuth: ClientAuthKeyPair
  /** Signs `message` with the identity key (Ed25519, RFC 8032); returns the 64-byte signature. */
  sign(message: Uint8Array): Uint8Array
}

/**
 * Derives a node's keys from its master seed: HKDF-SHA256 extract (no salt;
 * the seed is already uniform) then one expand per label in
 * {@link DERIVATION_LABELS}. Deterministic, so the keystore need only hold
 * the master seed, and labels are independent, so no subkey reveals another.
 */
export function deriveNodeKeys(masterSeed: Uint8Array): NodeKeys {
  assertMasterSeed(masterSeed)
  const prk = extract(sha256, masterSeed)
  try {
    const subkey = (label: string): Uint8Array =>
      expand(sha256, prk, new TextEncoder().encode(label), SUBKEY_LENGTH)
    const identitySeed = subkey(DERIVATION_LABELS.identity)
    const onionServiceSeed = subkey(DERIVATION_LABELS.onionService)
    const clientAuthSeed = subkey(DERIVATION_LABELS.onionClientAuth)
    // The pair is already redacted for printing and holds its own copy of the key.
    const clientAuth = clientAuthKeyPairFromSeed(clientAuthSeed)
    clientAuthSeed.fill(0)

    const publicKey = ed25519.getPublicKey(identitySeed)
    const identity = conceal({ seed: identitySeed, publicKey }, `IdentityKeyPair ${identityFingerprint(publicKey)}`)
    return conceal(
      {
        identity,
        onionServiceSeed,
        onionAddress: onionAddressFromSeed(onionServiceSeed),
        clientAuth,
        sign: (message: Uint8Array): Uint8Array => ed25519.sign(message, identitySeed),
      },
      `NodeKeys ${identityFingerprint(identity.publicKey)}`,
    )
  } finally {
    prk.fill(0)
  }
}

/**
 * The key that seals the node's SQLite database when its keystore is sealed:
 * HKDF-SHA256 like the other subkeys (extract without salt, then one
 * expand), with `info` = {@link DERIVATION_LABELS}.database ‖ `keystoreSalt`.
 * The keystore's scrypt salt is fresh every time the keystore is sealed, so
 * a new passphrase also gives the database a new key; the key itself is
 * never written anywhere. Returns 32 bytes the caller should zero when done.
 */
export function deriveDatabaseKey(masterSeed: Uint8Array, keystoreSalt: Uint8Array): Uint8Array {
  assertMasterSeed(masterSeed)
  const prk = extract(sha256, masterSeed)
  try {
    const label = new TextEncoder().encode(DERIVATION_LABELS.database)
    const info = new Uint8Array(label.length + keystoreSalt.length)
    info.set(label)
    info.set(keystoreSalt, label.length)
    return expand(sha256, prk, info, SUBKEY_LENGTH)
  } finally {
    prk.fill(0)
  }
}
