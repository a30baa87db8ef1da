import { decodeSubset, encodeCanonical, type CborValue } from '../../log/cbor.js'
import { LOG_ID_MAX_LENGTH, LOG_ID_MIN_LENGTH, PUBLIC_KEY_LENGTH, type LogId } from '../../log/types.js'
import { SyncError } from './errors.js'
import { LengthPrefixedReader, withLengthPrefix } from '../length-prefix.js'

/** libp2p protocol id of log replication. */
export const SYNC_PROTOCOL = '/burrow/sync/1'

/** One author's height in a log: the highest sequence number we hold. */
export interface AuthorHeight {
  author: Uint8Array
  seq: number
}

/** An operation on the wire: its signed header bytes and its payload (null when deleted or empty). */
export interface WireOperation {
  header: Uint8Array
  payload: Uint8Array | null
}

/** The bytes an operation takes in a frame (header and payload), as budgets and the send window count them. */
export function wireBytes(op: WireOperation): number {
  return op.header.length + (op.payload?.length ?? 0)
}

/**
 * Frames of `/burrow/sync/1`. Each is a CBOR array whose first item is the
 * frame type, sent with a 4-byte big-endian length prefix.
 *
 * - `have`: what we hold of a log (heights per author). Sent only for logs
 *   we believe the peer shares, so a log id never reaches an outsider. With
 *   `ask`, the sender does not know the receiver's heights yet (the log has
 *   just become shared on its side): a receiver that shares the log answers
 *   with its own `have`. A receiver that does not share it keeps nothing of it.
 * - `ops`: operations the peer lacks, in sequence order per author.
 * - `synced`: the answer to a `have` is complete (first round done).
 * - `ephemeral`: a short message for the peer's app, never stored.
 * - `refused`: of the peer's operations just received, per author, the
 *   first seq its policy did not take (a keeper over its quota, an author
 *   not known yet), so the peer takes them for undelivered and waits for our
 *   next `have` with `ask` before it offers them again. Same shape as a
 *   `have` without `ask`: `[5, log id, [[author, seq], …]]`.
 *
 * A `have` of log 11…11 naming one author aa…aa at height 5, as sent (77 bytes):
 *
 * ```text
 * 00000049                 length of the body: 73 bytes
 * 83                       array of 3 items (4 with `ask`, whose 4th item is f5, true)
 *    01                    frame type 1: have
 *    5820 1111…11          byte string of 32: the log id
 *    81                    array of 1 height
 *       82                 array of 2
 *          5820 aaaa…aa    byte string of 32: the author's public key
 *          05              its height: sequence number 5
 * ```
 */
export type SyncFrame =
  | { type: 'have'; logId: LogId; heights: AuthorHeight[]; ask?: boolean }
  | { type: 'ops'; logId: LogId; ops: WireOperation[] }
  | { type: 'synced'; logId: LogId }
  | { type: 'ephemeral'; logId: LogId; data: Uint8Array }
  | { type: 'refused'; logId: LogId; from: AuthorHeight[] }

/** Size bounds applied to frames from the network. */
export interface FrameLimits {
  /** Largest frame body in bytes. Default 4 MiB. */
  maxFrameBytes: number
  /** Most operations in one `ops` frame. Default 1,000. */
  maxOpsPerFrame: number
  /** Most authors in one `have` frame. Default 10,000. */
  maxAuthorsPerFrame: number
  /** Largest ephemeral message. Default 16 KiB. */
  maxEphemeralBytes: number
}

/** Default frame limits. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxFrameBytes: 4 * 1024 * 1024,
  maxOpsPerFrame: 1_000,
  maxAuthorsPerFrame: 10_000,
  maxEphemeralBytes: 16 * 1024,
})

const TYPE_CODES = { have: 1, ops: 2, synced: 3, ephemeral: 4, refused: 5 } as const

/** Encodes a frame with its length prefix. */
export function encodeFrame(frame: SyncFrame): Uint8Array {
  let body: CborValue[]
  switch (frame.type) {
    case 'have':
      body = [TYPE_CODES.have, frame.logId, frame.heights.map((h) => [h.author, h.seq])]
      if (frame.ask === true) body.push(true)
      break
    case 'ops':
      body = [TYPE_CODES.ops, frame.logId, frame.ops.map((o) => [o.header, o.payload])]
      break
    case 'synced':
      body = [TYPE_CODES.synced, frame.logId]
      break
    case 'ephemeral':
      body = [TYPE_CODES.ephemeral, frame.logId, frame.data]
      break
    case 'refused':
      body = [TYPE_CODES.refused, frame.logId, frame.from.map((h) => [h.author, h.seq])]
      break
  }
  return withLengthPrefix(encodeCanonical(body))
}

/**
 * Error messages name the field that is wrong and at most its kind and size,
 * never the peer's value: it can be megabytes (a 4 MiB frame made a 4 MiB
 * message, logged on every reconnect) or terminal escapes.
 */
function fail(what: string): never {
  throw new SyncError('SYNC_PROTOCOL', `malformed sync frame: ${what}`)
}

