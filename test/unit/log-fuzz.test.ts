/**
 * Fuzzing the log layer with fast-check: the canonical CBOR subset, operation
 * decoding and validation, fork proofs and their text form, and the store's
 * ingest. Properties, not only "no crash": valid values round-trip, every
 * changed byte of a signed header or payload is refused, every refusal is a
 * LogError of LOG_ERRORS, and nothing invalid reaches the store.
 */
import { describe, expect, it as plainIt } from 'vitest'
import { decodeCanonical, decodeSubset, encodeCanonical, MAX_CBOR_DEPTH, type CborValue } from '../../src/log/cbor.js'
import {
  bytesEqual,
  createForkProof,
  decodeForkProof,
  decodeOperation,
  DEFAULT_LIMITS,
  encodeForkProof,
  encodeHeader,
  forkProofFromText,
  forkProofToText,
  isPrunePoint,
  LOG_ERRORS,
  validateOperation,
  verifyForkProof,
  type DecodeLimits,
  type Operation,
} from '../../src/log/index.js'
import { LogStore, openDatabase, STORE_ERRORS } from '../../src/store/index.js'
import { referenceEncode } from '../fixtures/log-fixtures.js'
import { anyBytes, applyEdits, byteEdits, chunkSizes, hexOf, mutated, splitList, type ByteEdit } from '../arbitraries/bytes.js'
import { chain, cborValue, fork, headerSeed, looseEncode, looseStyle, nested, nestedValue, operation } from '../arbitraries/log.js'
import { expectSameData, fc, fuzz, typedErrorOf } from '../helpers/fuzz.js'

const codeOf = (fn: () => unknown): string | undefined => typedErrorOf(fn, LOG_ERRORS)

/** Codes met while decoding and validating arbitrary bytes: the mutations must reach the deep rules, not only the CBOR reader. */
const reached = new Map<string, number>()

describe('the CBOR subset', () => {
  fuzz('log: canonical CBOR', [cborValue()], { runs: 3000 })(
    'encodes every value as the reference encoder does, and decodes it back',
    (value) => {
      const bytes = encodeCanonical(value)
      expect(hexOf(bytes)).toBe(hexOf(referenceEncode(value)))
      expectSameData(decodeCanonical(bytes), value)
      expectSameData(decodeSubset(bytes), value)
    },
  )

  fuzz('log: loose CBOR', [cborValue(), looseStyle], { runs: 3000 })(
    'reads loose encodings as the same value, canonical exactly when the bytes are the canonical ones',
    (value, style) => {
      const bytes = looseEncode(value, style)
      expectSameData(decodeSubset(bytes), value)
      const canonical = bytesEqual(bytes, encodeCanonical(value))
      expect(codeOf(() => decodeCanonical(bytes))).toBe(canonical ? undefined : 'LOG_NON_CANONICAL')
    },
  )

  fuzz('log: CBOR depth', [nested], { runs: 500 })(`accepts nesting up to depth ${MAX_CBOR_DEPTH}, refuses anything deeper as LOG_MALFORMED`, (shape) => {
    const bytes = referenceEncode(nestedValue(shape))
    const deepest = shape.depth + 1
    expect(codeOf(() => decodeCanonical(bytes))).toBe(deepest > MAX_CBOR_DEPTH ? 'LOG_MALFORMED' : undefined)
  })

  const anyInput = fc.oneof(
    anyBytes(300),
    mutated(cborValue().map(encodeCanonical)),
    fc.tuple(cborValue(), looseStyle).map(([v, s]) => looseEncode(v, s)),
    mutated(fc.tuple(cborValue(), looseStyle).map(([v, s]) => looseEncode(v, s))),
    mutated(headerSeed, 3),
  )

  fuzz('log: decode arbitrary bytes', [anyInput], { runs: 12_000, timeoutMs: 60_000 })(
    'decodes into typed errors only: LOG_MALFORMED for bytes outside the subset, LOG_NON_CANONICAL exactly when re-encoding differs',
    (input) => {
      let subset: CborValue | undefined
      const subsetCode = codeOf(() => (subset = decodeSubset(input)))
      const canonicalCode = codeOf(() => decodeCanonical(input))
      if (subsetCode !== undefined) expect([subsetCode, canonicalCode]).toEqual(['LOG_MALFORMED', 'LOG_MALFORMED'])
      else expect(canonicalCode).toBe(bytesEqual(encodeCanonical(subset!), input) ? undefined : 'LOG_NON_CANONICAL')
      const code = codeOf(() => validateOperation(decodeOperation(input))) ?? 'accepted'
      reached.set(code, (reached.get(code) ?? 0) + 1)
    },
  )

  plainIt('reached the deep rules while decoding arbitrary bytes', (ctx) => {
    if (reached.size === 0) ctx.skip()
    for (const code of ['LOG_MALFORMED', 'LOG_NON_CANONICAL', 'LOG_UNKNOWN_VERSION', 'LOG_INVALID_SIGNATURE']) expect(reached.get(code) ?? 0, code).toBeGreaterThan(0)
  })
})

