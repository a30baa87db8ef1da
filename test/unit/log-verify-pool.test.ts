import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { VerifierPool, decodeOperation, toHex, type Operation } from '../../src/log/index.js'
import type { IngestResult } from '../../src/store/index.js'
import { TestAuthor, tempStore } from '../helpers/logs.js'

/** Operations as a peer would send them: decoded afresh from bytes, so no mark of an earlier check carries over. */
function fromWire(ops: readonly Operation[], forgeAt: readonly number[] = []): Operation[] {
  return ops.map((op, i) => {
    const header = op.headerBytes.slice()
    if (forgeAt.includes(i)) header[header.length - 1]! ^= 0xff // the signature's last byte
    return decodeOperation(header, op.payload)
  })
}

/** Three authors' logs interleaved, as a catch-up of several authors arrives. */
function interleaved(perAuthor: number): Operation[] {
  const log = randomBytes(32)
  const chains = [new TestAuthor(), new TestAuthor(), new TestAuthor()].map((a) => a.many(log, perAuthor))
  return chains[0]!.flatMap((_, i) => chains.map((c) => c[i]!))
}

function summary(result: IngestResult): { stored: number; duplicates: number; rejected: [string, string][] } {
  return {
    stored: result.stored,
    duplicates: result.duplicates,
    rejected: result.rejected.map((r) => [toHex(r.operation.hash), r.error.code]),
  }
}

const pools: VerifierPool[] = []
function pool(options?: ConstructorParameters<typeof VerifierPool>[0]): VerifierPool {
  const p = new VerifierPool(options)
  pools.push(p)
  return p
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
})

describe('VerifierPool', () => {
  it('a bad signature in a parallel batch gets its own typed rejection, with the same result and order as without the pool', async () => {
    const ops = interleaved(100)
    const forged = [40, 41, 249] // two authors at seq 13 (40, 41), the third at seq 83 (249)
    const verifier = pool({ threads: 2 })
    const pooled = fromWire(ops, forged)
    await verifier.verify(pooled)
    expect(verifier.running).toBe(2)
    expect(verifier.pending).toBe(0)

    const withPool = tempStore()
    const withoutPool = tempStore()
    try {
      const a = withPool.store.ingest(pooled)
      const b = withoutPool.store.ingest(fromWire(ops, forged))
      expect(summary(a)).toEqual(summary(b))
      // The forged ones are refused for their signature, what follows them in their log for lack of a predecessor.
      expect(a.rejected.filter((r) => r.error.code === 'LOG_INVALID_SIGNATURE').map((r) => toHex(r.operation.hash))).toEqual(forged.map((i) => toHex(pooled[i]!.hash)))
      expect(new Set(a.rejected.filter((r) => r.error.code !== 'LOG_INVALID_SIGNATURE').map((r) => r.error.code))).toEqual(new Set(['LOG_WRONG_SEQ']))
      expect(a.stored).toBe(13 + 13 + 83)
      // Stored in order: each log holds exactly its prefix before the forgery.
      expect([...withPool.store.heights(ops[0]!.header.logId).values()].sort((x, y) => x - y)).toEqual([12, 12, 82])
    } finally {
      withPool.close()
      withoutPool.close()
    }
  })

  it('marks nothing it did not check: a small batch stays on the caller\'s thread and starts no worker', async () => {
    const verifier = pool({ minBatch: 16 })
    const ops = fromWire(new TestAuthor().many(randomBytes(32), 15), [3])
    await verifier.verify(ops)
    expect(verifier.running).toBe(0)
    const { store, close } = tempStore()
    try {
      const result = store.ingest(ops)
      expect(result.stored).toBe(3)
      expect(result.rejected[0]).toMatchObject({ error: { code: 'LOG_INVALID_SIGNATURE' } })
    } finally {
      close()
    }
  })

  it('bounds its queue: a batch beyond it is left to the caller\'s thread, still checked', async () => {
    const verifier = pool({ threads: 1, maxQueuedJobs: 1 })
    const first = fromWire(interleaved(50))
    const second = fromWire(interleaved(50), [7])
    const both = Promise.all([verifier.verify(first), verifier.verify(second)])
    expect(verifier.pending).toBe(1)
    await both
    const { store, close } = tempStore()
    try {
      expect(store.ingest(first).stored).toBe(150)
      const result = store.ingest(second)
      expect(result.rejected[0]).toMatchObject({ operation: second[7], error: { code: 'LOG_INVALID_SIGNATURE' } })
    } finally {
      close()
    }
  })

  it('close stops the workers, settles what was in flight, and leaves later batches to the caller\'s thread', async () => {
    const verifier = pool({ threads: 2 })
    const ops = fromWire(interleaved(200), [100])
    const inFlight = verifier.verify(ops)
    expect(verifier.running).toBe(2)
    await verifier.close()
    await inFlight
    expect(verifier.running).toBe(0)
    expect(verifier.pending).toBe(0)
    const later = fromWire(interleaved(20), [5])
    await verifier.verify(later)
    expect(verifier.running).toBe(0)
    const { store, close } = tempStore()
    try {
      // Whatever the workers had not answered is checked now: the forged one is still refused.
      const result = store.ingest(ops)
      expect(result.rejected[0]).toMatchObject({ operation: ops[100], error: { code: 'LOG_INVALID_SIGNATURE' } })
      expect(store.ingest(later).rejected[0]).toMatchObject({ operation: later[5], error: { code: 'LOG_INVALID_SIGNATURE' } })
    } finally {
      close()
    }
  })

  it('stops idle workers and starts them again for the next batch', async () => {
    const verifier = pool({ threads: 1, idleMs: 50 })
    await verifier.verify(fromWire(interleaved(10)))
    expect(verifier.running).toBe(1)
    const deadline = Date.now() + 5_000
    while (verifier.running > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(verifier.running).toBe(0)
    await verifier.verify(fromWire(interleaved(10)))
    expect(verifier.running).toBe(1)
  })
})
