import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import { LogError } from '../log/errors.js'
import type { ContactCard } from '../keys/index.js'
import { GroupError } from './errors.js'
import { decodePeerList, encodePeerEntry, MAX_KEEPERS } from './keeper-wire.js'

/**
 * What a typed application message (group payload kind 6) carries, once
 * MLS has decrypted it: a canonical CBOR array whose first element is the
 * type.
 *
 * - `[1, file id, name, media type, size, sha256, chunk size, chunk count, key]`:
 *   a file announcement. Its chunks are in the sender's file log
 *   (file-crypto.ts); `key` opens them, so only members who decrypted this
 *   announcement can read the file.
 * - `[2, period ms or null]`: the owner's retention period for the group
 *   (null: kept until deleted).
 * - `[3, [peer entry, …]]`: the owner's whole current list of the group's
 *   keepers (keeper-wire.ts), at most 8; the latest one counts.
 * - `[4, seq, data]`: a message sent again: its author's plain message
 *   (payload kind 1) at `seq` of its log, which it wrote at an epoch that
 *   members more than two epochs ahead no longer hold keys for (ingest.ts).
 *   `seq` is below the resend's own seq; a member that read the original
 *   drops it.
 *
 * A retention setting of 30 days (13 bytes):
 * ```
 * 82                 array(2)
 *   02               type 2: retention
 *   1b 0000 0002 6859 1800   2,592,000,000 ms
 * ```
 * The message "hi" of seq 7, sent again (6 bytes):
 * ```
 * 83                 array(3)
 *   04               type 4: resend
 *   07               seq 7
 *   42 6869          bytes(2): "hi"
 * ```
 */
export type AppBody =
  | { readonly type: 'file'; readonly file: FileAnnouncement }
  | { readonly type: 'retention'; readonly periodMs: number | null }
  | { readonly type: 'keepers'; readonly keepers: readonly ContactCard[] }
  | { readonly type: 'resend'; readonly seq: number; readonly plaintext: Uint8Array }

/** A file as its sender announces it. */
export interface FileAnnouncement {
  /** 16 random bytes, unique within the group. */
  readonly fileId: Uint8Array
  /** The sender's name for it (shown, and sanitised before it names anything on disk). */
  readonly name: string
  /** `type/subtype`, lower case. */
  readonly mediaType: string
  /** Bytes of content. */
  readonly size: number
  /** SHA-256 of the content. */
  readonly sha256: Uint8Array
  /** Bytes of content per chunk (the last may be shorter). */
  readonly chunkSize: number
  /** `ceil(size / chunkSize)`: the chunks are seq 0 to count − 1 of the file log. */
  readonly chunkCount: number
  /** XChaCha20-Poly1305 key of every chunk. Secret. */
  readonly key: Uint8Array
}

export const FILE_ID_LENGTH = 16
export const FILE_KEY_LENGTH = 32
/** Largest file a member accepts to hold for the group (64 GiB). */
export const MAX_FILE_BYTES = 64 * 1024 ** 3
/** Bounds on a sender's chunk size: one sealed chunk must fit an operation's payload (1 MiB). */
export const MIN_CHUNK_BYTES = 1024
export const MAX_CHUNK_BYTES = 512 * 1024
/** Longest file name, in UTF-8 bytes (what common file systems allow). */
export const MAX_FILE_NAME_BYTES = 255
/** Longest retention period: 100 years. Shortest: one minute. */
export const MAX_RETENTION_MS = 100 * 365 * 86_400_000
export const MIN_RETENTION_MS = 60_000

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/
const TYPE_CODES = { file: 1, retention: 2, keepers: 3, resend: 4 } as const

const bad = (what: string): GroupError => new GroupError('GROUP_MALFORMED_PAYLOAD', what)

/** Whether `mediaType` is a well-formed lower-case `type/subtype`. */
export function isMediaType(mediaType: string): boolean {
  return MEDIA_TYPE.test(mediaType)
}

