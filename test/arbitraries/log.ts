/**
 * Arbitraries of the log layer: values of the CBOR subset (at any depth the
 * format allows), their canonical and loose encodings, valid operations,
 * chains and forks, and operations that are invalid in a known way. Loose
 * encodings come from the fixtures' reference encoder (written from RFC
 * 8949, not cbor-x), so they are independent of the code under test.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { MAX_CBOR_DEPTH } from '../../src/log/cbor.js'
import { createOperation, type ExtensionValue, type Operation, type Signer } from '../../src/log/index.js'
import { referenceEncode, testSigner } from '../fixtures/log-fixtures.js'
import { opaqueBytes } from './bytes.js'
import type { InvalidVectorFile } from '../vectors/generate-log-invalid-vectors.js'

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** 32 opaque bytes: a key, a hash. */
export const bytes32 = opaqueBytes(32, 32)

/** Integers of the subset, with every head-width boundary likely. */
export const cborInteger = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, MAX_SAFE, -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, -MAX_SAFE),
  fc.maxSafeInteger(),
)

/** Unsigned integers below 2^53 (what `seq`, sizes and `ts` take). */
export const safeUint = fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, MAX_SAFE), fc.maxSafeNat())

/** Text strings: ASCII, any code point (multi-byte UTF-8), and the empty string. */
export const cborText = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 24 }))

const cborBytes = fc.oneof({ weight: 4, arbitrary: opaqueBytes(0, 40) }, { weight: 1, arbitrary: opaqueBytes(24, 300) })

const scalar: fc.Arbitrary<ExtensionValue> = fc.oneof(fc.constant(null), fc.boolean(), cborInteger, cborText, cborBytes)

const byDepth = new Map<number, fc.Arbitrary<ExtensionValue>>()

/**
 * A value of the subset that can stand at nesting depth `depth` (the
 * outermost item is at 1; an array or map at {@link MAX_CBOR_DEPTH} is empty).
 * Maps have distinct text keys.
 */