/** Decoding with `limits` then validation without a chain check: the code of the first rule `header` and `payload` break. */
function outcome(header: Uint8Array, payload: Uint8Array | undefined, limits: DecodeLimits = DEFAULT_LIMITS): string | undefined {
  return codeOf(() => validateOperation(decodeOperation(header, payload, limits)))
}

describe('operations', () => {
  fuzz('log: valid operations', [operation], { runs: 1500 })('decode back to what was signed, validate, and re-encode to the same bytes', (op) => {
    if (op.headerBytes.length > DEFAULT_LIMITS.maxHeaderBytes) {
      expect(outcome(op.headerBytes, op.payload)).toBe('LOG_OVERSIZE')
      return
    }
    const decoded = decodeOperation(op.headerBytes, op.payload)
    expectSameData(decoded.header, op.header)
    expect(hexOf(decoded.hash)).toBe(hexOf(op.hash))
    expectSameData(decoded.payload, op.payload)
    validateOperation(decoded)
    expect(hexOf(encodeHeader(decoded.header))).toBe(hexOf(op.headerBytes))
  })

  fuzz('log: changed headers', [operation, byteEdits(4)], { runs: 6000, timeoutMs: 60_000 })(
    'refuses every header with a changed byte, with a LogError',
    (op, edits) => {
      const changed = applyEdits(op.headerBytes, edits)
      const code = outcome(changed, op.payload)
      if (bytesEqual(changed, op.headerBytes)) expect(code).toBe(outcome(op.headerBytes, op.payload))
      else expect(code).toBeDefined()
    },
  )

  const limits = fc.constantFrom(DEFAULT_LIMITS, { maxHeaderBytes: 4096, maxPayloadBytes: 100 }, { maxHeaderBytes: 300, maxPayloadBytes: 1 })

  fuzz('log: changed payloads', [operation, byteEdits(3), limits], { runs: 2000 })(
    'refuses a changed payload as the first rule it breaks: size limit, then declared size, then hash',
    (op, edits, lim) => {
      const original = op.payload ?? new Uint8Array(0)
      const changed = applyEdits(original, edits)
      let expected: string | undefined
      if (changed.length > lim.maxPayloadBytes || op.headerBytes.length > lim.maxHeaderBytes || op.header.payloadSize > lim.maxPayloadBytes) expected = 'LOG_OVERSIZE'
      else if (changed.length === 0 && op.header.payloadSize === 0) expected = undefined
      else if (changed.length !== op.header.payloadSize) expected = 'LOG_PAYLOAD_SIZE_MISMATCH'
      else if (!bytesEqual(changed, original)) expected = 'LOG_PAYLOAD_HASH_MISMATCH'
      expect(outcome(op.headerBytes, changed, lim)).toBe(expected)
    },
  )

  fuzz('log: rule vectors mutated', [mutated(headerSeed, 4), fc.option(anyBytes(64), { nil: undefined })], { runs: 4000 })(
    'gives a LogError for every mutation of a rule vector or valid header',
    (header, payload) => {
      outcome(header, payload)
    },
  )

  fuzz('log: chains', [chain(5), fc.nat(), fc.nat()], { runs: 800 })(
    'validates each operation against its predecessor only, and the start of a log only at seq 0 or a prune point',
    (ops, i, j) => {
      const op = ops[i % ops.length]!
      const other = ops[j % ops.length]!
      const seq = op.header.seq
      expect(codeOf(() => validateOperation(op, null))).toBe(seq === 0 || isPrunePoint(op.header) ? undefined : 'LOG_WRONG_SEQ')
      const wrongSeq = other.header.seq + 1 !== seq
      const expected = wrongSeq ? 'LOG_WRONG_SEQ' : undefined
      expect(codeOf(() => validateOperation(op, other))).toBe(expected)
      expect(codeOf(() => validateOperation(op, other.header))).toBe(expected)
      expect(codeOf(() => validateOperation(op, { author: other.header.author, logId: other.header.logId, seq: other.header.seq, hash: other.hash }))).toBe(expected)
      if (seq > 0) {
        // The right position, the wrong operation: a predecessor with another hash.
        const forged = { author: op.header.author, logId: op.header.logId, seq: seq - 1, hash: op.hash }
        expect(codeOf(() => validateOperation(op, forged))).toBe('LOG_WRONG_BACKLINK')
      }
    },
  )
})

