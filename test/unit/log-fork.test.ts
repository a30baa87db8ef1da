import { describe, expect, it } from 'vitest'
import {
  createForkProof,
  createOperation,
  decodeForkProof,
  encodeForkProof,
  forkProofFromText,
  forkProofToText,
  hashOf,
  verifyForkProof,
  type ForkProof,
} from '../../src/log/index.js'
import { makeChain, signRaw, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const alice = testSigner(1)
const mallory = testSigner(3)
const logId = testLogId(5)

function fork(): ForkProof {
  const [a0] = makeChain(alice, logId, 1)
  const b0 = createOperation({ signer: alice, logId, seq: 0, backlink: null, payload: new Uint8Array([9]) })
  return createForkProof(a0!.headerBytes, b0.headerBytes)
}

function expectInvalid(proof: ForkProof): void {
  expect(() => verifyForkProof(proof)).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
}

describe('fork proofs', () => {
  it('a proof of two operations at the same seq verifies with nothing else', () => {
    const facts = verifyForkProof(fork())
    expect(facts.author).toEqual(alice.publicKey)
    expect(facts.logId).toEqual(logId)
    expect(facts.seq).toBe(0)
  })

  it('is order independent and round-trips through bytes and text', () => {
    const p = fork()
    expect(createForkProof(p.headerB, p.headerA)).toEqual(p)
    const bytes = encodeForkProof(p)
    expect(decodeForkProof(bytes)).toEqual(p)
    const text = forkProofToText(p)
    expect(text.startsWith('burrow-fork-proof:')).toBe(true)
    expect(forkProofFromText(`  ${text}\n`)).toEqual(p)
    verifyForkProof(forkProofFromText(text))
  })

  it('has one valid form per fork: the same headers in the other order are refused', () => {
    const p = fork()
    expect(Buffer.compare(hashOf(p.headerA), hashOf(p.headerB))).toBeLessThan(0)
    expectInvalid({ headerA: p.headerB, headerB: p.headerA })
    expect(() => verifyForkProof(forkProofFromText(forkProofToText({ headerA: p.headerB, headerB: p.headerA })))).toThrow(
      expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF', message: 'headers are not in the order of their hashes' }),
    )
  })

  it('text form: ASCII space, tab, CR and LF around it are accepted, no other white space', () => {
    const p = fork()
    const text = forkProofToText(p)
    expect(forkProofFromText(` \t\r\n${text}\r\n \t`)).toEqual(p)
    for (const space of ['\u00a0', '\ufeff', '\u2028', '\u0085', '\v', '\f', '\u3000']) {
      expect(() => forkProofFromText(space + text)).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
      expect(() => forkProofFromText(text + space)).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
    }
    // Nor inside it.
    const cut = 'burrow-fork-proof:'.length + 8
    expect(() => forkProofFromText(`${text.slice(0, cut)}\n${text.slice(cut)}`)).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
  })

  it('rejects forged and non-proofs', () => {
    const p = fork()
    // Same header twice.
    expectInvalid({ headerA: p.headerA, headerB: p.headerA })
    // A header "by alice" signed by mallory.
    const forged = signRaw(mallory, { version: 1, author: alice.publicKey, logId, seq: 0, backlink: null, payloadHash: null, payloadSize: 0, extensions: new Map() })
    expectInvalid({ headerA: p.headerA, headerB: forged.headerBytes })
    // A tampered signature.
    const tampered = p.headerB.slice()
    tampered[tampered.length - 3]! ^= 0x10
    expectInvalid({ headerA: p.headerA, headerB: tampered })
    // Different authors, logs, seqs.
    expectInvalid({ headerA: p.headerA, headerB: makeChain(mallory, logId, 1)[0]!.headerBytes })
    expectInvalid({ headerA: p.headerA, headerB: makeChain(alice, testLogId(6), 1)[0]!.headerBytes })
    expectInvalid({ headerA: p.headerA, headerB: makeChain(alice, logId, 2)[1]!.headerBytes })
    // Garbage.
    expectInvalid({ headerA: p.headerA, headerB: new Uint8Array([1, 2, 3]) })
  })

  it('rejects malformed encodings', () => {
    expect(() => decodeForkProof(new Uint8Array([0x83, 0x02, 0x40, 0x40]))).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
    expect(() => decodeForkProof(new Uint8Array([0xff]))).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
    expect(() => decodeForkProof(new Uint8Array(10_000))).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
    expect(() => forkProofFromText('hello')).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
    expect(() => forkProofFromText('burrow-fork-proof:!!!')).toThrow(expect.objectContaining({ code: 'LOG_INVALID_FORK_PROOF' }))
  })
})
