import { Encoder } from 'cbor-x'
import { LogError } from './errors.js'
import type { ExtensionValue } from './types.js'

/**
 * The CBOR subset of the log format: unsigned and negative integers in the
 * safe-integer range, byte strings, text strings, booleans, null, arrays and
 * maps with text keys. No floats, tags, `undefined` or indefinite lengths, so
 * every value has exactly one encoding (RFC 8949 §4.2.1).
 */
export type CborValue = ExtensionValue

/**
 * Deepest item accepted. The outermost item is at depth 1; the elements of an
 * array and the keys and values of a map are one deeper than it. Every item
 * counts, scalars too: in a header (depth 1) the extensions map is at 2, an
 * extension value at 3, and an array or map at depth 8 must be empty.
 */
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

const MAX_SAFE = Number.MAX_SAFE_INTEGER

// ignoreBOM: a leading U+FEFF is a character of the string, not a marker to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function malformed(message: string): never {
  throw new LogError('LOG_MALFORMED', message)
}

/** A text string's bytes as a string; `LOG_MALFORMED` unless they are valid UTF-8 (RFC 3629). */
function decodeText(bytes: Uint8Array): string {
  // Keys and short values are usually ASCII: building the string directly costs less than a call into the decoder.
  if (bytes.length <= 32) {
    let text = ''
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number
      if (c >= 0x80) return decodeUtf8(bytes)
      text += String.fromCharCode(c)
    }
    return text
  }
  return decodeUtf8(bytes)
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    return malformed('text string is not valid UTF-8')
  }
}

/** Bytewise comparison of `bytes[a0, a1)` and `bytes[b0, b1)`. */
function compareRanges(bytes: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0)
  for (let i = 0; i < n; i++) {
    const d = (bytes[a0 + i] as number) - (bytes[b0 + i] as number)
    if (d !== 0) return d
  }
  return a1 - a0 - (b1 - b0)
}

/**
 * Reads one item of the subset in a single pass (docs/log-format.md,
 * rules D2 and D3). A defect of D2 (not well-formed, outside the subset, too
 * deep) throws `LOG_MALFORMED` where it is met. A defect of D3 (an argument
 * not in its shortest form, map keys out of order or repeated) cannot hide
 * one of D2, so it is only noted and reading goes on: D2 is decided over the
 * whole input before D3.
 *
 * Hand-written because no decoder at hand reports defects this way: cbor-x
 * reads floats as numbers, lets a repeated key overwrite an earlier value and
 * replaces invalid UTF-8, so defects of D2 came out as D3, or not at all.
 */
