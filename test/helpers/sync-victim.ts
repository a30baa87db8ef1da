/**
 * A sync node in a child process, driven over IPC by a test, so that its
 * resident memory is its own (the test process also runs the attacking
 * stack). Start it with {@link startVictim}; it runs a {@link NetStack}
 * sharing one topic with every allow-listed peer.
 *
 * This module must not import vitest: the child runs it without the runner.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ContactCard } from '../../src/keys/index.js'
import { fromHex, toHex } from '../../src/log/index.js'
import { startNetStack, type NetStack } from './net-stack.js'

/** What the parent asks; every request gets exactly one reply. */
type Request =
  | { op: 'start'; torLines: string[]; topic: string }
  | { op: 'allow'; card: ContactCard }
  | { op: 'append'; count: number }
  | { op: 'operations' }
  | { op: 'heightOf'; author: string }
  | { op: 'lastError'; peer: string }
  | { op: 'sessions'; peer: string }
  | { op: 'memory' }
  | { op: 'markPeak' }
  | { op: 'stop' }

/** Resident and heap memory of the victim in MiB; `peakRss` since the last `markPeak` (sampled every 50 ms). */
export interface VictimMemory {
  rss: number
  heapUsed: number
  peakRss: number
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10

/** The parent's handle on a victim child. */
export interface Victim {
  readonly pid: number
  readonly card: ContactCard
  readonly peerId: string
  allow(card: ContactCard): Promise<void>
  /** Appends `count` operations to the victim's own log of the topic (offered to its peers). */
  append(count: number): Promise<void>
  operations(): Promise<number>
  /** The victim's height of `author` (hex) in the topic, or -1. */
  heightOf(author: string): Promise<number>
  /** How many sync sessions the victim holds with `peer`. */
  sessions(peer: string): Promise<number>
  /** The last error the victim recorded for `peer`, or undefined. */
  lastError(peer: string): Promise<{ code: string; message: string; at: number } | undefined>
  /** Runs a full garbage collection first, so that `heapUsed` is what is retained. */
  memory(): Promise<VictimMemory>
  /** Restarts the peak measurement of {@link memory}. */
  markPeak(): Promise<void>
  stop(): Promise<void>
}

const HELPER = fileURLToPath(import.meta.url)
/** A reply that does not come within this is a failure, not a hang. */
const REPLY_MS = 180_000

/** Starts a victim child on the private network given by `torLines`, sharing `topic`. */
export async function startVictim(torLines: string[], topic: Uint8Array): Promise<Victim> {
  const child = fork(HELPER, ['victim'], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`victim exited with ${code ?? signal}`))))
  exited.catch(() => {})
  const ask = <T>(request: Request): Promise<T> =>
    Promise.race([
      exited,
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`victim did not answer ${request.op}`)), REPLY_MS)
        child.once('message', (reply: { ok: boolean; value?: T; error?: string }) => {
          clearTimeout(timer)
          if (reply.ok) resolve(reply.value as T)
          else reject(new Error(`victim ${request.op}: ${reply.error}`))
        })
        child.send(request)
      }),
    ])
  // One request at a time: replies carry no id.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(request: Request): Promise<T> => {
    const next = chain.then(() => ask<T>(request))
    chain = next.catch(() => {})
    return next
  }
  const started = await serial<{ card: ContactCard; peerId: string }>({ op: 'start', torLines, topic: toHex(topic) })
  return {
    pid: child.pid!,
    card: started.card,
    peerId: started.peerId,
    allow: (card) => serial({ op: 'allow', card }),
    append: (count) => serial({ op: 'append', count }),
    operations: () => serial({ op: 'operations' }),
    heightOf: (author) => serial({ op: 'heightOf', author }),
    lastError: (peer) => serial({ op: 'lastError', peer }),
    sessions: (peer) => serial({ op: 'sessions', peer }),
    memory: () => serial({ op: 'memory' }),
    markPeak: () => serial({ op: 'markPeak' }),
    stop: async () => {
      await serial({ op: 'stop' }).catch(() => {})
      await stopChild(child)
    },
  }
}

/** Waits up to 10 s for our own child to exit, then SIGKILLs it (it is ours: we forked it). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await gone
  clearTimeout(timer)
}

/** The child's side: serves requests until `stop`. */
function serve(): void {
  let stack: NetStack | undefined
  let topic: Uint8Array | undefined
  let peak = 0
  setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50).unref()
  const gc = (globalThis as { gc?: () => void }).gc
  const handle = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case 'start':
        topic = fromHex(request.topic)
        stack = await startNetStack('victim', [topic], { torLines: request.torLines })
        return { card: stack.card, peerId: stack.peerId }
      case 'allow':
        return stack!.allow(request.card)
      case 'append':
        stack!.append(topic!, request.count)
        return undefined
      case 'operations':
        return stack!.logs.counts().operations
      case 'heightOf':
        return stack!.logs.heights(topic!).get(request.author) ?? -1
      case 'lastError': {
        const error = stack!.table.get(request.peer)?.lastError
        return error === undefined ? undefined : { code: error.code, message: error.message, at: error.at }
      }
      case 'sessions':
        return stack!.sync.sessionsWith(request.peer)
      case 'memory': {
        gc?.()
        const usage = process.memoryUsage()
        peak = Math.max(peak, usage.rss)
        return { rss: mib(usage.rss), heapUsed: mib(usage.heapUsed), peakRss: mib(peak) } satisfies VictimMemory
      }
      case 'markPeak':
        peak = process.memoryUsage().rss
        return undefined
      case 'stop':
        await stack?.stop()
        setTimeout(() => process.exit(0), 50)
        return undefined
    }
  }
  process.on('message', (request: Request) => {
    handle(request).then(
      (value) => process.send!({ ok: true, value }),
      (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    )
  })
}

if (process.argv[2] === 'victim' && process.send !== undefined) serve()
