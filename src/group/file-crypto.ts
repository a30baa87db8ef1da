import { randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import { hashOf } from '../log/hash.js'
import { FILE_ID_LENGTH, FILE_KEY_LENGTH } from './app-body.js'
import { GroupError } from './errors.js'

/**
 * A file's chunks: where they live and how they are sealed.
 *
 * The chunks are the operations of a log of their own, written by the
 * sender: seq i holds chunk i. Its log id is
 * `SHA-256("burrow/v1/file-log" ‖ group id ‖ file id)`, so a file log
 * belongs to one group and nobody can make it belong to another.
 *
 * Each chunk is sealed with the file's random key (XChaCha20-Poly1305,
 * libsodium): `nonce (24 random bytes) ‖ ciphertext ‖ tag (16)`, with
 * associated data `"burrow/v1/file-chunk" ‖ file id ‖ index (8 bytes, big
 * endian)`. A chunk therefore opens only as chunk `index` of this file: it
 * cannot be moved within the file or into another one, and the
 * announcement's chunk count and content hash catch a truncated file. A
 * random nonce per chunk (not a counter) keeps a chunk sealed twice, after a
 * crash and a resend, from ever reusing one.
 */

/**
 * libsodium's XChaCha20-Poly1305 (IETF) from sodium-native, which ships no
 * types (src/log/sodium-native.d.ts declares only the call the log layer makes).
 */
interface SodiumAead {
  /** Writes `message` sealed (ciphertext and 16-byte tag) into `out`; returns the bytes written. */
  crypto_aead_xchacha20poly1305_ietf_encrypt(out: Uint8Array, message: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array): number
  /** Writes the opened message into `out`; throws when the tag does not verify. */
  crypto_aead_xchacha20poly1305_ietf_decrypt(out: Uint8Array, nsec: null, sealed: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): number
}
const aead = sodium as unknown as SodiumAead

/** Bytes a sealed chunk adds to its content: the nonce and the tag. */
export const CHUNK_OVERHEAD = 24 + 16

const LOG_LABEL = new TextEncoder().encode('burrow/v1/file-log')
const CHUNK_LABEL = new TextEncoder().encode('burrow/v1/file-chunk')

/** The log id of a file's chunks. */
export function fileLogId(groupId: Uint8Array, fileId: Uint8Array): Uint8Array {
  return hashOf(Buffer.concat([LOG_LABEL, groupId, fileId]))
}

/** A fresh file id and key. */
export function newFileSecrets(): { fileId: Uint8Array; key: Uint8Array } {
  return { fileId: new Uint8Array(randomBytes(FILE_ID_LENGTH)), key: new Uint8Array(randomBytes(FILE_KEY_LENGTH)) }
}

function associatedData(fileId: Uint8Array, index: number): Uint8Array {
  const ad = Buffer.alloc(CHUNK_LABEL.length + fileId.length + 8)
  ad.set(CHUNK_LABEL, 0)
  ad.set(fileId, CHUNK_LABEL.length)
  ad.writeBigUInt64BE(BigInt(index), CHUNK_LABEL.length + fileId.length)
  return ad
}

/** Seals chunk `index` of a file. */
export function sealChunk(key: Uint8Array, fileId: Uint8Array, index: number, content: Uint8Array): Uint8Array {
  const sealed = new Uint8Array(CHUNK_OVERHEAD + content.length)
  const nonce = sealed.subarray(0, 24)
  nonce.set(randomBytes(24))
  aead.crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.subarray(24), content, associatedData(fileId, index), null, nonce, key)
  return sealed
}

/** Opens chunk `index` of a file; `GROUP_FILE_CORRUPT` if it is not that chunk sealed with that key. */
export function openChunk(key: Uint8Array, fileId: Uint8Array, index: number, sealed: Uint8Array): Uint8Array {
  if (sealed.length < CHUNK_OVERHEAD) throw new GroupError('GROUP_FILE_CORRUPT', `chunk ${index} is too short`)
  const content = new Uint8Array(sealed.length - CHUNK_OVERHEAD)
  try {
    aead.crypto_aead_xchacha20poly1305_ietf_decrypt(content, null, sealed.subarray(24), associatedData(fileId, index), sealed.subarray(0, 24), key)
  } catch (cause) {
    throw new GroupError('GROUP_FILE_CORRUPT', `chunk ${index} does not open with the file's key`, { cause })
  }
  return content
}