/** Either the proof the text or bytes decode to is the original, or it is refused as LOG_INVALID_FORK_PROOF. */
function sameProofOrRefused(decode: () => ReturnType<typeof decodeForkProof>, original: ReturnType<typeof decodeForkProof>): void {
  let decoded: ReturnType<typeof decodeForkProof> | undefined
  const code = codeOf(() => {
    decoded = decode()
    verifyForkProof(decoded)
  })
  if (code !== undefined) expect(code).toBe('LOG_INVALID_FORK_PROOF')
  else expect([hexOf(decoded!.headerA), hexOf(decoded!.headerB)]).toEqual([hexOf(original.headerA), hexOf(original.headerB)])
}

describe('fork proofs', () => {
  const space = fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n', '\u00a0', '\ufeff', '\u2028', '\u000b', '\u000c'), maxLength: 4 })

  fuzz('log: fork proofs', [fork, space, space], { runs: 600 })(
    'prove the fork in one order only, round-trip as bytes and text, and take only ASCII white space around the text',
    ([a, b], before, after) => {
      const proof = createForkProof(a.headerBytes, b.headerBytes)
      expectSameData(verifyForkProof(proof), { author: a.header.author, logId: a.header.logId, seq: a.header.seq })
      expect(codeOf(() => verifyForkProof({ headerA: proof.headerB, headerB: proof.headerA }))).toBe('LOG_INVALID_FORK_PROOF')
      expectSameData(decodeForkProof(encodeForkProof(proof)), proof)
      const text = `${before}${forkProofToText(proof)}${after}`
      const asciiSpace = /^[ \t\r\n]*$/
      if (asciiSpace.test(before) && asciiSpace.test(after)) expectSameData(forkProofFromText(text), proof)
      else expect(codeOf(() => forkProofFromText(text))).toBe('LOG_INVALID_FORK_PROOF')
    },
  )

  fuzz('log: fork proofs mutated', [fork, byteEdits(4), fc.boolean()], { runs: 2000 })(
    'refuse a changed proof, as bytes or as text, with LOG_INVALID_FORK_PROOF',
    ([a, b], edits, asText) => {
      const proof = createForkProof(a.headerBytes, b.headerBytes)
      if (asText) {
        const text = Buffer.from(applyEdits(Buffer.from(forkProofToText(proof), 'latin1'), edits)).toString('latin1')
        sameProofOrRefused(() => forkProofFromText(text), proof)
      } else {
        const bytes = applyEdits(encodeForkProof(proof), edits)
        sameProofOrRefused(() => decodeForkProof(bytes), proof)
      }
    },
  )
})

