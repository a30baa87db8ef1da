import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from '../util/async.js'
import { TestnetError } from './errors.js'
import type { LinkFault, LinkSelector, RelayLinkStats } from './link-emulator.js'
import { pidListeningOn } from './proc-net.js'
import { isAlive, LINK_EMULATOR_ENTRY } from './process.js'
import type { TestnetState } from './state.js'

/**
 * A command to the link emulator, one JSON object per line on its unix
 * socket, answered by one {@link LinkReply} line:
 *
 * ```text
 * → {"op":"drop","target":{"relay":"relay2"}}
 * ← {"ok":true,"connections":4}
 * → {"op":"stall","target":{"pid":41234}}
 * ← {"ok":true,"connections":3}
 * → {"op":"restore"}
 * ← {"ok":true,"connections":57}
 * → {"op":"stats"}
 * ← {"ok":true,"stats":{"relays":[{"relay":"auth1","connections":9,"bytesToRelay":81234,"bytesFromRelay":912345}],"cpuMicros":{"user":81000,"system":40000},"uptimeMs":61234}}
 * → {"op":"bogus"}
 * ← {"ok":false,"error":"unknown op"}
 * ```
 */
export type LinkRequest = { op: LinkFault; target: LinkSelector } | { op: 'restore'; target?: LinkSelector } | { op: 'stats' } | { op: 'ping' }

/** The emulator's counters and its own CPU use since it started. */
export interface LinkEmulatorStats {
  relays: RelayLinkStats[]
  /** `process.cpuUsage()` of the emulator, µs. */
  cpuMicros: { user: number; system: number }
  uptimeMs: number
}

/** The answer to one {@link LinkRequest}. */
export type LinkReply = { ok: true; connections?: number; stats?: LinkEmulatorStats } | { ok: false; error: string }

/** Longest request line the emulator reads; real ones are under 100 bytes. */
export const MAX_LINK_REQUEST_BYTES = 4096
const NICKNAME = /^[A-Za-z0-9]{1,19}$/
const COMMAND_TIMEOUT_MS = 10_000
const READY_TIMEOUT_MS = 20_000
/** Linux's limit on a unix socket path (sun_path), less its terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107

/** Parses one request line; throws a `TypeError` naming what is wrong (the emulator sends it back). */
export function parseLinkRequest(line: string): LinkRequest {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new TypeError('not JSON')
  }
  if (typeof value !== 'object' || value === null) throw new TypeError('not a JSON object')
  const { op, target } = value as { op?: unknown; target?: unknown }
  if (op === 'stats' || op === 'ping') return { op }
  if (op === 'restore') return target === undefined ? { op } : { op, target: parseSelector(target) }
  if (op === 'drop' || op === 'stall') return { op, target: parseSelector(target) }
  throw new TypeError('unknown op')
}

function parseSelector(value: unknown): LinkSelector {
  if (typeof value === 'object' && value !== null) {
    const { relay, pid } = value as { relay?: unknown; pid?: unknown }
    if (typeof relay === 'string' && NICKNAME.test(relay) && pid === undefined) return { relay }
    if (Number.isInteger(pid) && (pid as number) > 0 && relay === undefined) return { pid: pid as number }
  }
  throw new TypeError('target must be {"relay": <nickname>} or {"pid": <positive integer>}')
}

/**
 * Whose links a command names: a relay of the network (its ports and the
 * connections its tor opened), or a client tor given by its PID or by a TCP
 * port it listens on (its SOCKS or control port).
 */
export type LinkTarget = { relay: string } | { clientPid: number } | { clientPort: number }

/** Drops, stalls and restores the links of a live-profile network; see {@link LinkTarget}. */
export class LinkControl {
  readonly #socket: string
  readonly #relays: ReadonlySet<string>

  /** Controls the emulator of `state`; throws `TESTNET_LINK_CONTROL` if the network has none (fast profile). */
  constructor(state: TestnetState) {
    if (state.emulator === undefined) {
      throw new TestnetError('TESTNET_LINK_CONTROL', `the test network in ${state.dir} runs the ${state.profile} profile, which has no link emulator; start it with --profile live`)
    }
    this.#socket = state.emulator.controlSocket
    this.#relays = new Set(state.nodes.map((n) => n.nickname))
  }

  /** Resets the target's connections and refuses new ones until {@link restore}; resolves with how many were open. */
  drop(target: LinkTarget): Promise<number> {
    return this.#fault('drop', target)
  }

  /** Holds everything on the target's connections (they stay open) until {@link restore}; resolves with how many were open. */
  stall(target: LinkTarget): Promise<number> {
    return this.#fault('stall', target)
  }

