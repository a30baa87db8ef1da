import { Decoder, Encoder } from 'cbor-x'
import { LogError } from './errors.js'
import type { ExtensionValue } from './types.js'
import { bytesEqual } from './bytes.js'

/**
 * The CBOR subset of the log format: unsigned and negative integers in the
 * safe-integer range, byte strings, text strings, booleans, null, arrays and
 * maps with text keys. No floats, tags, `undefined` or indefinite lengths, so
 * every value has exactly one encoding (RFC 8949 §4.2.1).
 */
export type CborValue = ExtensionValue

/** Deepest nesting accepted (header array → extensions map → 6 more levels). */
export const MAX_CBOR_DEPTH = 8

// Integers at or above 2³² must reach cbor-x as bigints: it writes larger
// numbers as float64, and small bigints as 8-byte integers (not shortest).
const TWO_POW_32 = 2 ** 32

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
})

// cbor-x returns 8-byte integers as bigints by default, so values above 2⁵³
// are seen (and refused) rather than silently rounded.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false })

const textEncoder = new TextEncoder()

/** Bytewise order of the canonical encodings of two text keys: shorter UTF-8 first, then bytewise. */
function compareTextKeys(a: string, b: string): number {
  if (a === b) return 0
  // ASCII (the usual case): UTF-8 bytes are the UTF-16 code units.
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) {
    if (a.length !== b.length) return a.length - b.length
    return a < b ? -1 : 1
  }
  const ab = textEncoder.encode(a)
  const bb = textEncoder.encode(b)
  if (ab.length !== bb.length) return ab.length - bb.length
  for (let i = 0; i < ab.length; i++) {
    const d = (ab[i] as number) - (bb[i] as number)
    if (d !== 0) return d
  }
  return 0
}

/** Turns a value of the subset into what cbor-x must see to emit the canonical bytes. */
function toEncodable(value: CborValue, depth: number): unknown {
  if (depth > MAX_CBOR_DEPTH) throw new LogError('LOG_MALFORMED', `CBOR nesting deeper than ${MAX_CBOR_DEPTH}`)
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new LogError('LOG_MALFORMED', 'only safe integers can be encoded')
    return value >= TWO_POW_32 || value < -TWO_POW_32 ? BigInt(value) : value
  }
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map((v: CborValue) => toEncodable(v, depth + 1))
  if (value instanceof Map) {
    const keys = [...(value as ReadonlyMap<string, CborValue>).keys()]
    for (const k of keys) if (typeof k !== 'string') throw new LogError('LOG_MALFORMED', 'map keys must be text strings')
    if (keys.length > 1) keys.sort(compareTextKeys)
    return new Map(keys.map((k) => [k, toEncodable(value.get(k) as CborValue, depth + 1)]))
  }
  throw new LogError('LOG_MALFORMED', `a ${typeof value} cannot be encoded`)
}

/** Encodes a value of the subset canonically. The result is a fresh copy the caller may keep. */
export function encodeCanonical(value: CborValue): Uint8Array {
  // cbor-x returns a view into its reusable buffer; copy to own the bytes.
  return new Uint8Array(encoder.encode(toEncodable(value, 1)))
}

/**
 * Checks and converts what cbor-x decoded into the subset. `budget.left`
 * counts items: each item takes at least one input byte, so more items than
 * bytes means shared references (tags 28/29) are inflating or looping.
 */
function fromDecoded(value: unknown, depth: number, budget: { left: number }): CborValue {
  if (depth > MAX_CBOR_DEPTH) throw new LogError('LOG_MALFORMED', `CBOR nesting deeper than ${MAX_CBOR_DEPTH}`)
  if (--budget.left < 0) throw new LogError('LOG_MALFORMED', 'CBOR item count exceeds input length')
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new LogError('LOG_MALFORMED', 'non-integer or out-of-range number')
    return value
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new LogError('LOG_MALFORMED', 'integer beyond 2^53-1')
    }
    return Number(value)
  }
  // cbor-x hands out Buffer views into its input, which is decodeCanonical's
  // private copy: re-viewing it as a plain Uint8Array is safe and copies nothing.
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (Array.isArray(value)) return value.map((v: unknown) => fromDecoded(v, depth + 1, budget))
  if (value instanceof Map) {
    const out = new Map<string, CborValue>()
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (typeof k !== 'string') throw new LogError('LOG_MALFORMED', 'map keys must be text strings')
      out.set(k, fromDecoded(v, depth + 1, budget))
    }
    return out
  }
  throw new LogError('LOG_MALFORMED', 'unsupported CBOR item (float, tag, undefined or simple value)')
}

/**
 * Decodes exactly one CBOR item of the subset filling all of `bytes`, without
 * requiring the canonical form: for containers whose contents are checked
 * on their own (sync frames carry signed headers that are). Throws
 * `LOG_MALFORMED`.
 */
export function decodeSubset(bytes: Uint8Array): CborValue {
  let raw: unknown
  try {
    // A private, unpooled copy: cbor-x caches a `dataView` property on the
    // buffer it reads, and decoded byte strings become views into it.
    raw = decoder.decode(new Uint8Array(bytes))
  } catch (cause) {
    throw new LogError('LOG_MALFORMED', 'not well-formed CBOR', { cause })
  }
  return fromDecoded(raw, 1, { left: bytes.length })
}

/**
 * Decodes exactly one CBOR item filling all of `bytes` (trailing bytes are
 * malformed). Throws `LOG_MALFORMED` for
 * anything outside the subset or not well-formed, and
 * `LOG_NON_CANONICAL` when the item is valid but `bytes` are
 * not its canonical encoding (non-shortest heads, indefinite lengths,
 * unsorted or duplicate keys, integral floats, invalid UTF-8 …).
 */
export function decodeCanonical(bytes: Uint8Array): CborValue {
  const value = decodeSubset(bytes)
  // Compare against cbor-x's buffer directly; it is only read before the next encode.
  if (!bytesEqual(encoder.encode(toEncodable(value, 1)), bytes)) throw new LogError('LOG_NON_CANONICAL')
  return value
}
