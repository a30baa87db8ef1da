import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, type Operation } from './types.js'
import { signingInputOf } from './header.js'
import { markSignatureVerified } from './validate.js'

/**
 * The worker's whole program (plain CommonJS, evaluated by `Worker` with
 * `eval: true`, so it runs the same under tsx, vitest and the built
 * package). A job is one buffer of records `author (32) | signature (64) |
 * length (u32 LE) | signing input`; the answer is one byte per record, 1
 * where libsodium accepts the signature.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
parentPort.on('message', ({ id, buffer, count }) => {
  const bytes = new Uint8Array(buffer)
  const view = new DataView(buffer)
  const ok = new Uint8Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const author = bytes.subarray(at, at + ${PUBLIC_KEY_LENGTH})
    const signature = bytes.subarray(at + ${PUBLIC_KEY_LENGTH}, at + ${PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH})
    const length = view.getUint32(at + ${PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH}, true)
    at += ${PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH + 4}
    ok[i] = sodium.crypto_sign_verify_detached(signature, bytes.subarray(at, at + length), author) ? 1 : 0
    at += length
  }
  parentPort.postMessage({ id, ok }, [ok.buffer])
})
`

const RECORD_OVERHEAD = PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH + 4

/** Options of a {@link VerifierPool}. */
export interface VerifierPoolOptions {
  /**
   * Worker threads. Default: the cores less one (at least one), since the
   * main thread decodes and stores what the workers verify: on 2 cores, one
   * worker and the main thread each keep a core busy.
   */
  readonly threads?: number
  /** Batches smaller than this are left to `validateOperation` on the caller's thread (a round trip to a worker costs more than a few checks). Default 16. */
  readonly minBatch?: number
  /** Jobs waiting for or running on the workers; a batch beyond it is left to the caller's thread. Default 32. */
  readonly maxQueuedJobs?: number
  /** Workers with nothing to do for this long are stopped (each holds a V8 isolate: several MB). Default 30 s. */
  readonly idleMs?: number
}

interface Job {
  readonly id: number
  readonly ops: readonly Operation[]
  readonly buffer: ArrayBuffer
  readonly done: () => void
}

interface Slot {
  readonly worker: Worker
  /** Jobs sent to this worker, answered in order. */
  readonly running: Map<number, Job>
}

/**
 * Ed25519 verification of batches of operations on worker threads, with
 * libsodium (the same check as `verifySignature`).
 *
 * `verify` marks each operation whose signature verified; `validateOperation`
 * then skips only that check, and still applies every other rule in order.
 * An operation left unmarked (a bad signature, a small batch, a full queue,
 * a closed pool, a worker that failed) is verified by `validateOperation` as
 * before, so what a batch yields, its typed per-operation errors and the
 * order of storing are exactly those of the single-threaded path: the pool
 * can only make that path faster, never change its answer.
 *
 * Workers start with the first batch large enough and stop when idle for
 * {@link VerifierPoolOptions.idleMs} or at {@link VerifierPool.close}.
 */
export class VerifierPool {
  readonly #threads: number
  readonly #minBatch: number
  readonly #maxQueuedJobs: number
  readonly #idleMs: number
  readonly #slots: Slot[] = []
  #nextId = 0
  #pending = 0
  #closed = false
  #idleTimer: NodeJS.Timeout | undefined
  #nextSlot = 0

  constructor(options: VerifierPoolOptions = {}) {
    this.#threads = Math.max(1, options.threads ?? availableParallelism() - 1)
    this.#minBatch = Math.max(1, options.minBatch ?? 16)
    this.#maxQueuedJobs = Math.max(1, options.maxQueuedJobs ?? 32)
    this.#idleMs = options.idleMs ?? 30_000
  }

  /** Worker threads running now. */
  get running(): number {
    return this.#slots.length
  }

  /** Jobs sent to the workers and not answered yet. */
  get pending(): number {
    return this.#pending
  }

