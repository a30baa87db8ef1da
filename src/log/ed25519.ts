import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { inspect } from 'node:util'
import { MalformedOperationError } from './errors.js'
import { toHex } from './bytes.js'
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, type Signer } from './types.js'

// DER prefixes that wrap a raw 32-byte key as SPKI (public) or PKCS#8 (private)
// for node:crypto, which cannot import raw Ed25519 keys directly.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

// Building a KeyObject costs about as much as a verification; a node sees few
// distinct authors, so caching them nearly halves ingest cost. Bounded so a
// flood of fake authors cannot grow memory without limit.
const KEY_CACHE_LIMIT = 4096
const keyCache = new Map<string, KeyObject | null>()

/** The node:crypto public key for a raw Ed25519 key, or null if it is not a valid point. */
function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey)
  let key = keyCache.get(id)
  if (key !== undefined) return key
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
  } catch {
    key = null
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string)
  keyCache.set(id, key)
  return key
}

/** The key to verify `signature` with, or null when the lengths or the key rule a valid signature out. */
function verificationKey(publicKey: Uint8Array, signature: Uint8Array): KeyObject | null {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return null
  return publicKeyObject(publicKey)
}

/**
 * Verifies an Ed25519 signature (RFC 8032) with node's native implementation.
 * Returns false, never throws, for wrong lengths or invalid keys.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = verificationKey(publicKey, signature)
  if (key === null) return false
  try {
    return nodeVerify(null, message, key, signature)
  } catch {
    return false
  }
}

/**
 * {@link verifySignature} on libuv's thread pool: the check runs on another
 * core while this thread goes on with I/O. Resolves false, never rejects,
 * where {@link verifySignature} returns false.
 */
export function verifySignatureOffThread(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = verificationKey(publicKey, signature)
  if (key === null) return Promise.resolve(false)
  return new Promise((resolve) => {
    try {
      nodeVerify(null, message, key, signature, (err, valid) => resolve(err === null && valid))
    } catch {
      resolve(false)
    }
  })
}

/**
 * A {@link Signer} over a 32-byte Ed25519 seed, signing natively. The seed
 * lives only inside a node KeyObject; the signer prints as a placeholder.
 */
export function seedSigner(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new MalformedOperationError('an Ed25519 seed is 32 bytes')
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
  const placeholder = `Signer(${toHex(publicKey).slice(0, 16)}…)`
  return {
    publicKey,
    sign: (message) => new Uint8Array(nodeSign(null, message, privateKey)),
    toJSON: () => placeholder,
    [inspect.custom]: () => placeholder,
  } as Signer
}
