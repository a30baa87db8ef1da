import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { Hash, Kdf } from 'ts-mls'
import { MlsError } from './errors.js'

/**
 * SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-128-GCM for ciphersuite 1 from
 * node:crypto, synchronously (wrapped in resolved promises, as ts-mls's
 * interfaces ask). ts-mls's default provider runs each of them as an
 * asynchronous WebCrypto call that first imports its key: a tree hash at
 * 1,000 members is about 2,000 such calls, and a profile of an add-commit
 * there showed WebCrypto's job dispatch and key imports as the largest items.
 * Checked against RFC 4231, RFC 5869 and the GCM specification's vectors in
 * test/unit/mls-native-primitives.test.ts, and against ts-mls's own
 * implementations on random inputs.
 */

const SHA256_BYTES = 32
const AES128_KEY_BYTES = 16
const GCM_NONCE_BYTES = 12
const GCM_TAG_BYTES = 16

function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest())
}

/** SHA-256 and HMAC-SHA256. */
export const sha256: Hash = {
  async digest(data) {
    return new Uint8Array(createHash('sha256').update(data).digest())
  },
  async mac(key, data) {
    return hmac(key, data)
  },
  async verifyMac(key, mac, data) {
    const expected = hmac(key, data)
    return mac.length === expected.length && timingSafeEqual(mac, expected)
  },
}

/** HKDF-SHA256 (RFC 5869), extract and expand apart as MLS uses them. */
export const hkdfSha256: Kdf = {
  size: SHA256_BYTES,
  // An empty salt is HashLen zero bytes (RFC 5869 §2.2); HMAC pads any key with zeros to its block, so both give the same PRK.
  async extract(salt, ikm) {
    return hmac(salt, ikm)
  },
  async expand(prk, info, length) {
    if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_BYTES) {
      throw new MlsError('MLS_USAGE', `HKDF-SHA256 cannot expand to ${length} bytes`)
    }
    const out = new Uint8Array(length)
    let block = new Uint8Array(0)
    for (let i = 1, done = 0; done < length; i++) {
      block = new Uint8Array(createHmac('sha256', prk).update(block).update(info).update(Uint8Array.of(i)).digest())
      out.set(block.subarray(0, Math.min(SHA256_BYTES, length - done)), done)
      done += SHA256_BYTES
    }
    return out
  },
}

function checkAesGcm(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AES128_KEY_BYTES || nonce.length !== GCM_NONCE_BYTES) {
    throw new MlsError('MLS_USAGE', `AES-128-GCM takes a ${AES128_KEY_BYTES}-byte key and a ${GCM_NONCE_BYTES}-byte nonce`)
  }
}

/** AES-128-GCM sealing: ciphertext then the 16-byte tag, as WebCrypto returns it. */
export async function aes128GcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined, plaintext: Uint8Array): Promise<Uint8Array> {
  checkAesGcm(key, nonce)
  const cipher = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  if (aad !== undefined) cipher.setAAD(aad)
  const body = cipher.update(plaintext)
  const final = cipher.final()
  const out = new Uint8Array(body.length + final.length + GCM_TAG_BYTES)
  out.set(body, 0)
  out.set(final, body.length)
  out.set(cipher.getAuthTag(), body.length + final.length)
  return out
}

/** What WebCrypto throws for a tag that does not verify: translate.ts maps it to `MLS_DECRYPT_FAILED`, whichever implementation ran. */
function tagMismatch(): DOMException {
  return new DOMException('AES-128-GCM: the tag does not verify', 'OperationError')
}

/** AES-128-GCM opening; a tag that does not verify (or a ciphertext shorter than one) throws as WebCrypto does. */
export async function aes128GcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined, sealed: Uint8Array): Promise<Uint8Array> {
  checkAesGcm(key, nonce)
  if (sealed.length < GCM_TAG_BYTES) throw tagMismatch()
  const decipher = createDecipheriv('aes-128-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  if (aad !== undefined) decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES))
  const body = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES))
  let final: Buffer
  try {
    final = decipher.final()
  } catch {
    throw tagMismatch()
  }
  const out = new Uint8Array(body.length + final.length)
  out.set(body, 0)
  out.set(final, body.length)
  return out
}
