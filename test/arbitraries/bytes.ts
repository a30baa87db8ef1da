/**
 * Arbitraries shared by every layer's fuzzing: edits of a byte string (the
 * mutations a hostile peer or a damaged file makes), and splits of a byte
 * stream into chunks (how bytes arrive on a socket). Positions are natural
 * numbers taken modulo the length, so that fast-check shrinks them towards
 * the start.
 */
import fc from 'fast-check'
import { prng } from '../helpers/prng.js'

/** Bytes that mean something to a CBOR reader (heads of every width, break, simple values, floats). */
const CBOR_BYTES = [0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x3b, 0x40, 0x58, 0x5f, 0x60, 0x78, 0x7f, 0x80, 0x98, 0x9f, 0xa0, 0xb8, 0xbf, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff]

/** A byte, half the time one of the bytes a CBOR reader treats specially. */
export const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...CBOR_BYTES))

/** One edit of a byte string. */
export type ByteEdit =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly count: number }

const at = fc.nat({ max: 1 << 16 })

/** One edit: bit flip, byte replaced, bytes inserted, deleted, duplicated, or the tail cut off. */
export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at, value: byte }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.array(byte, { minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('duplicate' as const), at, count: fc.integer({ min: 1, max: 40 }) }),
)

/** 1 to `max` edits. */
export const byteEdits = (max = 4): fc.Arbitrary<ByteEdit[]> => fc.array(byteEdit, { minLength: 1, maxLength: max })

/** `bytes` with `edits` applied in order (a new array; `bytes` is untouched). */
export function applyEdits(bytes: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  const out = Array.from(bytes)
  for (const edit of edits) {
    const i = edit.at % (out.length + 1)
    switch (edit.kind) {
      case 'flip':
        if (out.length > 0) out[i % out.length]! ^= 1 << edit.bit
        break
      case 'set':
        if (out.length > 0) out[i % out.length] = edit.value
        break
      case 'insert':
        out.splice(i, 0, ...edit.bytes)
        break
      case 'delete':
        out.splice(i, edit.count)
        break
      case 'truncate':
        out.length = i
        break
      case 'duplicate':
        out.splice(i, 0, ...out.slice(i, i + edit.count))
        break
    }
  }
  return Uint8Array.from(out)
}

/** Edits of the bytes `base` generates. */
export function mutated(base: fc.Arbitrary<Uint8Array>, maxEdits = 4): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, byteEdits(maxEdits)).map(([bytes, edits]) => applyEdits(bytes, edits))
}

/** Chunk sizes a stream is cut into, used in turn (see {@link splitBytes}); 1-byte chunks are likely. */
export const chunkSizes = fc.array(fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })), { minLength: 1, maxLength: 8 })

/** `bytes` cut into chunks of `sizes`, cycling through them. */
export function splitBytes(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  return cutPoints(bytes.length, sizes).map(([from, to]) => bytes.subarray(from, to))
}

/** `items` cut into runs of `sizes`, cycling through them (batches of a list, as {@link splitBytes} does for bytes). */
export function splitList<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  return cutPoints(items.length, sizes).map(([from, to]) => items.slice(from, to))
}

function cutPoints(length: number, sizes: readonly number[]): [number, number][] {
  const cuts: [number, number][] = []
  for (let offset = 0, k = 0; offset < length; k++) {
    const size = sizes[k % sizes.length]!
    cuts.push([offset, Math.min(length, offset + size)])
    offset += size
  }
  return cuts
}

/**
 * Bytes whose content is opaque to the code under test (keys, ids, payloads,
 * ciphertexts): a length and a seed, expanded by a PRNG. Much cheaper to
 * generate than a byte-by-byte array; shrinks by length and seed.
 */
export function opaqueBytes(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer()).map(([length, seed]) => {
    const random = prng(seed)
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256)
    return out
  })
}

/** Random bytes, short ones likely. */
export const anyBytes = (maxLength = 300): fc.Arbitrary<Uint8Array> => fc.array(byte, { maxLength }).map((b) => Uint8Array.from(b))

/** Hex of `bytes`, for comparisons and messages. */
export const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
