import { inspect } from 'node:util'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { base32nopad, base64 } from '@scure/base'
import { TorError } from './errors.js'
import { onionAddressFromPublicKey, type OnionAddress } from './onion-address.js'

const KEY_LENGTH = 32
const CLIENT_AUTH_BASE32_LENGTH = 52

/**
 * Tor's 64-byte "expanded" Ed25519 secret key for a 32-byte seed:
 * `h = SHA-512(seed)` with the scalar half clamped (`h[0] &= 248; h[31] &= 127; h[31] |= 64`).
 * The second half is the nonce prefix tor signs with. The result is secret.
 */
export function expandOnionSeed(seed32: Uint8Array): Uint8Array {
  assertLength(seed32, 'onion service seed')
  const h = sha512(seed32)
  h[0] = (h[0] ?? 0) & 248
  h[31] = ((h[31] ?? 0) & 127) | 64
  return h
}

/**
 * The key argument of `ADD_ONION` for a seed: `ED25519-V3:` + base64 of the
 * expanded key (88 characters). Persisting the seed and sending this at every
 * start keeps the same `.onion`. The string is a secret: never log it.
 */
export function onionServiceKeyBlob(seed32: Uint8Array): string {
  const expanded = expandOnionSeed(seed32)
  try {
    return `ED25519-V3:${base64.encode(expanded)}`
  } finally {
    expanded.fill(0)
  }
}

/** The `.onion` address tor reports for the service keyed by {@link onionServiceKeyBlob}`(seed32)`. */
export function onionAddressFromSeed(seed32: Uint8Array): OnionAddress {
  assertLength(seed32, 'onion service seed')
  return onionAddressFromPublicKey(ed25519.getPublicKey(seed32))
}

/** An x25519 key pair for onion-service client authorization (rend-spec "restricted discovery"). */
export interface ClientAuthKeyPair {
  /** Secret: registered with our own tor through `ONION_CLIENT_AUTH_ADD`. */
  privateKey: Uint8Array
  /** Given to the service, which passes it to `ADD_ONION … ClientAuthV3=`. */
  publicKey: Uint8Array
}

/** Holds a key pair but prints and serialises only the public half. */
class RedactedClientAuthKeyPair implements ClientAuthKeyPair {
  constructor(
    readonly privateKey: Uint8Array,
    readonly publicKey: Uint8Array,
  ) {}

  toJSON(): { publicKey: string; privateKey: string } {
    return { publicKey: clientAuthPublicKeyBase32(this.publicKey), privateKey: '[redacted]' }
  }

  [inspect.custom](): string {
    return `ClientAuthKeyPair { publicKey: ${clientAuthPublicKeyBase32(this.publicKey)}, privateKey: [redacted] }`
  }
}

/**
 * Derives the client-auth key pair from a 32-byte seed. The private key is the
 * RFC 7748-clamped seed, the same form tor generates itself; clamping does not
 * change the public key. The seed must be dedicated to this purpose (derive it
 * from the node's root secret), not reused as an Ed25519 seed.
 */
export function clientAuthKeyPairFromSeed(seed32: Uint8Array): ClientAuthKeyPair {
  assertLength(seed32, 'client authorization seed')
  const privateKey = Uint8Array.from(seed32)
  privateKey[0] = (privateKey[0] ?? 0) & 248
  privateKey[31] = ((privateKey[31] ?? 0) & 127) | 64
  return new RedactedClientAuthKeyPair(privateKey, x25519.getPublicKey(privateKey))
}

/**
 * The 52-character unpadded base32 form of a client-auth public key, as
 * `ClientAuthV3=` and `.auth` files expect. Upper case, like rend-spec's
 * `.auth` example; tor decodes base32 in either case (checked against tor 0.4.9).
 */
export function clientAuthPublicKeyBase32(pub: Uint8Array): string {
  assertLength(pub, 'client authorization public key')
  return base32nopad.encode(pub)
}

/**
 * Inverse of {@link clientAuthPublicKeyBase32}. Accepts either letter case;
 * rejects padding, whitespace, other lengths and non-canonical trailing bits
 * (52 characters carry 260 bits, the last 4 must be zero).
 */
export function parseClientAuthPublicKey(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length !== CLIENT_AUTH_BASE32_LENGTH) {
    throw new TorError(
      'INVALID_CLIENT_AUTH_KEY',
      `a client authorization public key has ${CLIENT_AUTH_BASE32_LENGTH} base32 characters, got ${typeof s === 'string' ? s.length : typeof s}`,
    )
  }
  if (!/^[A-Za-z2-7]+$/.test(s)) {
    throw new TorError('INVALID_CLIENT_AUTH_KEY', 'a client authorization public key may contain only base32 characters (A-Z, 2-7)')
  }
  try {
    return base32nopad.decode(s.toUpperCase())
  } catch (cause) {
    throw new TorError('INVALID_CLIENT_AUTH_KEY', 'the client authorization public key has non-zero trailing bits (not a canonical encoding)', { cause })
  }
}

/** Standard padded base64 of a client-auth private key, for `ONION_CLIENT_AUTH_ADD <id> x25519:<this>`. Secret: never log it. */
export function clientAuthPrivateKeyBase64(priv: Uint8Array): string {
  assertLength(priv, 'client authorization private key')
  return base64.encode(priv)
}

function assertLength(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_LENGTH) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes
    throw new TorError('INVALID_ONION_KEY', `a ${what} has ${KEY_LENGTH} bytes, got ${got}`)
  }
}