  /** Lifts what {@link drop} and {@link stall} set for `target`, or everything when omitted. */
  async restore(target?: LinkTarget): Promise<number> {
    const reply = await sendLinkRequest(this.#socket, target === undefined ? { op: 'restore' } : { op: 'restore', target: this.#selector(target) })
    return reply.connections ?? 0
  }

  /** The emulator's counters and CPU use. */
  async stats(): Promise<LinkEmulatorStats> {
    const reply = await sendLinkRequest(this.#socket, { op: 'stats' })
    if (reply.stats === undefined) throw new TestnetError('TESTNET_LINK_CONTROL', 'the link emulator answered stats without figures')
    return reply.stats
  }

  async #fault(op: LinkFault, target: LinkTarget): Promise<number> {
    const reply = await sendLinkRequest(this.#socket, { op, target: this.#selector(target) })
    return reply.connections ?? 0
  }

  #selector(target: LinkTarget): LinkSelector {
    if ('relay' in target) {
      if (!this.#relays.has(target.relay)) throw new TestnetError('TESTNET_NOT_FOUND', `no relay named ${target.relay} in this test network`)
      return { relay: target.relay }
    }
    if ('clientPid' in target) {
      if (!isAlive(target.clientPid)) throw new TestnetError('TESTNET_NOT_FOUND', `no process with PID ${target.clientPid}`)
      return { pid: target.clientPid }
    }
    const pid = pidListeningOn(target.clientPort)
    if (pid === undefined) throw new TestnetError('TESTNET_NOT_FOUND', `no process listens on 127.0.0.1:${target.clientPort}`)
    return { pid }
  }
}

/** Sends one request to the emulator's socket and resolves with its successful reply; throws `TESTNET_LINK_CONTROL` otherwise. */
export function sendLinkRequest(socketPath: string, request: LinkRequest, timeoutMs = COMMAND_TIMEOUT_MS): Promise<LinkReply & { ok: true }> {
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (msg: string, cause?: unknown): void => {
      socket.destroy()
      if (settled) return
      settled = true
      reject(new TestnetError('TESTNET_LINK_CONTROL', `link emulator at ${socketPath}: ${msg}`, { cause }))
    }
    const socket = connect({ path: socketPath })
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`))
    socket.on('error', (err) => fail(err.message, err))
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const end = buffered.indexOf('\n')
      if (end < 0) {
        if (buffered.length > 1 << 20) fail('reply too long')
        return
      }
      socket.end()
      let reply: LinkReply
      try {
        reply = JSON.parse(buffered.slice(0, end)) as LinkReply
      } catch (err) {
        fail('unreadable reply', err)
        return
      }
      if (!reply.ok) return fail(reply.error)
      settled = true
      resolve(reply)
    })
    socket.on('close', () => fail('closed without answering'))
    socket.write(`${JSON.stringify(request)}\n`)
  })
}

/** Where the emulator of the network in `dir` takes commands; throws when the path is too long for a unix socket. */
export function linkControlSocketPath(dir: string): string {
  const path = join(dir, 'links.sock')
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new TestnetError('TESTNET_START_FAILED', `the live profile needs a shorter network directory: ${path} is longer than a unix socket path may be (${MAX_SOCKET_PATH_BYTES} bytes)`)
  }
  return path
}

/**
 * Starts the link emulator of `state` as a detached process (it outlives the
 * caller, like the tors) and resolves with its PID once it answers on its
 * socket. Its output goes to `<dir>/link-emulator.log`.
 */
export async function spawnLinkEmulator(state: TestnetState, controlSocket: string): Promise<number> {
  const here = fileURLToPath(import.meta.url)
  const entry = join(dirname(here), `${LINK_EMULATOR_ENTRY}${extname(here)}`)
  // From source the entry is TypeScript, run through tsx (resolved from the package root, the working directory).
  const args = extname(entry) === '.ts' ? ['--import', 'tsx', entry, state.dir] : [entry, state.dir]
  const logFile = join(state.dir, 'link-emulator.log')
  const out = openSync(logFile, 'a', 0o600)
  let pid: number | undefined
  try {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], cwd: join(dirname(here), '..', '..') })
    child.on('error', () => {})
    child.unref()
    pid = child.pid
  } finally {
    closeSync(out)
  }
  if (pid === undefined) throw new TestnetError('TESTNET_START_FAILED', 'could not start the link emulator')
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    try {
      await sendLinkRequest(controlSocket, { op: 'ping' }, 1_000)
      return pid
    } catch (err) {
      if (!isAlive(pid) || Date.now() >= deadline) {
        const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n')
        throw new TestnetError('TESTNET_START_FAILED', `the link emulator did not start; ${logFile} ends:\n${tail}`, { cause: err })
      }
    }
    await sleep(100)
  }
}
