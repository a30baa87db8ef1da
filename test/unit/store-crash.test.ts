import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/index.js'
import { prng } from '../fixtures/log-fixtures.js'
import { runUntilKilled } from '../helpers/child.js'

const CHILD = fileURLToPath(new URL('../fixtures/store-crash-child.ts', import.meta.url))
const BATCH_SIZE = 240 // store-crash-child: LOGS * OPS_PER_LOG
const ITERATIONS = 24

const dir = mkdtempSync(join(tmpdir(), 'burrow-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('store crash safety', () => {
  it(`SIGKILL during batch ingest keeps whole batches only (${ITERATIONS} kills)`, { timeout: 170_000 }, async () => {
    const dbPath = join(dir, 'crash.db')
    const rand = prng(2026)
    let previousTotal = 0
    let committedBatchesSeen = 0
    for (let i = 0; i < ITERATIONS; i++) {
      const out = (await runUntilKilled(['--import', 'tsx', CHILD, dbPath], Math.floor(rand() * 400), 30_000)).join('\n')
      committedBatchesSeen += out.split('\n').filter((l) => l.startsWith('batch ')).length
      const db = openDatabase(dbPath)
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        const total = (db.prepare('SELECT COUNT(*) AS n FROM log_operations').get() as { n: number }).n
        expect(total % BATCH_SIZE).toBe(0)
        expect(total).toBeGreaterThanOrEqual(previousTotal)
        previousTotal = total
        const logs = db.prepare('SELECT log_id, author, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM log_operations GROUP BY log_id, author').all() as { n: number; lo: number; hi: number }[]
        for (const log of logs) {
          // Gap-free prefix, and every log advanced by the same whole batches.
          expect(log.lo).toBe(0)
          expect(log.hi).toBe(log.n - 1)
          expect(log.n).toBe(total / logs.length)
        }
      } finally {
        db.close()
      }
    }
    // The kills must have landed while the child was writing, not only before it started.
    expect(committedBatchesSeen).toBeGreaterThan(0)
    expect(previousTotal).toBeGreaterThan(0)
  })
})