  /**
   * Verifies the signatures of `ops` on the workers and marks those that
   * verify. Never rejects: whatever it did not mark is checked on the
   * caller's thread when validated. Resolves once every job of the batch is
   * answered (or abandoned).
   */
  async verify(ops: readonly Operation[]): Promise<void> {
    if (this.#closed || ops.length < this.#minBatch) return
    const parts = Math.max(1, Math.min(this.#threads, Math.floor(ops.length / this.#minBatch)))
    const size = Math.ceil(ops.length / parts)
    const jobs: Promise<void>[] = []
    for (let at = 0; at < ops.length; at += size) {
      if (this.#pending >= this.#maxQueuedJobs) break
      jobs.push(this.#submit(ops.slice(at, at + size)))
    }
    await Promise.all(jobs)
  }

  /** Stops the workers; jobs not answered yet are abandoned (their operations stay unmarked). */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#idleTimer)
    await Promise.all(this.#slots.splice(0).map((slot) => this.#stop(slot)))
  }

  #submit(part: readonly Operation[]): Promise<void> {
    // Only operations libsodium can take; any other is refused on the caller's thread.
    const ops = part.filter((op) => op.header.author.length === PUBLIC_KEY_LENGTH && op.header.signature.length === SIGNATURE_LENGTH)
    if (ops.length === 0) return Promise.resolve()
    const slot = this.#slot()
    const buffer = pack(ops)
    return new Promise((resolve) => {
      const id = this.#nextId++
      this.#pending++
      clearTimeout(this.#idleTimer)
      slot.running.set(id, {
        id,
        ops,
        buffer,
        done: () => {
          this.#pending--
          if (this.#pending === 0 && !this.#closed) this.#idleSoon()
          resolve()
        },
      })
      // Held while it has work, so that a process waiting for an answer does not exit; idle, it keeps nothing alive.
      slot.worker.ref()
      slot.worker.postMessage({ id, buffer, count: ops.length }, [buffer])
    })
  }

  /** The next worker in turn, started if fewer than the pool's threads run. */
  #slot(): Slot {
    if (this.#slots.length < this.#threads) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath: SODIUM_PATH } })
      worker.unref()
      const slot: Slot = { worker, running: new Map() }
      worker.on('message', ({ id, ok }: { id: number; ok: Uint8Array }) => {
        const job = slot.running.get(id)
        if (job === undefined) return
        slot.running.delete(id)
        if (slot.running.size === 0) worker.unref()
        for (let i = 0; i < job.ops.length; i++) if (ok[i] === 1) markSignatureVerified(job.ops[i]!)
        job.done()
      })
      // A worker that fails drops out; its jobs are left to the caller's thread.
      const fail = (): void => {
        const index = this.#slots.indexOf(slot)
        if (index !== -1) this.#slots.splice(index, 1)
        this.#abandon(slot)
      }
      worker.on('error', fail)
      worker.on('exit', fail)
      this.#slots.push(slot)
      return slot
    }
    return this.#slots[this.#nextSlot++ % this.#slots.length]!
  }

  #abandon(slot: Slot): void {
    for (const job of slot.running.values()) job.done()
    slot.running.clear()
  }

  async #stop(slot: Slot): Promise<void> {
    this.#abandon(slot)
    await slot.worker.terminate()
  }

  #idleSoon(): void {
    clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      if (this.#pending === 0) void Promise.all(this.#slots.splice(0).map((slot) => this.#stop(slot)))
    }, this.#idleMs)
    this.#idleTimer.unref()
  }
}

const SODIUM_PATH = createRequire(import.meta.url).resolve('sodium-native')

/** One job's records: what libsodium needs per operation, copied into a buffer the worker takes over. */
function pack(ops: readonly Operation[]): ArrayBuffer {
  const inputs = ops.map((op) => signingInputOf(op.headerBytes))
  const buffer = new ArrayBuffer(inputs.reduce((sum, input) => sum + RECORD_OVERHEAD + input.length, 0))
  const bytes = new Uint8Array(buffer)
  const view = new DataView(buffer)
  let at = 0
  for (let i = 0; i < ops.length; i++) {
    const { author, signature } = ops[i]!.header
    const input = inputs[i]!
    bytes.set(author, at)
    bytes.set(signature, at + PUBLIC_KEY_LENGTH)
    view.setUint32(at + PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH, input.length, true)
    at += RECORD_OVERHEAD
    bytes.set(input, at)
    at += input.length
  }
  return buffer
}
