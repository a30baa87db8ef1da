import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createHash } from 'node:crypto'
import { inspect } from 'node:util'
import { decodeCanonical, encodeCanonical } from '../../src/log/cbor.js'
import {
  createOperation,
  decodeHeader,
  seedSigner,
  decodeOperation,
  encodeUnsignedHeader,
  hashOf,
  signingInputOf,
  validateOperation,
  verifySignature,
  type UnsignedHeader,
} from '../../src/log/index.js'
import { makeChain, prng, referenceEncode, signRaw, testLogId, testSigner } from '../fixtures/log-fixtures.js'
import { LogError } from '../../src/log/errors.js'

const alice = testSigner(1)
const bob = testSigner(2)
const logId = testLogId(9)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function baseFields(overrides: Partial<UnsignedHeader> = {}): UnsignedHeader {
  const payload = text('hello')
  return {
    version: 1,
    author: alice.publicKey,
    logId,
    seq: 0,
    backlink: null,
    payloadHash: hashOf(payload),
    payloadSize: payload.length,
    extensions: new Map(),
    ...overrides,
  }
}

describe('operation round trip', () => {
  it('decodes what it encodes, with unknown extensions preserved and signed', () => {
    const ext = new Map<string, never>()
    const op = createOperation({
      signer: alice,
      logId,
      seq: 0,
      backlink: null,
      payload: text('hello'),
      extensions: { ts: 1_700_000_000_000, epoch: 3, prune: false, 'x-app': [1, 'two', new Uint8Array([3])], nested: ext },
    })
    const back = decodeOperation(op.headerBytes, op.payload)
    expect(back.hash).toEqual(op.hash)
    expect(back.headerBytes).toEqual(op.headerBytes)
    expect(back.header.seq).toBe(0)
    expect(back.header.author).toEqual(alice.publicKey)
    expect(back.header.logId).toEqual(logId)
    expect(back.header.payloadSize).toBe(5)
    expect(back.header.extensions.get('ts')).toBe(1_700_000_000_000)
    expect(back.header.extensions.get('x-app')).toEqual([1, 'two', new Uint8Array([3])])
    expect([...back.header.extensions.keys()]).toEqual(['ts', 'epoch', 'prune', 'x-app', 'nested'])
    expect(back.payload).toEqual(text('hello'))
    validateOperation(back, null)
  })

  it('hash is SHA-256 of the signed header bytes', () => {
    const [op] = makeChain(alice, logId, 1)
    expect(Buffer.from(op!.hash)).toEqual(createHash('sha256').update(op!.headerBytes).digest())
  })

  it('signing input sliced from the header bytes equals the encoded unsigned header', () => {
    for (const op of makeChain(alice, logId, 3)) {
      expect(signingInputOf(op.headerBytes)).toEqual(encodeUnsignedHeader(op.header))
    }
  })

  it('an operation without payload has no payload hash and size 0', () => {
    const op = createOperation({ signer: alice, logId, seq: 0, backlink: null })
    expect(op.header.payloadHash).toBeNull()
    expect(op.header.payloadSize).toBe(0)
    expect(op.payload).toBeUndefined()
    validateOperation(decodeOperation(op.headerBytes, new Uint8Array(0)), null)
  })

  it('validates a chain and decodes large integers', () => {
    const ops = makeChain(alice, logId, 5)
    ops.forEach((op, i) => validateOperation(decodeOperation(op.headerBytes, op.payload), i === 0 ? null : ops[i - 1]))
    const big = signRaw(alice, baseFields({ seq: 2 ** 40, backlink: new Uint8Array(32) }))
    expect(decodeHeader(big.headerBytes).seq).toBe(2 ** 40)
  })

  it('accepts a previous given as a header or as a chain link', () => {
    const [a, b] = makeChain(alice, logId, 2)
    validateOperation(b!, a!.header)
    validateOperation(b!, { author: alice.publicKey, logId, seq: 0, hash: a!.hash })
  })

  it('signers do not print their key', () => {
    expect(JSON.stringify({ alice })).not.toContain('0101')
    expect(inspect(alice)).toMatch(/^Signer\(/)
  })
})

describe('Ed25519', () => {
  it('libsodium signing and verification and @noble agree', () => {
    const rand = prng(7)
    for (let i = 0; i < 20; i++) {
      const seed = Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256))
      const msg = Uint8Array.from({ length: i * 13 }, () => Math.floor(rand() * 256))
      const signer = seedSigner(seed)
      expect(signer.publicKey).toEqual(ed25519.getPublicKey(seed))
      const sig = signer.sign(msg)
      expect(sig).toEqual(ed25519.sign(msg, seed))
      expect(verifySignature(signer.publicKey, msg, sig)).toBe(true)
      expect(ed25519.verify(sig, msg, signer.publicKey)).toBe(true)
      const bad = sig.slice()
      bad[i % 64]! ^= 1
      expect(verifySignature(signer.publicKey, msg, bad)).toBe(false)
      expect(ed25519.verify(bad, msg, signer.publicKey)).toBe(false)
    }
  })

  it('rejects invalid keys and lengths without throwing', () => {
    expect(verifySignature(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false)
    expect(verifySignature(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64))).toBe(false)
    expect(verifySignature(alice.publicKey, new Uint8Array(1), new Uint8Array(63))).toBe(false)
  })

  it('verifies views into larger buffers by their own bytes', () => {
    const message = text('a view of a message')
    const signature = alice.sign(message)
    const pad = (bytes: Uint8Array): Uint8Array => {
      const big = new Uint8Array(bytes.length + 17).fill(0xa5)
      big.set(bytes, 9)
      return big.subarray(9, 9 + bytes.length)
    }
    expect(verifySignature(pad(alice.publicKey), pad(message), pad(signature))).toBe(true)
    const tampered = pad(signature)
    tampered[5]! ^= 1
    expect(verifySignature(pad(alice.publicKey), pad(message), tampered)).toBe(false)
  })

  // Rules that not every Ed25519 implementation enforces: canonical S (RFC 8032 requires it), no small-order key (beyond the RFC).
  const L = (1n << 252n) + 27742317777372353535851937790883648493n
  const littleEndian = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))

  it('refuses a small-order key: with the identity as key, R = identity and S = 0 would sign every message', () => {
    const identity = littleEndian(1n)
    const universal = new Uint8Array(64)
    universal.set(identity)
    // Node 20's OpenSSL 3.0 accepts this for any message (measured); Node 24's does not.
    for (const message of [text('anything'), text('anything else'), new Uint8Array(0)]) {
      expect(verifySignature(identity, message, universal)).toBe(false)
    }
  })

  it('refuses a non-canonical S (S + L signs the same message in another form)', () => {
    const message = text('malleable?')
    const signature = alice.sign(message)
    let s = 0n
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!)
    const malleated = signature.slice()
    malleated.set(littleEndian(s + L), 32)
    expect(verifySignature(alice.publicKey, message, signature)).toBe(true)
    expect(verifySignature(alice.publicKey, message, malleated)).toBe(false)
  })
})

