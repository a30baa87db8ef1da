import { describe, expect, it } from 'vitest'
import { decodeCanonical, decodeSubset, encodeCanonical, type CborValue } from '../../src/log/cbor.js'
import { bytesEqual, decodeOperation, LogError, validateOperation, type Operation } from '../../src/log/index.js'
import { makeChain, prng, randomValue, referenceEncode, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const ITERATIONS = 24_000

describe('decoder fuzz', () => {
  it(`only typed errors, never a crash or hang, and canonical exactly when re-encoding gives the input back, over ${ITERATIONS} random and mutated inputs`, { timeout: 60_000 }, () => {
    const rand = prng(0xb0770)
    const byte = (): number => Math.floor(rand() * 256)
    const seeds = [
      ...makeChain(testSigner(1), testLogId(1), 3, 40),
      ...makeChain(testSigner(2), new Uint8Array([7]), 2, 0),
    ].map((op) => op.headerBytes)
    const mutate = (src: Uint8Array): Uint8Array => {
      const b = Array.from(src)
      const rounds = 1 + Math.floor(rand() * 3)
      for (let r = 0; r < rounds; r++) {
        const at = Math.floor(rand() * (b.length + 1))
        switch (Math.floor(rand() * 6)) {
          case 0: if (b.length > 0) b[at % b.length]! ^= 1 << Math.floor(rand() * 8); break // bit flip
          case 1: b.length = Math.floor(rand() * b.length); break // truncation
          case 2: b.push(...Array.from({ length: 1 + Math.floor(rand() * 8) }, byte)); break // extension
          case 3: b.splice(at, 0, byte()); break // insertion
          case 4: b.splice(at, 1); break // deletion
          default: if (b.length > 0) b[at % b.length] = byte() // replacement
        }
      }
      return Uint8Array.from(b)
    }
    const counts = { ok: 0, typed: new Map<string, number>(), subsetNotCanonical: 0 }
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn()
        return undefined
      } catch (err) {
        if (!(err instanceof LogError)) throw err
        return err.code
      }
    }
    for (let i = 0; i < ITERATIONS; i++) {
      let input: Uint8Array
      const kind = i % 4
      if (kind === 0) input = Uint8Array.from({ length: Math.floor(rand() * 300) }, byte)
      else if (kind === 1) {
        // Values of the subset: canonical, in loose encodings (wider heads, unsorted keys), or mutated.
        const style = rand()
        const loose = style < 0.4
        const headWidth = loose ? (): number | undefined => (rand() < 0.3 ? 2 ** Math.floor(rand() * 4) : undefined) : undefined
        input = referenceEncode(randomValue(rand), { sortKeys: !loose || rand() < 0.5, headWidth })
        if (style > 0.7) input = mutate(input)
      }
      else input = mutate(seeds[Math.floor(rand() * seeds.length)]!)
      // The decoder's item-by-item canonical checks against the encoder (itself checked against a
      // reference encoder): canonical exactly when the subset decodes and re-encodes to the same bytes.
      let subset: CborValue | undefined
      const subsetCode = codeOf(() => (subset = decodeSubset(input)))
      const canonicalCode = codeOf(() => decodeCanonical(input))
      if (subsetCode !== undefined) expect([subsetCode, canonicalCode]).toEqual(['LOG_MALFORMED', 'LOG_MALFORMED'])
      else {
        const canonical = bytesEqual(encodeCanonical(subset!), input)
        if (!canonical) counts.subsetNotCanonical++
        expect(canonicalCode).toBe(canonical ? undefined : 'LOG_NON_CANONICAL')
      }
      let op: Operation | undefined
      try {
        op = decodeOperation(input)
        validateOperation(op)
        counts.ok++
      } catch (err) {
        if (!(err instanceof LogError)) throw new Error(`untyped error for input ${Buffer.from(input).toString('hex')}`, { cause: err })
        counts.typed.set(err.code, (counts.typed.get(err.code) ?? 0) + 1)
      }
    }
    // The mutations must reach deep rules, not only the CBOR parser.
    expect(counts.typed.get('LOG_MALFORMED')).toBeGreaterThan(0)
    expect(counts.typed.get('LOG_NON_CANONICAL')).toBeGreaterThan(0)
    expect(counts.typed.get('LOG_INVALID_SIGNATURE')).toBeGreaterThan(0)
    expect(counts.subsetNotCanonical).toBeGreaterThan(ITERATIONS / 100)
  })
})
