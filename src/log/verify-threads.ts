import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { SPKI_PREFIX_HEX } from './ed25519.js'

/** One signature to check: what {@link verifySignature} takes. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

// Plain CommonJS (what an eval worker runs), so that the same thread starts
// under tsx, vitest and the compiled package. It answers exactly as
// verifySignature does; a key that is not a valid point gives false.
// On Linux the nice value belongs to each thread, so 19 lowers only this one:
// signature checks then take the CPU that tor and the node's I/O leave free.
// Elsewhere setPriority would renice the whole process, so it is left alone.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createPublicKey, verify } = require('node:crypto')
if (process.platform === 'linux') { try { require('node:os').setPriority(19) } catch {} }
const spki = Buffer.from('${SPKI_PREFIX_HEX}', 'hex')
const keys = new Map()
function keyOf(publicKey) {
  const id = Buffer.from(publicKey).toString('hex')
  let key = keys.get(id)
  if (key !== undefined) return key
  try { key = createPublicKey({ key: Buffer.concat([spki, publicKey]), format: 'der', type: 'spki' }) } catch { key = null }
  if (keys.size >= 4096) keys.delete(keys.keys().next().value)
  keys.set(id, key)
  return key
}
parentPort.on('message', ({ id, checks }) => {
  const valid = checks.map(({ publicKey, message, signature }) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    const key = keyOf(publicKey)
    if (key === null) return false
    try { return verify(null, message, key, signature) } catch { return false }
  })
  parentPort.postMessage({ id, valid })
})
`

/** Threads that failed to start or died, after which checks stay on the calling thread. */
const MAX_THREAD_FAILURES = 3

interface Job {
  readonly size: number
  readonly resolve: (valid: boolean[]) => void
}

interface Thread {
  readonly worker: Worker
  readonly jobs: Map<number, Job>
}

/**
 * A few low-priority threads that check Ed25519 signatures. They hold the
 * process open only while they have work. Should threads keep failing, every
 * check answers false: the caller then verifies on its own thread.
 */
class VerifyThreads {
  readonly #size: number
  readonly #threads: Thread[] = []
  #nextJob = 0
  #nextThread = 0
  #failures = 0

  constructor(size: number) {
    this.#size = size
  }

  /** Checks `checks` spread over the threads; `valid[i]` answers `checks[i]`. */
  async check(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (checks.length === 0) return []
    const threads = this.#ensureThreads()
    if (threads === 0) return checks.map(() => false)
    const per = Math.ceil(checks.length / threads)
    const parts: Promise<boolean[]>[] = []
    for (let i = 0; i < checks.length; i += per) parts.push(this.#send(checks.slice(i, i + per)))
    return (await Promise.all(parts)).flat()
  }

  #ensureThreads(): number {
    while (this.#threads.length < this.#size && this.#failures < MAX_THREAD_FAILURES) {
      try {
        this.#threads.push(this.#start())
      } catch {
        this.#failures++
      }
    }
    return this.#threads.length
  }

  #start(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true })
    const thread: Thread = { worker, jobs: new Map() }
    // Node refs a worker again when it comes online: unref it then too, or an
    // idle thread would keep the process from exiting.
    worker.unref()
    worker.once('online', () => {
      if (thread.jobs.size === 0) worker.unref()
    })
    worker.on('message', ({ id, valid }: { id: number; valid: boolean[] }) => {
      const job = thread.jobs.get(id)
      if (job === undefined) return
      thread.jobs.delete(id)
      if (thread.jobs.size === 0) worker.unref()
      job.resolve(valid)
    })
    const fail = (): void => {
      const index = this.#threads.indexOf(thread)
      if (index === -1) return
      this.#threads.splice(index, 1)
      this.#failures++
      // Unanswered checks count as not done: the caller verifies them itself.
      for (const job of thread.jobs.values()) job.resolve(new Array<boolean>(job.size).fill(false))
      thread.jobs.clear()
      void worker.terminate()
    }
    worker.on('error', fail)
    worker.on('exit', fail)
    return thread
  }

  #send(checks: SignatureCheck[]): Promise<boolean[]> {
    const thread = this.#threads[this.#nextThread++ % this.#threads.length]!
    const id = this.#nextJob++
    return new Promise((resolve) => {
      thread.jobs.set(id, { size: checks.length, resolve })
      thread.worker.ref()
      thread.worker.postMessage({ id, checks })
    })
  }
}

let threads: VerifyThreads | undefined

/**
 * Checks Ed25519 signatures on background threads of low priority (one per
 * core, at most four). Answers like {@link verifySignature}, except that a
 * check the threads could not do also answers false, so callers must treat
 * false as "not verified here", never as "invalid".
 */
export function verifyOnThreads(checks: readonly SignatureCheck[]): Promise<boolean[]> {
  threads ??= new VerifyThreads(Math.max(1, Math.min(availableParallelism(), 4)))
  return threads.check(checks)
}