/** The kind and size of a peer's value, for an error message: never the value. */
function kindOf(value: CborValue | undefined): string {
  if (value instanceof Uint8Array) return `a byte string of ${value.length} bytes`
  if (typeof value === 'string') return `a text string of ${value.length} characters`
  if (Array.isArray(value)) return `an array of ${value.length} items`
  if (value instanceof Map) return `a map of ${value.size} entries`
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'an integer' : 'a number'
  if (typeof value === 'boolean') return 'a boolean'
  return 'null'
}

function bytes(value: CborValue | undefined, what: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) fail(what)
  return value
}

function list(value: CborValue | undefined, what: string, max: number): readonly CborValue[] {
  if (!Array.isArray(value)) fail(what)
  if (value.length > max) throw new SyncError('SYNC_PROTOCOL', `sync frame ${what} has ${value.length} entries (limit ${max})`)
  return value
}

function seq(value: CborValue | undefined): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail('sequence number')
  return value
}

function authorHeights(value: CborValue | undefined, limits: FrameLimits): AuthorHeight[] {
  return list(value, 'heights', limits.maxAuthorsPerFrame).map((entry) => {
    const pair = list(entry, 'height entry', 2)
    if (pair.length !== 2) fail('height entry')
    return { author: bytes(pair[0], 'author', PUBLIC_KEY_LENGTH, PUBLIC_KEY_LENGTH), seq: seq(pair[1]) }
  })
}

/** Checks the shape of a decoded frame body and builds the typed frame. */
function toFrame(value: CborValue, limits: FrameLimits): SyncFrame {
  if (!Array.isArray(value) || value.length < 2) fail('not a frame array')
  const [type, rawLogId, third, fourth] = value as readonly CborValue[]
  const logId = bytes(rawLogId, 'log id', LOG_ID_MIN_LENGTH, LOG_ID_MAX_LENGTH)
  const arity = (code: number, n: number): void => {
    if (value.length !== n) fail(`frame type ${code} takes ${n} items`)
  }
  switch (type) {
    case TYPE_CODES.have: {
      const ask = value.length === 4
      // `ask` has one encoding: present and true, or absent.
      if (ask ? fourth !== true : value.length !== 3) fail('frame type 1 takes 3 items, or 4 ending in true')
      const heights = authorHeights(third, limits)
      return ask ? { type: 'have', logId, heights, ask } : { type: 'have', logId, heights }
    }
    case TYPE_CODES.refused:
      arity(TYPE_CODES.refused, 3)
      return { type: 'refused', logId, from: authorHeights(third, limits) }
    case TYPE_CODES.ops: {
      arity(TYPE_CODES.ops, 3)
      const ops = list(third, 'operations', limits.maxOpsPerFrame).map((entry) => {
        const pair = list(entry, 'operation entry', 2)
        if (pair.length !== 2) fail('operation entry')
        const payload = pair[1] === null ? null : bytes(pair[1], 'payload', 0, limits.maxFrameBytes)
        return { header: bytes(pair[0], 'header', 1, limits.maxFrameBytes), payload }
      })
      return { type: 'ops', logId, ops }
    }
    case TYPE_CODES.synced:
      arity(TYPE_CODES.synced, 2)
      return { type: 'synced', logId }
    case TYPE_CODES.ephemeral:
      arity(TYPE_CODES.ephemeral, 3)
      return { type: 'ephemeral', logId, data: bytes(third, 'ephemeral data', 0, limits.maxEphemeralBytes) }
    default:
      return fail(`unknown frame type (${kindOf(type)})`)
  }
}

/**
 * Decodes one frame body (without its length prefix), checking its shape
 * against `limits`. Throws a {@link SyncError} `SYNC_PROTOCOL`.
 */
export function decodeFrame(body: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): SyncFrame {
  let value: CborValue
  try {
    // The frame itself need not be canonical: every header inside is checked on its own.
    value = decodeSubset(body)
  } catch (cause) {
    throw new SyncError('SYNC_PROTOCOL', 'malformed sync frame: not CBOR of the log subset', { cause })
  }
  return toFrame(value, limits)
}

/**
 * Splits a byte stream into frames. Refuses a frame whose announced length
 * exceeds the limit before buffering it, so a peer cannot make us allocate
 * more than `maxFrameBytes`.
 */
export class FrameDecoder {
  readonly #limits: FrameLimits
  readonly #reader: LengthPrefixedReader

  constructor(limits: FrameLimits = DEFAULT_FRAME_LIMITS) {
    this.#limits = limits
    this.#reader = new LengthPrefixedReader((length) => {
      if (length === 0 || length > limits.maxFrameBytes) {
        throw new SyncError('SYNC_PROTOCOL', `sync frame of ${length} bytes (limit ${limits.maxFrameBytes})`)
      }
    })
  }

  /**
   * Adds received bytes; returns the bodies of every frame they complete,
   * still encoded (for {@link decodeFrame}): a body weighs its bytes, its
   * decoded form several times more. Throws a {@link SyncError} `SYNC_PROTOCOL`.
   */
  pushBodies(chunk: Uint8Array): Uint8Array[] {
    return this.#reader.push(chunk)
  }

  /** Adds received bytes; returns every frame they complete. Throws a {@link SyncError} `SYNC_PROTOCOL`. */
  push(chunk: Uint8Array): SyncFrame[] {
    return this.pushBodies(chunk).map((body) => decodeFrame(body, this.#limits))
  }
}
