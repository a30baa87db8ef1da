import { describe, expect, it } from 'vitest'
import { decodeOperation, LogError, validateOperation, type Operation } from '../../src/log/index.js'
import { makeChain, prng, randomValue, referenceEncode, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const ITERATIONS = 24_000

describe('decoder fuzz', () => {
  it(`only typed errors, never a crash or hang, over ${ITERATIONS} random and mutated inputs`, { timeout: 60_000 }, () => {
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
    const counts = { ok: 0, typed: new Map<string, number>() }
    for (let i = 0; i < ITERATIONS; i++) {
      let input: Uint8Array
      const kind = i % 4
      if (kind === 0) input = Uint8Array.from({ length: Math.floor(rand() * 300) }, byte)
      else if (kind === 1) input = referenceEncode(randomValue(rand))
      else input = mutate(seeds[Math.floor(rand() * seeds.length)]!)
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
  })
})