class SubsetReader {
  /** What the first defect of D3 was, if any. */
  nonCanonical: string | undefined
  #pos = 0
  readonly #bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  get atEnd(): boolean {
    return this.#pos === this.#bytes.length
  }

  /** Reads the item starting here; the outermost item is at depth 1. */
  item(depth: number): CborValue {
    if (depth > MAX_CBOR_DEPTH) malformed(`CBOR nesting deeper than ${MAX_CBOR_DEPTH}`)
    const bytes = this.#bytes
    if (this.#pos >= bytes.length) malformed('input ends inside a CBOR item')
    const initial = bytes[this.#pos++] as number
    const major = initial >> 5
    const info = initial & 0x1f
    if (major === 7) {
      if (initial === 0xf4) return false
      if (initial === 0xf5) return true
      if (initial === 0xf6) return null
      malformed(info >= 25 && info <= 27 ? 'floats are not part of the subset' : 'simple values other than false, true and null are not part of the subset')
    }
    if (major === 6) malformed('tags are not part of the subset')
    if (info === 31) malformed('indefinite lengths are not part of the subset')
    if (info >= 28) malformed('reserved additional information')
    const argument = this.#argument(info)
    switch (major) {
      case 0:
        if (argument > MAX_SAFE) malformed('integer beyond 2^53-1')
        return argument
      case 1:
        if (argument >= MAX_SAFE) malformed('integer beyond -(2^53-1)')
        return -1 - argument
      case 2:
        return this.#take(argument)
      case 3:
        return decodeText(this.#take(argument))
      case 4:
        return this.#array(argument, depth)
      default:
        return this.#map(argument, depth)
    }
  }

  /** The argument of an item whose initial byte has additional information `info` (0..27). */
  #argument(info: number): number {
    if (info < 24) return info
    const bytes = this.#bytes
    const at = this.#pos
    const width = 1 << (info - 24)
    if (at + width > bytes.length) malformed('input ends inside a CBOR head')
    this.#pos = at + width
    let value: number
    let shortest: number
    switch (width) {
      case 1:
        value = bytes[at] as number
        shortest = 24
        break
      case 2:
        value = ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
        shortest = 0x100
        break
      case 4:
        value = readUint32(bytes, at)
        shortest = 0x10000
        break
      default:
        // At or above 2^53 this may round, but stays above every limit it is compared with.
        value = readUint32(bytes, at) * TWO_POW_32 + readUint32(bytes, at + 4)
        shortest = TWO_POW_32
    }
    if (value < shortest) this.nonCanonical ??= 'an argument is not in its shortest form'
    return value
  }

  /** The next `length` bytes, as a view. */
  #take(length: number): Uint8Array {
    const at = this.#pos
    if (length > this.#bytes.length - at) malformed('string runs past the end of the input')
    this.#pos = at + length
    return this.#bytes.subarray(at, at + length)
  }

  #array(length: number, depth: number): CborValue[] {
    // Every element takes at least one byte: a longer count cannot be satisfied (and must not size an allocation).
    if (length > this.#bytes.length - this.#pos) malformed('array runs past the end of the input')
    const out = new Array<CborValue>(length)
    for (let i = 0; i < length; i++) out[i] = this.item(depth + 1)
    return out
  }

  #map(length: number, depth: number): Map<string, CborValue> {
    const bytes = this.#bytes
    if (length > (bytes.length - this.#pos) / 2) malformed('map runs past the end of the input')
    const out = new Map<string, CborValue>()
    let previousStart = -1
    let previousEnd = -1
    for (let i = 0; i < length; i++) {
      const keyStart = this.#pos
      if (keyStart < bytes.length && (bytes[keyStart] as number) >> 5 !== 3) malformed('map keys must be text strings')
      const key = this.item(depth + 1) as string
      const keyEnd = this.#pos
      if (previousStart >= 0) {
        const order = compareRanges(bytes, previousStart, previousEnd, keyStart, keyEnd)
        if (order >= 0) this.nonCanonical ??= order === 0 ? 'a map key is repeated' : 'map keys are not in canonical order'
      }
      previousStart = keyStart
      previousEnd = keyEnd
      out.set(key, this.item(depth + 1))
    }
    return out
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) * 0x1000000 + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
}

/** Reads exactly one item filling all of `bytes`; byte strings in the result are views into a private copy. */
function readItem(bytes: Uint8Array, canonical: boolean): CborValue {
  // A copy, so decoded byte strings do not alias a buffer the caller reuses (`new Uint8Array`, not
  // `slice`, which only makes a view of a Buffer).
  const reader = new SubsetReader(new Uint8Array(bytes))
  const value = reader.item(1)
  if (!reader.atEnd) malformed('trailing bytes after the CBOR item')
  if (canonical && reader.nonCanonical !== undefined) throw new LogError('LOG_NON_CANONICAL', `not canonical CBOR: ${reader.nonCanonical}`)
  return value
}

/**
 * Decodes exactly one CBOR item of the subset filling all of `bytes`, without
 * requiring the canonical form (D3): for containers whose contents are
 * checked on their own (sync frames carry signed headers that are). A
 * repeated map key keeps its last value. Throws `LOG_MALFORMED`.
 */
export function decodeSubset(bytes: Uint8Array): CborValue {
  return readItem(bytes, false)
}

/**
 * Decodes exactly one CBOR item of the subset filling all of `bytes`, in
 * canonical form: rules D2 and D3 of docs/log-format.md. Throws
 * `LOG_MALFORMED` when anywhere in `bytes` the item is not well-formed, not
 * of the subset, or too deep, and otherwise `LOG_NON_CANONICAL` when an
 * argument is not in its shortest form or map keys are not strictly
 * ascending.
 */
export function decodeCanonical(bytes: Uint8Array): CborValue {
  return readItem(bytes, true)
}
