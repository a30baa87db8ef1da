/**
 * A benchmark peer in its own process: a net stack (tor, onion service,
 * libp2p, sync) driven over IPC, so that two nodes of a benchmark do not share
 * one CPU core and one event loop, as two real nodes would not.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ContactCard } from '../../src/keys/index.js'

type Request =
  | { op: 'start'; name: string; topic: Uint8Array; torLines: string[]; moreTopics?: Uint8Array[]; database?: string }
  | { op: 'allow'; card: ContactCard }
  | { op: 'append'; count: number; payloadBytes: number; topic?: Uint8Array }
  | { op: 'raw'; mode: 'echo' | 'source'; bytes: number }
  | { op: 'stream-source'; bytes: number }
  | { op: 'circuits'; action: 'mark' | 'busiest' }
  | { op: 'stop' }

interface Reply {
  id: number
  ok: boolean
  value?: unknown
  error?: string
}

/** The parent's handle on a peer process. */
export class PeerProcess {
  readonly #child: ChildProcess
  #next = 0
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

  private constructor(child: ChildProcess) {
    this.#child = child
    child.on('message', (m: Reply) => {
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if (m.ok) p.resolve(m.value)
      else p.reject(new Error(m.error))
    })
    child.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('peer process exited'))
      this.#pending.clear()
    })
  }

  static spawn(): PeerProcess {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new PeerProcess(child)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  call<T>(request: Request, timeoutMs = 300_000): Promise<T> {
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`peer process did not answer ${request.op} in ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.#child.send({ id, ...request })
    })
  }

  async stop(): Promise<void> {
    await this.call({ op: 'stop' }, 60_000).catch(() => {})
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL')
  }
}

async function child(): Promise<void> {
  const { startNetStack } = await import('../../test/helpers/net-stack.js')
  const { rawOnion } = await import('./onion-raw.js')
  const { serveSource } = await import('./libp2p-raw.js')
  const { CircuitWatch } = await import('./tor-circuits.js')
  let stack: Awaited<ReturnType<typeof startNetStack>> | undefined
  let circuits: Awaited<ReturnType<typeof CircuitWatch.start>> | undefined
  let topic: Uint8Array | undefined
  const handle = async (m: Request): Promise<unknown> => {
    switch (m.op) {
      case 'start':
        topic = m.topic
        stack = await startNetStack(m.name, [m.topic, ...(m.moreTopics ?? [])], { torLines: m.torLines, ...(m.database !== undefined ? { database: m.database } : {}) })
        stack.connector.stop()
        circuits = await CircuitWatch.start(stack.tor)
        return { card: stack.card, peerId: stack.peerId }
      case 'allow':
        await stack!.allow(m.card)
        return null
      case 'append':
        // The operations' encoded size (signed header and payload): what a catch-up of them carries.
        return stack!.append(m.topic ?? topic!, m.count, m.payloadBytes).reduce((sum, op) => sum + op.headerBytes.length + (op.payload?.length ?? 0), 0)
      case 'raw':
        return (await rawOnion(stack!.tor, m.mode, m.bytes)).address
      case 'stream-source':
        await serveSource(stack!.net.libp2p, m.bytes)
        return null
      case 'circuits':
        if (m.action === 'mark') return circuits!.mark()
        return circuits!.busiest() ?? null
      case 'stop':
        await circuits?.close()
        await stack?.stop()
        setImmediate(() => process.exit(0))
        return null
    }
  }
  process.on('message', (m: Request & { id: number }) => {
    handle(m).then(
      (value) => process.send!({ id: m.id, ok: true, value }),
      (err: unknown) => process.send!({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    )
  })
  process.on('disconnect', () => process.exit(0))
}

if (process.argv.includes('--child')) await child()
