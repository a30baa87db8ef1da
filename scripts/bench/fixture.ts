/**
 * Large stores for the scale benchmarks, built once per run: signed
 * operations of many authors in one log, signed in parallel on worker threads
 * (one per core) and written by the main thread in one transaction.
 *
 * Rows are inserted with plain SQL, not through `LogStore.ingest`: these are
 * our own freshly signed chains, and validating them again would only add the
 * verification the fixture exists to feed to the measured steps. Every
 * signature is real: a peer that receives them validates each one.
 */
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { createOperation, isPrunePoint, seedSigner, type Operation } from '../../src/log/index.js'
import { openDatabase } from '../../src/store/index.js'

/** What {@link buildFixture} writes. */
export interface FixtureSpec {
  /** Database file; created (migrated) if missing. */
  readonly path: string
  readonly logId: Uint8Array
  readonly authors: number
  readonly perAuthor: number
  readonly payloadBytes: number
}

/** How long building took, and what it wrote. */
export interface FixtureBuild {
  readonly operations: number
  /** Headers and payloads, as a catch-up carries them. */
  readonly wireBytes: number
  readonly seconds: number
  readonly signThreads: number
}

interface Rows {
  readonly author: number
  readonly ops: { hash: Uint8Array; header: Uint8Array; payload: Uint8Array; seq: number; prune: boolean }[]
}

// A worker does not inherit tsx's loader: it registers it, then runs this module.
const WORKER_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`

/** The signer of author `i` of a fixture: the same keys in every run. */
function authorSeed(i: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`burrow-bench-author-${i}`).digest())
}

function chain(author: number, spec: Omit<FixtureSpec, 'path'>): Operation[] {
  const signer = seedSigner(authorSeed(author))
  const ops: Operation[] = []
  for (let seq = 0; seq < spec.perAuthor; seq++) {
    const payload = new Uint8Array(spec.payloadBytes).fill((author + seq) & 0xff)
    ops.push(createOperation({ signer, logId: spec.logId, seq, backlink: seq === 0 ? null : ops[seq - 1]!.hash, payload, extensions: { ts: 1_700_000_000_000 + seq } }))
  }
  return ops
}

/** Signs every author's chain on worker threads and inserts them in one transaction. */
export async function buildFixture(spec: FixtureSpec): Promise<FixtureBuild> {
  const started = process.hrtime.bigint()
  const db = openDatabase(spec.path)
  const insert = db.prepare(
    'INSERT INTO log_operations (hash, log_id, author, seq, header, payload_size, payload, prune_point) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const threads = availableParallelism()
  const { logId, authors, perAuthor, payloadBytes } = spec
  let wireBytes = 0
  let operations = 0
  try {
    db.exec('BEGIN IMMEDIATE')
    await Promise.all(
      Array.from({ length: threads }, (_, index) => new Promise<void>((resolve, reject) => {
        const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: { index, threads, logId, authors, perAuthor, payloadBytes } })
        worker.on('message', (rows: Rows) => {
          const author = seedSigner(authorSeed(rows.author)).publicKey
          for (const op of rows.ops) {
            insert.run(op.hash, logId, author, op.seq, op.header, op.payload.length, op.payload, op.prune ? 1 : 0)
            wireBytes += op.header.length + op.payload.length
          }
          operations += rows.ops.length
        })
        worker.once('error', reject)
        worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fixture worker exited with ${code}`))))
      })),
    )
    db.exec('COMMIT')
    db.pragma('wal_checkpoint(TRUNCATE)')
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK')
    throw err
  } finally {
    db.close()
  }
  return { operations, wireBytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, signThreads: threads }
}

if (!isMainThread && parentPort !== null && (workerData as { perAuthor?: number }).perAuthor !== undefined) {
  const { index, threads, ...spec } = workerData as { index: number; threads: number } & Omit<FixtureSpec, 'path'>
  for (let author = index; author < spec.authors; author += threads) {
    const rows: Rows = {
      author,
      ops: chain(author, spec).map((op) => ({ hash: op.hash, header: op.headerBytes, payload: op.payload!, seq: op.header.seq, prune: isPrunePoint(op.header) })),
    }
    parentPort.postMessage(rows)
  }
}