/** Every stored operation, as `hash:payload` hex, sorted: the store's whole content. */
function contents(store: LogStore): string[] {
  const rows: string[] = []
  for (const logId of store.logIds()) {
    for (const author of store.heights(logId).keys()) {
      for (const op of store.operationsAfter(Buffer.from(author, 'hex'), logId, -1, 10_000)) rows.push(`${hexOf(op.hash)}:${op.payload === undefined ? '-' : hexOf(op.payload)}`)
    }
  }
  return rows.sort()
}

/** An invalid version of an honest operation: its payload changed, or its header bytes changed and still decodable. */
const junkEdit = fc.record({ which: fc.nat(), inHeader: fc.boolean(), edits: byteEdits(3) })

function junkOf(honest: readonly Operation[], spec: { which: number; inHeader: boolean; edits: readonly ByteEdit[] }): Operation | undefined {
  const op = honest[spec.which % honest.length]!
  if (!spec.inHeader) {
    const payload = applyEdits(op.payload ?? new Uint8Array(0), spec.edits)
    if (bytesEqual(payload, op.payload ?? new Uint8Array(0))) return undefined
    return { ...op, payload }
  }
  const header = applyEdits(op.headerBytes, spec.edits)
  if (bytesEqual(header, op.headerBytes)) return undefined
  try {
    return decodeOperation(header, op.payload)
  } catch {
    return undefined
  }
}

describe('the store', () => {
  const chains = fc.uniqueArray(chain(4), { minLength: 1, maxLength: 3, selector: (ops) => hexOf(ops[0]!.header.author) + hexOf(ops[0]!.header.logId) })

  fuzz('store: ingest', [chains, fc.array(junkEdit, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 24 }), chunkSizes], { runs: 200, timeoutMs: 60_000 })(
    'stores only valid operations in any order and batching, leaves the store unchanged after a rejected batch, and ends with exactly the valid ones',
    (logs, junkSpecs, order, batchSizes) => {
      const db = openDatabase(':memory:')
      try {
        const store = new LogStore(db)
        const honest = logs.flat()
        const valid = new Map(honest.map((op) => [hexOf(op.hash), op]))
        const junk = junkSpecs.map((spec) => junkOf(honest, spec)).filter((op) => op !== undefined)
        // Shuffled by the generated keys, then ingested in batches of the generated sizes.
        const all = [...honest, ...junk].map((op, i) => ({ op, key: order[i % Math.max(1, order.length)] ?? 0, i })).sort((p, q) => p.key - q.key || p.i - q.i).map((e) => e.op)
        for (const batch of splitList(all, batchSizes)) {
          const result = store.ingest(batch)
          expect(result.forks).toEqual([])
          for (const { error } of result.rejected) expect([...Object.keys(LOG_ERRORS), ...Object.keys(STORE_ERRORS)]).toContain(error.code)
        }
        for (const row of contents(store)) {
          const [hash, payload] = row.split(':') as [string, string]
          const op = valid.get(hash)
          expect(op, 'a stored operation is one of the valid ones').toBeDefined()
          expect(payload).toBe(op!.payload === undefined ? '-' : hexOf(op!.payload))
        }
        const before = contents(store)
        if (junk.length > 0) {
          const result = store.ingest(junk)
          expect(result.stored).toBe(0)
          expect(contents(store)).toEqual(before)
        }
        // In log order everything valid goes in.
        store.ingest(honest)
        expect(contents(store)).toEqual(honest.map((op) => `${hexOf(op.hash)}:${op.payload === undefined ? '-' : hexOf(op.payload)}`).sort())
      } finally {
        db.close()
      }
    },
  )
})