describe('validation errors', () => {
  const expectError = (fn: () => unknown, cls: abstract new (...a: never[]) => Error, code: string): void => {
    let caught: unknown
    try {
      fn()
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(cls)
    expect((caught as { code: string }).code).toBe(code)
  }

  it('LOG_INVALID_SIGNATURE: signed by someone else, or tampered bytes', () => {
    const forged = signRaw(bob, baseFields(), text('hello'))
    expectError(() => validateOperation(forged, null), LogError, 'LOG_INVALID_SIGNATURE')
    const [op] = makeChain(alice, logId, 1)
    const bytes = op!.headerBytes.slice()
    bytes[bytes.length - 1]! ^= 0x01
    expectError(() => validateOperation(decodeOperation(bytes), null), LogError, 'LOG_INVALID_SIGNATURE')
  })

  it('LOG_INVALID_SIGNATURE for an operation just created by a signer whose key is not the one it claims', () => {
    // Only a seed signer's own operations skip the check; any other signer's are verified like received ones.
    const liar = { publicKey: bob.publicKey, sign: (m: Uint8Array) => alice.sign(m) }
    const op = createOperation({ signer: liar, logId, seq: 0, backlink: null, payload: text('hello') })
    expectError(() => validateOperation(op, null), LogError, 'LOG_INVALID_SIGNATURE')
    expect(() => validateOperation(createOperation({ signer: alice, logId, seq: 0, backlink: null, payload: text('hello') }), null)).not.toThrow()
  })

  it('LOG_WRONG_SEQ: not previous+1, or no previous at seq > 0 without prune flag', () => {
    const ops = makeChain(alice, logId, 3)
    expectError(() => validateOperation(ops[2]!, ops[0]), LogError, 'LOG_WRONG_SEQ')
    expectError(() => validateOperation(ops[2]!, null), LogError, 'LOG_WRONG_SEQ')
  })

  it('LOG_WRONG_BACKLINK: wrong hash, missing at seq > 0, present at seq 0, other log', () => {
    const ops = makeChain(alice, logId, 2)
    const wrongLink = signRaw(alice, baseFields({ seq: 1, backlink: new Uint8Array(32) }), text('hello'))
    expectError(() => validateOperation(wrongLink, ops[0]), LogError, 'LOG_WRONG_BACKLINK')
    const missing = signRaw(alice, baseFields({ seq: 1 }), text('hello'))
    expectError(() => validateOperation(missing, ops[0]), LogError, 'LOG_WRONG_BACKLINK')
    const atZero = signRaw(alice, baseFields({ backlink: ops[0]!.hash }), text('hello'))
    expectError(() => validateOperation(atZero, null), LogError, 'LOG_WRONG_BACKLINK')
    const otherLog = makeChain(alice, testLogId(8), 1)[0]!
    expectError(() => validateOperation(ops[1]!, otherLog), LogError, 'LOG_WRONG_BACKLINK')
  })

  it('LOG_PAYLOAD_HASH_MISMATCH and LOG_PAYLOAD_SIZE_MISMATCH', () => {
    const [op] = makeChain(alice, logId, 1, 8)
    const sameLength = new Uint8Array(8).fill(0xaa)
    expectError(() => validateOperation(decodeOperation(op!.headerBytes, sameLength), null), LogError, 'LOG_PAYLOAD_HASH_MISMATCH')
    expectError(() => validateOperation(decodeOperation(op!.headerBytes, new Uint8Array(9)), null), LogError, 'LOG_PAYLOAD_SIZE_MISMATCH')
    // Without the payload (deleted) the header still validates.
    validateOperation(decodeOperation(op!.headerBytes), null)
  })

  it('LOG_UNKNOWN_VERSION', () => {
    const v2 = encodeCanonical([2, new Uint8Array(32)])
    expectError(() => decodeHeader(v2), LogError, 'LOG_UNKNOWN_VERSION')
  })

  it('LOG_OVERSIZE for header, declared payload and actual payload', () => {
    const [op] = makeChain(alice, logId, 1, 100)
    expectError(() => decodeHeader(op!.headerBytes, { maxHeaderBytes: 50, maxPayloadBytes: 1000 }), LogError, 'LOG_OVERSIZE')
    expectError(() => decodeHeader(op!.headerBytes, { maxHeaderBytes: 4096, maxPayloadBytes: 99 }), LogError, 'LOG_OVERSIZE')
    expectError(() => decodeOperation(op!.headerBytes, new Uint8Array(2000), { maxHeaderBytes: 4096, maxPayloadBytes: 1000 }), LogError, 'LOG_OVERSIZE')
  })

  it('LOG_MALFORMED for wrong types, lengths, trailing bytes and inconsistent payload info', () => {
    const [op] = makeChain(alice, logId, 1)
    const fields = decodeCanonical(op!.headerBytes) as unknown[]
    const variants: unknown[][] = [
      fields.slice(0, 8),
      [...fields, 0],
      fields.map((f, i) => (i === 1 ? new Uint8Array(31) : f)),
      fields.map((f, i) => (i === 2 ? new Uint8Array(0) : f)),
      fields.map((f, i) => (i === 2 ? new Uint8Array(65) : f)),
      fields.map((f, i) => (i === 3 ? -1 : f)),
      fields.map((f, i) => (i === 3 ? 'one' : f)),
      fields.map((f, i) => (i === 4 ? new Uint8Array(31) : f)),
      fields.map((f, i) => (i === 5 ? null : f)),
      fields.map((f, i) => (i === 6 ? 0 : f)),
      fields.map((f, i) => (i === 7 ? [] : f)),
      fields.map((f, i) => (i === 7 ? new Map([['prune', 1]]) : f)),
      fields.map((f, i) => (i === 7 ? new Map([['ts', -5]]) : f)),
      fields.map((f, i) => (i === 8 ? new Uint8Array(63) : f)),
    ]
    for (const v of variants) {
      expectError(() => decodeHeader(referenceEncode(v as never)), LogError, 'LOG_MALFORMED')
    }
    expectError(() => decodeHeader(Uint8Array.from([...op!.headerBytes, 0])), LogError, 'LOG_MALFORMED')
    expectError(() => decodeHeader(op!.headerBytes.subarray(0, 50)), LogError, 'LOG_MALFORMED')
    expectError(() => decodeHeader(Buffer.from('c11a00000001', 'hex')), LogError, 'LOG_MALFORMED')
    expectError(() => decodeHeader(Buffer.from('f93e00', 'hex')), LogError, 'LOG_MALFORMED')
    expectError(() => decodeHeader(Buffer.from('d81c81d81d00', 'hex')), LogError, 'LOG_MALFORMED')
    expectError(() => createOperation({ signer: alice, logId: new Uint8Array(0), seq: 0, backlink: null }), LogError, 'LOG_MALFORMED')
    expectError(() => createOperation({ signer: alice, logId, seq: 0.5, backlink: null }), LogError, 'LOG_MALFORMED')
    expectError(() => createOperation({ signer: alice, logId, seq: 0, backlink: null, extensions: { f: 1.5 } }), LogError, 'LOG_MALFORMED')
  })

  it('LOG_MALFORMED, not LOG_NON_CANONICAL, for indefinite lengths and integral floats: they are outside the subset', () => {
    const [op] = makeChain(alice, logId, 1)
    const hex = Buffer.from(op!.headerBytes).toString('hex')
    expect(hex.startsWith('8901')).toBe(true)
    for (const v of ['9f' + hex.slice(2) + 'ff', '89f93c00' + hex.slice(4)]) {
      expectError(() => decodeHeader(Buffer.from(v, 'hex')), LogError, 'LOG_MALFORMED')
    }
  })

  it('LOG_NON_CANONICAL for non-shortest heads, unsorted and repeated keys', () => {
    const [op] = makeChain(alice, logId, 1)
    const hex = Buffer.from(op!.headerBytes).toString('hex')
    expectError(() => decodeHeader(Buffer.from('891801' + hex.slice(4), 'hex')), LogError, 'LOG_NON_CANONICAL')
    const fields = decodeCanonical(op!.headerBytes) as unknown[]
    const unsorted = fields.map((f, i) => (i === 7 ? new Map<string, number>([['zz', 1], ['a', 2]]) : f))
    expectError(() => decodeHeader(referenceEncode(unsorted as never, { sortKeys: false })), LogError, 'LOG_NON_CANONICAL')
    // The empty extensions map (a0, just before 58 40 and the signature) becomes {"a": 1, "a": 2}.
    expect(hex.slice(-2 * 67, -2 * 66)).toBe('a0')
    const repeated = hex.slice(0, -2 * 67) + 'a2616101616102' + hex.slice(-2 * 66)
    expectError(() => decodeHeader(Buffer.from(repeated, 'hex')), LogError, 'LOG_NON_CANONICAL')
    // The same map sorted is canonical (and then only the signature is wrong).
    expect(() => decodeHeader(referenceEncode(unsorted as never))).not.toThrow()
  })
})

describe('canonical encoder', () => {
  it('shortest integer heads at every boundary', () => {
    for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -24, -25, -(2 ** 32), -(2 ** 32) - 1]) {
      expect(Buffer.from(encodeCanonical(n)).toString('hex')).toBe(Buffer.from(referenceEncode(n)).toString('hex'))
      expect(decodeCanonical(encodeCanonical(n))).toBe(n)
    }
  })
})

