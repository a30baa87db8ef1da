import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/index.js'
import { prng } from '../fixtures/log-fixtures.js'

const CHILD = fileURLToPath(new URL('../fixtures/store-crash-child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BATCH_SIZE = 240 // store-crash-child: LOGS * OPS_PER_LOG
const ITERATIONS = 24

const dir = mkdtempSync(join(tmpdir(), 'burrow-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts the child, waits for "ready", lets it write for `delayMs`, SIGKILLs it. Returns its stdout. */
function runAndKill(dbPath: string, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dbPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (killTimer === undefined && out.includes('ready\n')) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(guard)
      clearTimeout(killTimer)
      if (signal === 'SIGKILL') resolve(out)
      else reject(new Error(`child exited with ${code}: ${err}`))
    })
  })
}

describe('store crash safety', () => {
  it(`SIGKILL during batch ingest keeps whole batches only (${ITERATIONS} kills)`, { timeout: 170_000 }, async () => {
    const dbPath = join(dir, 'crash.db')
    const rand = prng(2026)
    let previousTotal = 0
    let committedBatchesSeen = 0
    for (let i = 0; i < ITERATIONS; i++) {
      const out = await runAndKill(dbPath, Math.floor(rand() * 400))
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
