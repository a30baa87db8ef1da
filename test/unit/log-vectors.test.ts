import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createOperation, decodeOperation, seedSigner, toHex, validateOperation, type ExtensionValue } from '../../src/log/index.js'

interface Vector {
  name: string
  seed: string
  logId: string
  seq: number
  backlinkFrom: number | null
  payload: string | null
  extensions: Record<string, ExtensionValue>
  publicKey: string
  backlink: string | null
  payloadHash: string | null
  signingInput: string
  signature: string
  header: string
  hash: string
}

const { vectors } = JSON.parse(readFileSync(new URL('../vectors/log-operations.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
const hex = (s: string): Buffer => Buffer.from(s, 'hex')

describe('known-answer vectors', () => {
  it('are present', () => expect(vectors.length).toBeGreaterThanOrEqual(3))

  for (const v of vectors) {
    it(`${v.name}: independent checks (SHA-256, @noble Ed25519, byte layout)`, () => {
      expect(createHash('sha256').update(hex(v.header)).digest('hex')).toBe(v.hash)
      if (v.payload !== null) expect(createHash('sha256').update(hex(v.payload)).digest('hex')).toBe(v.payloadHash)
      expect(toHex(ed25519.getPublicKey(hex(v.seed)))).toBe(v.publicKey)
      expect(ed25519.verify(hex(v.signature), hex(v.signingInput), hex(v.publicKey))).toBe(true)
      // Signed header = 0x89 ‖ unsigned fields ‖ 0x5840 ‖ signature; signing input = 0x88 ‖ the same fields.
      expect(v.header).toBe('89' + v.signingInput.slice(2) + '5840' + v.signature)
      expect(v.signingInput.startsWith('8801' + '5820' + v.publicKey)).toBe(true)
    })

    it(`${v.name}: this implementation reproduces and accepts it`, () => {
      const op = createOperation({
        signer: seedSigner(hex(v.seed)),
        logId: hex(v.logId),
        seq: v.seq,
        backlink: v.backlink === null ? null : hex(v.backlink),
        payload: v.payload === null ? undefined : hex(v.payload),
        extensions: v.extensions,
      })
      expect(toHex(op.headerBytes)).toBe(v.header)
      expect(toHex(op.hash)).toBe(v.hash)
      const decoded = decodeOperation(hex(v.header), v.payload === null ? undefined : hex(v.payload))
      validateOperation(decoded)
      expect(decoded.header.seq).toBe(v.seq)
    })
  }
})
