import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { sleep, withTimeout } from '../util/async.js'
import { AbortError } from '../errors.js'
import { findTorBinary } from './binary.js'
import { bridgeTorrcLines } from './bridges.js'
import { TorError } from './errors.js'
import type { LaunchedTor, TorExit, TorLauncher } from './launcher.js'
import { buildNodeTorrc, nodeTorPaths, type NodeTorPaths } from './torrc.js'

/** Options of a tor that Burrow starts and supervises itself. */
export interface ManagedTorOptions {
  /** The tor's own data directory (created 0700); inside the node's data dir. */
  dataDir: string
  /** Absolute path of the tor binary; searched for when omitted. */
  torPath?: string
  /** Extra torrc lines: a private network's DirAuthority lines. */
  extraTorrcLines?: readonly string[]
  /** Bridge lines (plain or obfs4): tor then reaches the network only through them (see bridges.ts). */
  bridges?: readonly string[]
  /** Path of obfs4proxy; searched for when an obfs4 bridge is given and this is omitted. */
  obfs4proxyPath?: string
  /** How long tor may take to open its control socket. Default 30 s. */
  controlPortTimeoutMs?: number
}

const TAIL_LINES = 30
const KILL_GRACE_MS = 5_000

/**
 * The environment tor gets: HOME only, which tor reads to expand `~` in
 * paths (a user's extra torrc lines may use it). Nothing of Burrow's and no
 * secret (BURROW_PASSPHRASE above all) reaches tor's `/proc/<pid>/environ`;
 * tor needs nothing else (it runs with an empty environment, checked with
 * tor 0.4.9.11, and starts transport plugins by absolute path).
 */
function torEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return env.HOME !== undefined ? { HOME: env.HOME } : {}
}

/**
 * Spawns tor with a generated torrc and reports its control and SOCKS
 * sockets, both in the tor's own 0700 data directory (no TCP listener). The torrc
 * names this process as the owning controller, so tor exits if Burrow dies
 * however it dies; the supervisor additionally takes ownership over the
 * control connection.
 */
export class ManagedTorLauncher implements TorLauncher {
  readonly #options: ManagedTorOptions
  readonly #torPath: string
  readonly #paths: NodeTorPaths
  readonly #extraLines: readonly string[]

  /**
   * @throws TorError `TOR_NOT_FOUND` without a tor binary, `TOR_SOCKET_PATH_UNUSABLE` when `dataDir` is too long for its sockets,
   *   `TOR_BRIDGE_INVALID` / `TOR_BRIDGE_TRANSPORT_UNSUPPORTED` / `TOR_OBFS4PROXY_NOT_FOUND` for bridges it cannot use
   */
  constructor(options: ManagedTorOptions) {
    this.#options = options
    this.#torPath = findTorBinary(options.torPath)
    this.#paths = nodeTorPaths(options.dataDir)
    const bridgeLines = bridgeTorrcLines(options.bridges ?? [], options.obfs4proxyPath !== undefined ? { obfs4proxyPath: options.obfs4proxyPath } : {})
    this.#extraLines = [...(options.extraTorrcLines ?? []), ...bridgeLines]
  }

  async launch(signal: AbortSignal): Promise<LaunchedTor> {
    const paths = this.#paths
    mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 })
    chmodSync(paths.dataDir, 0o700)
    writeFileSync(paths.torrcFile, buildNodeTorrc(paths, process.pid, this.#extraLines), { mode: 0o600 })
    // A stale file from a previous run would announce a socket before tor listens on it.
    rmSync(paths.controlPortFile, { force: true })

    const child = spawn(this.#torPath, ['-f', paths.torrcFile, '--defaults-torrc', '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: torEnvironment(),
      // Its own process group: a Ctrl-C in Burrow's terminal reaches Burrow, which stops tor itself
      // (by PID); tor still exits with Burrow through __OwningControllerProcess and TAKEOWNERSHIP.
      detached: true,
    })
    const tail: string[] = []
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue
        tail.push(line)
        if (tail.length > TAIL_LINES) tail.shift()
      }
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const outputTail = (): string => tail.join('\n')

    const exited = new Promise<TorExit>((resolve) => {
      child.once('exit', (code, sig) => resolve({ code, signal: sig }))
      child.once('error', () => resolve({ code: null, signal: null }))
    })
    const kill = (): Promise<void> => stopChild(child, exited)

    try {
      const control = await waitForControlSocket(paths.controlPortFile, paths.controlSocket, exited, outputTail, this.#options.controlPortTimeoutMs ?? 30_000, signal)
      const socks = { path: paths.socksSocket }
      const launched: LaunchedTor = { control, socks, auth: { cookieFile: paths.cookieFile }, owned: true, exited, kill, outputTail }
      if (child.pid !== undefined) launched.pid = child.pid
      return launched
    } catch (err) {
      await kill()
      throw err
    }
  }
}

async function stopChild(child: ChildProcess, exited: Promise<TorExit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  child.kill('SIGTERM')
  // withTimeout clears its timer once tor exits: a bare sleep in the race would keep the process alive 5 s after a stop.
  const done = await withTimeout(exited, KILL_GRACE_MS, 'tor to exit').then(() => true, () => false)
  if (!done) {
    child.kill('SIGKILL')
    await withTimeout(exited, KILL_GRACE_MS, 'tor to exit after SIGKILL').catch(() => {})
  }
}

/**
 * Polls for the file tor writes once its control socket listens
 * (`UNIX_PORT=<path>`), and checks that it names the socket we configured.
 */
async function waitForControlSocket(
  file: string,
  socket: string,
  exited: Promise<TorExit>,
  outputTail: () => string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ path: string }> {
  let exit: TorExit | undefined
  void exited.then((e) => {
    exit = e
  })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (signal.aborted) throw new AbortError('starting tor')
    if (exit !== undefined) {
      throw startFailed(`tor exited during start (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'})`, outputTail())
    }
    let text: string | undefined
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      text = undefined
    }
    if (text !== undefined && text.split('\n').includes(`UNIX_PORT=${socket}`)) return { path: socket }
    if (text !== undefined && text.trim() !== '') throw startFailed(`tor opened a control listener other than ${socket}`, outputTail())
    await sleep(50)
  }
  throw startFailed(`tor did not open its control socket within ${timeoutMs} ms`, outputTail())
}

/** `TOR_START_FAILED` with the last lines tor printed (tor's SafeLogging keeps addresses out of them). */
function startFailed(message: string, torOutput = ''): TorError {
  return new TorError('TOR_START_FAILED', torOutput ? `${message}\n--- tor said ---\n${torOutput}` : message)
}
