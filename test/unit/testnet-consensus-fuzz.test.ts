/**
 * Fuzzing the testnet's reading of tor's directory documents with
 * fast-check: a consensus and a microdescriptor cache written as tor writes
 * them read back to their model, and any text at all (a consensus half
 * written, a 404 page, garbage) reads without throwing into routers whose
 * fingerprints are 40 upper-case hex digits or empty.
 */
import { describe, expect } from 'vitest'
import { microdescDigests, parseMicrodescConsensus } from '../../src/testnet/index.js'
import { applyEdits, byteEdits, type ByteEdit } from '../arbitraries/bytes.js'
import { consensus, microdescCache } from '../arbitraries/testnet.js'
import { expectSameData, fc, fuzz } from '../helpers/fuzz.js'

describe('directory documents', () => {
  fuzz('testnet: consensus', [consensus], { runs: 2000 })('reads every router entry before the footer, as written', ({ text, routers }) => {
    expectSameData(parseMicrodescConsensus(text), routers)
  })

  // fast-check's shrunk counterexample of the first failure: the identity "//A" (2 bytes) gave the fingerprint FFF0 (fixed in consensus.ts).
  const shortIdentity: [string, ByteEdit[]] = ['r  //A\u0000\u0000\u0000', [{ kind: 'delete', at: 66, count: 3 }]]

  fuzz('testnet: consensus mutated', [fc.oneof(consensus.map((c) => c.text), fc.string({ unit: 'binary', maxLength: 200 })), byteEdits(6)], { runs: 4000, examples: [shortIdentity] })(
    'reads any text without throwing, into routers with a 40-digit upper-case hex fingerprint or none',
    (text, edits) => {
      const edited = Buffer.from(applyEdits(Buffer.from(text), edits)).toString('utf8')
      for (const router of parseMicrodescConsensus(edited)) {
        expect(router.fingerprint).toMatch(/^(?:[0-9A-F]{40})?$/)
        expect(Array.isArray(router.flags)).toBe(true)
      }
    },
  )

  fuzz('testnet: microdescriptor cache', [microdescCache], { runs: 2000 })('gives the digest of every cached descriptor', ({ text, digests }) => {
    expect([...microdescDigests(text)].sort()).toEqual([...digests].sort())
  })
})
