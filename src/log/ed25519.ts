import { inspect } from 'node:util'
import sodium from 'sodium-native'
import { toHex } from './bytes.js'
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, type Signer } from './types.js'
import { LogError } from './errors.js'

/**
 * Verifies an Ed25519 signature (RFC 8032) with libsodium. Returns false,
 * never throws, for wrong lengths or invalid keys.
 *
 * libsodium's rules are the strict ones: S must be canonical, and the key and
 * R must be canonical points not of small order. node:crypto on Node 20
 * (OpenSSL 3.0) accepts a small-order key: with the identity point as key,
 * R = the identity and S = 0 passes for every message. libsodium is also the
 * faster of the two here (83 against 171 µs per check on Node 20), and
 * verification is the largest cost of receiving a log.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

/** Signers made by {@link seedSigner}: their public key is derived from the key they sign with. */
const seedSigners = new WeakSet<Signer>()

/**
 * A {@link Signer} over a 32-byte Ed25519 seed, signing with libsodium (13
 * against 22 µs per signature for node:crypto here; RFC 8032 signatures are
 * deterministic, so both give the same bytes). The secret key lives in
 * memory of libsodium's own (`sodium_malloc`: guard pages, locked where
 * RLIMIT_MEMLOCK allows, zeroed when freed), outside the JavaScript heap;
 * the signer prints as a placeholder.
 */
export function seedSigner(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new LogError('LOG_MALFORMED', 'an Ed25519 seed is 32 bytes')
  const secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES)
  const publicKey = new Uint8Array(PUBLIC_KEY_LENGTH)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  const placeholder = `Signer(${toHex(publicKey).slice(0, 16)}…)`
  const signer = {
    publicKey,
    sign: (message: Uint8Array) => {
      const signature = new Uint8Array(SIGNATURE_LENGTH)
      sodium.crypto_sign_detached(signature, message, secretKey)
      return signature
    },
    toJSON: () => placeholder,
    [inspect.custom]: () => placeholder,
  } as Signer
  seedSigners.add(signer)
  return signer
}

/**
 * True for a signer made by {@link seedSigner}: what it signs verifies under
 * its public key by construction, so an operation it just signed needs no
 * check of that signature (operation.ts).
 */
export function isSeedSigner(signer: Signer): boolean {
  return seedSigners.has(signer)
}