/** Checks what a sender may announce; throws `GROUP_INVALID_ARGUMENT` (our own send) or the code given. */
export function checkAnnouncement(file: FileAnnouncement, code: 'GROUP_INVALID_ARGUMENT' | 'GROUP_MALFORMED_PAYLOAD' = 'GROUP_MALFORMED_PAYLOAD'): void {
  const fail = (what: string): never => {
    throw new GroupError(code, what)
  }
  if (file.fileId.length !== FILE_ID_LENGTH) fail('a file id is 16 bytes')
  const nameBytes = Buffer.byteLength(file.name, 'utf8')
  if (nameBytes === 0 || nameBytes > MAX_FILE_NAME_BYTES) fail(`a file name is 1 to ${MAX_FILE_NAME_BYTES} bytes`)
  if (!isMediaType(file.mediaType)) fail('the media type is not a lower-case type/subtype')
  if (!Number.isSafeInteger(file.size) || file.size < 0 || file.size > MAX_FILE_BYTES) fail(`a file is at most ${MAX_FILE_BYTES} bytes`)
  if (file.sha256.length !== 32) fail('the content hash is 32 bytes')
  if (!Number.isSafeInteger(file.chunkSize) || file.chunkSize < MIN_CHUNK_BYTES || file.chunkSize > MAX_CHUNK_BYTES) fail('chunk size out of range')
  if (file.chunkCount !== Math.ceil(file.size / file.chunkSize)) fail('the chunk count does not match the size')
  if (file.key.length !== FILE_KEY_LENGTH) fail('a file key is 32 bytes')
}

/** Checks a retention period: null, or whole milliseconds from one minute to 100 years. */
export function checkRetention(periodMs: number | null, code: 'GROUP_INVALID_ARGUMENT' | 'GROUP_MALFORMED_PAYLOAD'): void {
  if (periodMs === null) return
  if (!Number.isSafeInteger(periodMs) || periodMs < MIN_RETENTION_MS || periodMs > MAX_RETENTION_MS) {
    throw new GroupError(code, `a retention period is from ${MIN_RETENTION_MS / 1000} s to 100 years`)
  }
}

/** Encodes a typed body for MLS encryption. */
export function encodeAppBody(body: AppBody): Uint8Array {
  if (body.type === 'retention') return encodeCanonical([TYPE_CODES.retention, body.periodMs])
  if (body.type === 'keepers') return encodeCanonical([TYPE_CODES.keepers, body.keepers.map(encodePeerEntry)])
  if (body.type === 'resend') return encodeCanonical([TYPE_CODES.resend, body.seq, body.plaintext])
  const f = body.file
  return encodeCanonical([TYPE_CODES.file, f.fileId, f.name, f.mediaType, f.size, f.sha256, f.chunkSize, f.chunkCount, f.key])
}

/** Decodes a decrypted typed body from a member; anything malformed is `GROUP_MALFORMED_PAYLOAD`. */
export function decodeAppBody(bytes: Uint8Array): AppBody {
  let value: CborValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof LogError) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'typed body is not canonical CBOR', { cause: err })
    throw err
  }
  if (!Array.isArray(value) || value.length === 0) throw bad('typed body must be a non-empty array')
  const items = value as readonly CborValue[]
  const bytesAt = (i: number): Uint8Array => {
    const v = items[i]
    if (!(v instanceof Uint8Array)) throw bad(`item ${i} of a typed body must be a byte string`)
    return v
  }
  const textAt = (i: number): string => {
    const v = items[i]
    if (typeof v !== 'string') throw bad(`item ${i} of a typed body must be a text string`)
    return v
  }
  const uintAt = (i: number): number => {
    const v = items[i]
    if (typeof v !== 'number' || v < 0) throw bad(`item ${i} of a typed body must be an unsigned integer`)
    return v
  }
  switch (items[0]) {
    case TYPE_CODES.file: {
      if (items.length !== 9) throw bad('a file announcement has 9 items')
      const file: FileAnnouncement = {
        fileId: bytesAt(1),
        name: textAt(2),
        mediaType: textAt(3),
        size: uintAt(4),
        sha256: bytesAt(5),
        chunkSize: uintAt(6),
        chunkCount: uintAt(7),
        key: bytesAt(8),
      }
      checkAnnouncement(file)
      return { type: 'file', file }
    }
    case TYPE_CODES.retention: {
      if (items.length !== 2) throw bad('a retention setting has 2 items')
      const periodMs = items[1] === null ? null : uintAt(1)
      checkRetention(periodMs, 'GROUP_MALFORMED_PAYLOAD')
      return { type: 'retention', periodMs }
    }
    case TYPE_CODES.keepers: {
      if (items.length !== 2) throw bad('a keepers list has 2 items')
      try {
        return { type: 'keepers', keepers: decodePeerList(items[1]!, MAX_KEEPERS, 'a keepers list') }
      } catch (err) {
        if (err instanceof GroupError && err.code === 'KEEPER_MALFORMED') throw new GroupError('GROUP_MALFORMED_PAYLOAD', err.message, { cause: err })
        throw err
      }
    }
    case TYPE_CODES.resend:
      if (items.length !== 3) throw bad('a resent message has 3 items')
      return { type: 'resend', seq: uintAt(1), plaintext: bytesAt(2) }
    default:
      throw bad('unknown typed body')
  }
}
