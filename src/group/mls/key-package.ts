import { defaultCapabilities, generateKeyPackageWithKey } from 'ts-mls'
import type { KeyPackage, Lifetime, PrivateKeyPackage } from 'ts-mls'
import { bytesEqual } from '../../log/bytes.js'
import { boundIdentity, credentialFor, IDENTITY_KEY_LENGTH, type MlsIdentity } from './credential.js'
import { encodeKeyPackage } from './messages.js'
import { cipherSuite } from './suite.js'
import { MlsError } from './errors.js'

/** A fresh key package: the public half to publish, the private half to keep until the Welcome arrives. */
export interface KeyPackagePair {
  /** Encoded MLSMessage(KeyPackage), signed by the identity key. Safe to send. */
  readonly publicPackage: Uint8Array
  /** Encoded init and leaf HPKE private keys. Secret; does NOT contain the identity seed. */
  readonly privatePackage: Uint8Array
}

const DAY_SECONDS = 24n * 3600n

/**
 * Length of a key package's validity window, in whole UTC days. The window
 * opens at the start of the UTC day before the one it was made on (so a clock
 * up to a day behind still accepts it) and closes this long after: a package
 * shows only the day it was made, never the second, and can be used 26 to 27
 * days after it was made.
 */
export const KEY_PACKAGE_LIFETIME_SECONDS = 28n * DAY_SECONDS

const PRIVATE_PACKAGE_VERSION = 1
const HPKE_PRIVATE_KEY_LENGTH = 32
const PRIVATE_PACKAGE_LENGTH = 1 + 2 * HPKE_PRIVATE_KEY_LENGTH

/**
 * Creates a key package whose credential is `identity.publicKey` and whose
 * MLS signature key is the identity key itself, so the MLS leaf is provably
 * the member's Burrow identity.
 */
export async function createKeyPackage(identity: MlsIdentity, now: Date = new Date()): Promise<KeyPackagePair> {
  assertIdentity(identity)
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credentialFor(identity.publicKey),
    defaultCapabilities(),
    lifetimeFrom(now),
    [],
    { signKey: identity.seed, publicKey: identity.publicKey },
    await cipherSuite(),
  )
  return { publicPackage: encodeKeyPackage(publicPackage), privatePackage: encodePrivatePackage(privatePackage) }
}

/** Rejects identities whose keys do not have Ed25519 sizes (the seed itself is never echoed). */
export function assertIdentity(identity: MlsIdentity): void {
  if (identity.publicKey.length !== IDENTITY_KEY_LENGTH || identity.seed.length !== 32) {
    throw new MlsError('MLS_USAGE', 'identity must be a 32-byte Ed25519 seed and public key')
  }
}

/** The validity window of a package made at `now`: whole UTC days (see {@link KEY_PACKAGE_LIFETIME_SECONDS}). */
function lifetimeFrom(now: Date): Lifetime {
  const seconds = BigInt(Math.floor(now.getTime() / 1000))
  const notBefore = seconds - (seconds % DAY_SECONDS) - DAY_SECONDS
  return { notBefore, notAfter: notBefore + KEY_PACKAGE_LIFETIME_SECONDS }
}

function encodePrivatePackage(keys: PrivateKeyPackage): Uint8Array {
  if (keys.initPrivateKey.length !== HPKE_PRIVATE_KEY_LENGTH || keys.hpkePrivateKey.length !== HPKE_PRIVATE_KEY_LENGTH) {
    throw new MlsError('MLS_USAGE', 'unexpected HPKE private key length')
  }
  const out = new Uint8Array(PRIVATE_PACKAGE_LENGTH)
  out[0] = PRIVATE_PACKAGE_VERSION
  out.set(keys.initPrivateKey, 1)
  out.set(keys.hpkePrivateKey, 1 + HPKE_PRIVATE_KEY_LENGTH)
  return out
}

/** Rebuilds the ts-mls private key package from our encoding plus the identity seed. */
export function decodePrivatePackage(bytes: Uint8Array, identity: MlsIdentity): PrivateKeyPackage {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PRIVATE_PACKAGE_LENGTH || bytes[0] !== PRIVATE_PACKAGE_VERSION) {
    throw new MlsError('MLS_MALFORMED', 'malformed private key package')
  }
  return {
    initPrivateKey: bytes.slice(1, 1 + HPKE_PRIVATE_KEY_LENGTH),
    hpkePrivateKey: bytes.slice(1 + HPKE_PRIVATE_KEY_LENGTH),
    signaturePrivateKey: identity.seed.slice(),
  }
}

/** True when the key package's leaf is bound to `identity` (credential and signature key). */
export function keyPackageBelongsTo(keyPackage: KeyPackage, identity: MlsIdentity): boolean {
  const bound = boundIdentity(keyPackage.leafNode.credential, keyPackage.leafNode.signaturePublicKey)
  return bound !== undefined && bytesEqual(bound, identity.publicKey)
}
