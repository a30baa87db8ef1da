/**
 * A Burrow node in a child process, driven over IPC, so that a test can
 * freeze exactly that node and its tor (SIGSTOP) while the test process, its
 * other nodes and the network go on: a laptop's sleep. Start it with
 * {@link startBurrowChild}; the child records the node's events with their
 * wall-clock times, which the test compares with its own.
 *
 * This module must not import vitest: the child runs it without the runner.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { createLogger } from '../../src/logging.js'
import { Burrow, type BurrowEvents, type GroupSummary, type NodeStatus } from '../../src/node/index.js'

/** Events the child records (name, wall-clock time, and a short detail). */
const RECORDED = ['onion:reachable', 'node:recovering', 'tor:offline', 'tor:lost', 'peer:connected', 'peer:disconnected'] as const satisfies readonly (keyof BurrowEvents)[]

/** One recorded event. */
export interface ChildEvent {
  name: (typeof RECORDED)[number]
  at: number
  detail: unknown
}

/** Every message a node decrypted in a group, as a count and one digest: two nodes hold the same messages iff both are equal. */
export interface MessageDigest {
  count: number
  digest: string
  /** How many messages of each author (identity key, hex). */
  byAuthor: Record<string, number>
}

/** The messages of `group` at `node`, digested over (author, seq, text) in a fixed order. */
export function messageDigest(node: Burrow, group: string): MessageDigest {
  const lines: string[] = []
  const byAuthor: Record<string, number> = {}
  if (node.groups().some((g) => g.id === group)) {
    for (let afterId = 0; ; ) {
      const page = node.messages(group, { afterId, limit: 1000 })
      for (const m of page) {
        lines.push(`${m.author}:${m.seq}:${m.text ?? ''}`)
        byAuthor[m.author] = (byAuthor[m.author] ?? 0) + 1
      }
      if (page.length < 1000) break
      afterId = page.at(-1)!.id
    }
  }
  lines.sort()
  return { count: lines.length, digest: createHash('sha256').update(lines.join('\n')).digest('hex'), byAuthor }
}

type Request =
  | { op: 'start'; dataDir: string; testnetDir: string; name: string }
  | { op: 'addPeer'; card: string }
  | { op: 'status' }
  | { op: 'groups' }
  | { op: 'digest'; group: string }
  | { op: 'events' }
  | { op: 'stop' }

/** The parent's handle on a child node. */
export interface BurrowChild {
  /** The child's PID (a Node process this test forked). */
  readonly pid: number
  readonly card: string
  readonly peerId: string
  /** PID of the child's own tor (its child), as its status reported it after the start. */
  readonly torPid: number
  addPeer(card: string): Promise<void>
  status(): Promise<NodeStatus>
  groups(): Promise<GroupSummary[]>
  digest(group: string): Promise<MessageDigest>
  /** Every event recorded since the start, oldest first. */
  events(): Promise<ChildEvent[]>
  /** SIGSTOP to the node and its tor (each checked in /proc to be the process this test started). */
  freeze(): void
  /** SIGCONT to both. */
  thaw(): void
  stop(): Promise<void>
}

const HELPER = fileURLToPath(import.meta.url)
/** A reply that does not come within this is a failure, not a hang (a start on the live profile takes ~15 s). */
const REPLY_MS = 180_000

/** Forks a child, creates a node in `dataDir` on the private network in `testnetDir` and starts it (resolves once its onion is reachable). */
export async function startBurrowChild(dataDir: string, testnetDir: string, name: string): Promise<BurrowChild> {
  const child = fork(HELPER, ['burrow-child'], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`child node exited with ${code ?? signal}`))))
  exited.catch(() => {})
  let nextId = 0
  const ask = <T>(request: Request): Promise<T> => {
    const id = nextId++
    return Promise.race([
      exited,
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onReply)
          reject(new Error(`child node did not answer ${request.op}`))
        }, REPLY_MS)
        const onReply = (reply: { id: number; ok: boolean; value?: T; error?: string }): void => {
          if (reply.id !== id) return
          clearTimeout(timer)
          child.off('message', onReply)
          if (reply.ok) resolve(reply.value as T)
          else reject(new Error(`child node ${request.op}: ${reply.error}`))
        }
        child.on('message', onReply)
        child.send({ id, ...request })
      }),
    ])
  }
  const started = await ask<{ card: string; peerId: string; torPid: number }>({ op: 'start', dataDir, testnetDir, name })
  const pid = child.pid!
  const signalBoth = (signal: NodeJS.Signals): void => {
    assertProcess(pid, process.pid, 'node')
    assertProcess(started.torPid, pid, 'tor')
    process.kill(pid, signal)
    process.kill(started.torPid, signal)
  }
  return {
    pid,
    card: started.card,
    peerId: started.peerId,
    torPid: started.torPid,
    addPeer: (card) => ask({ op: 'addPeer', card }),
    status: () => ask({ op: 'status' }),
    groups: () => ask({ op: 'groups' }),
    digest: (group) => ask({ op: 'digest', group }),
    events: () => ask({ op: 'events' }),
    freeze: () => signalBoth('SIGSTOP'),
    thaw: () => signalBoth('SIGCONT'),
    stop: async () => {
      // A frozen child answers nothing: thaw it first (harmless when it runs).
      if (child.exitCode === null) signalBoth('SIGCONT')
      await ask({ op: 'stop' }).catch(() => {})
      await stopChild(child)
    },
  }
}

/** Throws unless `pid` is a process named `name` whose parent is `parent` (read from /proc just before signalling). */
function assertProcess(pid: number, parent: number, name: string): void {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    throw new Error(`refusing to signal ${pid}: no such process`)
  }
  const field = (key: string): string | undefined => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim()
  if (field('PPid') !== String(parent) || field('Name') !== name) throw new Error(`refusing to signal ${pid}: not the ${name} this test started`)
}

/** Waits up to 15 s for our own child to exit, then SIGKILLs it (we forked it). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await gone
  clearTimeout(timer)
}

/** The child's side: one Burrow node, serving requests until `stop`. */
function serve(): void {
  let node: Burrow | undefined
  const events: ChildEvent[] = []
  const handle = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case 'start': {
        await Burrow.init(request.dataDir)
        // The node's own log (debug), beside its data directory: what it did after a wake, when a figure needs explaining.
        const logger = createLogger({ level: 'debug' }, pino.destination({ dest: `${request.dataDir}.log`, sync: false }))
        node = await Burrow.open({ dataDir: request.dataDir, displayName: request.name, tor: { mode: 'managed', testnet: request.testnetDir }, logger })
        for (const name of RECORDED) {
          node.on(name, (...args: unknown[]) => events.push({ name, at: Date.now(), detail: args[0] }))
        }
        await node.start()
        return { card: node.contactCard(), peerId: node.peerId, torPid: node.status().tor.pid }
      }
      case 'addPeer':
        await node!.addPeer(request.card)
        return undefined
      case 'status':
        return node!.status()
      case 'groups':
        return node!.groups()
      case 'digest':
        return messageDigest(node!, request.group)
      case 'events':
        return events
      case 'stop':
        await node?.stop()
        setTimeout(() => process.exit(0), 50)
        return undefined
    }
  }
  process.on('message', (request: Request & { id: number }) => {
    handle(request).then(
      (value) => process.send!({ id: request.id, ok: true, value }),
      (err: unknown) => process.send!({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    )
  })
  process.on('disconnect', () => void node?.stop().finally(() => process.exit(0)))
}

if (process.argv[2] === 'burrow-child' && process.send !== undefined) serve()
