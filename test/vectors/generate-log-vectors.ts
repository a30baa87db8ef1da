/**
 * Regenerates log-operations.json: `npx tsx test/vectors/generate-log-vectors.ts`.
 * Only needed when the format changes on purpose; the test then fails until
 * the new vectors are reviewed and committed.
 */
import { writeFileSync } from 'node:fs'
import { createOperation, encodeUnsignedHeader, seedSigner, toHex, type ExtensionValue } from '../../src/log/index.js'

interface VectorInput {
  name: string
  seed: string
  logId: string
  seq: number
  backlinkFrom: number | null
  payload: string | null
  extensions: Record<string, boolean | number | string>
}

const inputs: VectorInput[] = [
  { name: 'first operation with payload and ts', seed: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', logId: '42'.repeat(32), seq: 0, backlinkFrom: null, payload: '68656c6c6f20627572726f77', extensions: { ts: 1_700_000_000_000 } },
  { name: 'second operation, no payload, prune and epoch', seed: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', logId: '42'.repeat(32), seq: 1, backlinkFrom: 0, payload: null, extensions: { prune: true, epoch: 7 } },
  { name: 'one-byte log id, one-byte payload, unknown extension key', seed: 'ff'.repeat(32), logId: '00', seq: 0, backlinkFrom: null, payload: '00', extensions: { 'x-burrow-test': 'é' } },
]

const outputs: Record<string, unknown>[] = []
const hashes: Uint8Array[] = []
for (const v of inputs) {
  const signer = seedSigner(Buffer.from(v.seed, 'hex'))
  const op = createOperation({
    signer,
    logId: Buffer.from(v.logId, 'hex'),
    seq: v.seq,
    backlink: v.backlinkFrom === null ? null : hashes[v.backlinkFrom]!,
    payload: v.payload === null ? undefined : Buffer.from(v.payload, 'hex'),
    extensions: v.extensions as Record<string, ExtensionValue>,
  })
  hashes.push(op.hash)
  outputs.push({
    ...v,
    publicKey: toHex(signer.publicKey),
    backlink: op.header.backlink === null ? null : toHex(op.header.backlink),
    payloadHash: op.header.payloadHash === null ? null : toHex(op.header.payloadHash),
    signingInput: toHex(encodeUnsignedHeader(op.header)),
    signature: toHex(op.header.signature),
    header: toHex(op.headerBytes),
    hash: toHex(op.hash),
  })
}
const file = new URL('./log-operations.json', import.meta.url)
writeFileSync(file, JSON.stringify({ format: 'burrow log header v1', hash: 'sha-256', vectors: outputs }, null, 2) + '\n')
