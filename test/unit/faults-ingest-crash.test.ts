// A node catching up ingests large batches from a peer; it is SIGKILLed at
// random moments, many times. Extends store-crash.test.ts (fixed 240-op
// batches, fresh operations only) with what sync really does: batches of
// random size up to thousands of operations, six logs of three authors
// interleaved in one transaction, and a first batch after every restart that
// re-sends what is already stored. After each kill: the database is intact,
// every batch the child reported committed survived, at most the batch in
// flight was added unreported, and every log is a gap-free prefix of exactly
// the chain the child was writing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bytesEqual, type Hash } from '../../src/log/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { prng } from '../fixtures/log-fixtures.js'
import { INGEST_LOGS, bySoak, ingestPayload, runUntilKilled, type IngestConfig } from '../helpers/faults.js'

const KILLS = bySoak(20, 120)
const MAX_BATCH = 3_000
const OVERLAP = 200
/** Kill moments after "ready": a first batch of MAX_BATCH takes about 0.6 s to build and commit here. */
const MAX_DELAY_MS = 1_200

const dir = mkdtempSync(join(tmpdir(), 'burrow-faults-ingest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface LogShape {
  log_id: Buffer
  author: Buffer
  n: number
  lo: number
  hi: number
}

describe('ingest crash safety under SIGKILL', () => {
  it(`keeps whole batches and exact chain prefixes over ${KILLS} kills of a large interleaved ingest`, { timeout: bySoak(170_000, 900_000) }, async () => {
    const dbPath = join(dir, 'ingest.db')
    const configPath = join(dir, 'ingest.json')
    const rand = prng(4242)
    // What was verified so far, per log: later checks only read what is new.
    const verified: { seq: number; hash: Hash | null }[] = INGEST_LOGS.map(() => ({ seq: -1, hash: null }))
    let total = 0
    let reportedBatches = 0
    for (let kill = 0; kill < KILLS; kill++) {
      const config: IngestConfig = { dbPath, seed: 1_000 + kill, maxBatch: MAX_BATCH, overlap: OVERLAP }
      writeFileSync(configPath, JSON.stringify(config))
      const lines = await runUntilKilled('runIngester', configPath, Math.floor(rand() * MAX_DELAY_MS))
      const reported = lines.filter((l) => l.startsWith('batch ')).map((l) => Number(l.slice('batch '.length)))
      reportedBatches += reported.length
      const reportedStored = reported.reduce((a, b) => a + b, 0)

      const db = openDatabase(dbPath)
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        const store = new LogStore(db)
        const now = store.counts().operations
        // Durability: every batch announced after its commit is there; atomicity: at most one more batch (built before the kill, unannounced).
        expect(now - total).toBeGreaterThanOrEqual(reportedStored)
        expect(now - total - reportedStored).toBeLessThanOrEqual(MAX_BATCH)
        expect((now - total - reportedStored) % INGEST_LOGS.length).toBe(0)
        total = now

        const shapes = db.prepare('SELECT log_id, author, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM log_operations GROUP BY log_id, author').all() as LogShape[]
        for (const shape of shapes) {
          expect(shape.lo).toBe(0)
          expect(shape.hi).toBe(shape.n - 1)
        }
        // Every batch adds the same number of operations to each log.
        expect(new Set(shapes.map((s) => s.n)).size).toBeLessThanOrEqual(1)

        INGEST_LOGS.forEach(({ signer, logId }, i) => {
          const done = verified[i]!
          // The part verified before this kill is unchanged...
          if (done.hash !== null) expect(bytesEqual(store.operationsAfter(signer.publicKey, logId, done.seq - 1, 1)[0]!.hash, done.hash)).toBe(true)
          // ...and what was added continues exactly the chain the child was writing.
          for (const op of store.operationsAfter(signer.publicKey, logId, done.seq, Number.MAX_SAFE_INTEGER)) {
            expect(op.header.seq).toBe(done.seq + 1)
            expect(op.header.backlink === null ? null : Buffer.from(op.header.backlink)).toEqual(done.hash === null ? null : Buffer.from(done.hash))
            expect(Buffer.from(op.payload!)).toEqual(Buffer.from(ingestPayload(i, op.header.seq)))
            done.seq = op.header.seq
            done.hash = op.hash
          }
        })
      } finally {
        db.close()
      }
    }
    // The kills landed while batches were being written, not only before the child started.
    expect(reportedBatches).toBeGreaterThan(KILLS / 2)
    expect(total).toBeGreaterThan(KILLS * INGEST_LOGS.length)
    console.log(`[faults] ingest crash: ${KILLS} kills, ${reportedBatches} committed batches reported, ${total} operations stored`)
  })
})