export function cborValue(depth = 1): fc.Arbitrary<ExtensionValue> {
  let arb = byDepth.get(depth)
  if (arb !== undefined) return arb
  if (depth >= MAX_CBOR_DEPTH) {
    arb = fc.oneof(scalar, fc.constant([]), fc.constant(new Map()))
  } else {
    const inner = cborValue(depth + 1)
    arb = fc.oneof(
      { weight: 5, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(inner, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.uniqueArray(fc.tuple(cborText, inner), { selector: ([k]) => k, maxLength: 4 }).map((entries) => new Map(entries)) },
    )
  }
  byDepth.set(depth, arb)
  return arb
}

/** How a value is encoded loosely: which argument widths heads take (cycled; undefined = shortest) and whether map keys are sorted. */
export interface LooseStyle {
  readonly widths: readonly (1 | 2 | 4 | 8 | undefined)[]
  readonly sortKeys: boolean
}

export const looseStyle: fc.Arbitrary<LooseStyle> = fc.record({
  widths: fc.array(fc.constantFrom(undefined, undefined, undefined, 1 as const, 2 as const, 4 as const, 8 as const), { minLength: 1, maxLength: 6 }),
  sortKeys: fc.boolean(),
})

/** `value` encoded by the reference encoder in `style`: well-formed, canonical only if the style happens to give the shortest form and order. */
export function looseEncode(value: ExtensionValue, style: LooseStyle): Uint8Array {
  let next = 0
  return referenceEncode(value, { sortKeys: style.sortKeys, headWidth: () => style.widths[next++ % style.widths.length] })
}

/** An array or map nested `depth` levels deep around a scalar (the scalar itself one level deeper). */
export const nested = fc.record({ depth: fc.integer({ min: 1, max: MAX_CBOR_DEPTH + 3 }), maps: fc.array(fc.boolean(), { minLength: MAX_CBOR_DEPTH + 3, maxLength: MAX_CBOR_DEPTH + 3 }), leaf: scalar })

/** Builds the value of {@link nested}; its deepest item is at depth `depth + 1`. */
export function nestedValue({ depth, maps, leaf }: { depth: number; maps: readonly boolean[]; leaf: ExtensionValue }): ExtensionValue {
  let value = leaf
  for (let level = depth - 1; level >= 0; level--) value = maps[level] ? new Map([['k', value]]) : [value]
  return value
}

const signers = new Map<number, Signer>()

/** One of a few fixed test authors (signing keys are derived once). */
export const signer: fc.Arbitrary<Signer> = fc.integer({ min: 1, max: 6 }).map((n) => {
  let s = signers.get(n)
  if (s === undefined) signers.set(n, (s = testSigner(n)))
  return s
})

/** Log ids: 32 bytes mostly, any allowed length (1 to 64) sometimes. */
export const logId = fc.oneof({ weight: 3, arbitrary: opaqueBytes(32, 32) }, { weight: 1, arbitrary: opaqueBytes(1, 64) })

/** Payloads, empty (no payload) sometimes. */
export const payload = fc.oneof({ weight: 1, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 4, arbitrary: opaqueBytes(1, 200) })

/** Extensions: the known keys with values of their type, and unknown keys with any value the header may carry (depth 3). */
export const extensions: fc.Arbitrary<Map<string, ExtensionValue>> = fc
  .record({
    prune: fc.option(fc.boolean(), { nil: undefined }),
    ts: fc.option(safeUint, { nil: undefined }),
    epoch: fc.option(safeUint, { nil: undefined }),
    others: fc.uniqueArray(fc.tuple(cborText.filter((k) => k !== 'prune' && k !== 'ts' && k !== 'epoch'), cborValue(3)), { selector: ([k]) => k, maxLength: 3 }),
  })
  .map(({ prune, ts, epoch, others }) => {
    const map = new Map<string, ExtensionValue>(others)
    if (prune !== undefined) map.set('prune', prune)
    if (ts !== undefined) map.set('ts', ts)
    if (epoch !== undefined) map.set('epoch', epoch)
    return map
  })

/** A valid operation (validly signed, consistent seq, backlink and payload), not part of any chain. */
export const operation: fc.Arbitrary<Operation> = fc
  .record({
    signer,
    logId,
    seq: fc.oneof(fc.constant(0), safeUint),
    backlink: bytes32,
    payload,
    extensions,
  })
  .map(({ seq, backlink, ...rest }) => createOperation({ ...rest, seq, backlink: seq === 0 ? null : backlink }))

/** The consecutive operations from seq 0 of one author's log. */
export const chain = (maxLength = 5): fc.Arbitrary<Operation[]> =>
  fc
    .record({ signer, logId, payloads: fc.array(payload, { minLength: 1, maxLength }), prune: fc.array(fc.boolean(), { maxLength }) })
    .map(({ signer: s, logId: id, payloads, prune }) => {
      const ops: Operation[] = []
      for (const [seq, p] of payloads.entries()) {
        const previous = ops[seq - 1]
        ops.push(createOperation({ signer: s, logId: id, seq, backlink: previous?.hash ?? null, payload: p, extensions: prune[seq] === true ? { prune: true } : {} }))
      }
      return ops
    })

/** Two different validly signed operations of one author at one position of one log: a fork. */
export const fork: fc.Arbitrary<[Operation, Operation]> = fc
  .record({ signer, logId, seq: fc.oneof(fc.constant(0), safeUint), backlink: bytes32, a: payload, b: payload, ts: safeUint })
  .map(({ signer: s, logId: id, seq, backlink, a, b, ts }) => {
    const base = { signer: s, logId: id, seq, backlink: seq === 0 ? null : backlink }
    // Same payload: the timestamp tells them apart.
    return [createOperation({ ...base, payload: a }), createOperation({ ...base, payload: b, extensions: { ts } })]
  })

/** test/vectors/log-invalid.json: one entry per decoding and validation rule, seeds for mutation. */
export const invalidVectors = JSON.parse(readFileSync(new URL('../vectors/log-invalid.json', import.meta.url), 'utf8')) as InvalidVectorFile

const vectorHeaders = invalidVectors.vectors.flatMap((v) => (v.kind === 'operation' ? [new Uint8Array(Buffer.from(v.header, 'hex'))] : []))

/** Header bytes of a valid operation, or of a rule vector (each breaks one rule, or sits on its boundary). */
export const headerSeed: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: operation.map((op) => op.headerBytes) },
  { weight: 1, arbitrary: fc.constantFrom(...vectorHeaders) },
)
