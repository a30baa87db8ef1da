import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { isLoopbackIp } from '../util/net.js'
import { sleep } from '../util/async.js'
import { AbortError } from '../errors.js'
import { findTorBinary } from './binary.js'
import { TorError } from './errors.js'
import type { LaunchedTor, TorExit, TorLauncher } from './launcher.js'
import { buildNodeTorrc, nodeTorPaths } from './torrc.js'

/** Options of a tor that Burrow starts and supervises itself. */
export interface ManagedTorOptions {
  /** The tor's own data directory (created 0700); inside the node's data dir. */
  dataDir: string
  /** Absolute path of the tor binary; searched for when omitted. */
  torPath?: string
  /** Extra torrc lines: a private network's DirAuthority lines, bridges. */
  extraTorrcLines?: readonly string[]
  /** How long tor may take to open its control port. Default 30 s. */
  controlPortTimeoutMs?: number
}

const TAIL_LINES = 30
const KILL_GRACE_MS = 5_000

/**
 * Spawns tor with a generated torrc and reports its control port. The torrc
 * names this process as the owning controller, so tor exits if Burrow dies
 * however it dies; the supervisor additionally takes ownership over the
 * control connection.
 */
export class ManagedTorLauncher implements TorLauncher {
  readonly #options: ManagedTorOptions
  readonly #torPath: string

  constructor(options: ManagedTorOptions) {
    this.#options = options
    this.#torPath = findTorBinary(options.torPath)
  }

  async launch(signal: AbortSignal): Promise<LaunchedTor> {
    const paths = nodeTorPaths(this.#options.dataDir)
    mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 })
    chmodSync(paths.dataDir, 0o700)
    writeFileSync(paths.torrcFile, buildNodeTorrc(paths, process.pid, this.#options.extraTorrcLines), { mode: 0o600 })
    // A stale file from a previous run would point at a dead port.
    rmSync(paths.controlPortFile, { force: true })

    const child = spawn(this.#torPath, ['-f', paths.torrcFile, '--defaults-torrc', '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
      const control = await waitForControlPort(paths.controlPortFile, exited, outputTail, this.#options.controlPortTimeoutMs ?? 30_000, signal)
      const launched: LaunchedTor = { control, auth: { cookieFile: paths.cookieFile }, owned: true, exited, kill, outputTail }
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
  const done = await Promise.race([exited.then(() => true), sleep(KILL_GRACE_MS).then(() => false)])
  if (!done) {
    child.kill('SIGKILL')
    await Promise.race([exited, sleep(KILL_GRACE_MS)])
  }
}

/** Polls for the file tor writes once its control port listens (`PORT=127.0.0.1:NNNN`). */
async function waitForControlPort(
  file: string,
  exited: Promise<TorExit>,
  outputTail: () => string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ host: string; port: number }> {
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
    const match = text?.match(/^PORT=([0-9.]+):(\d+)\s*$/m)
    if (match?.[1] !== undefined && match[2] !== undefined) {
      if (!isLoopbackIp(match[1])) throw startFailed(`tor's control port is not on loopback (${match[1]})`)
      return { host: match[1], port: Number(match[2]) }
    }
    await sleep(50)
  }
  throw startFailed(`tor did not open its control port within ${timeoutMs} ms`, outputTail())
}

/** `TOR_START_FAILED` with the last lines tor printed (tor's SafeLogging keeps addresses out of them). */
function startFailed(message: string, torOutput = ''): TorError {
  return new TorError('TOR_START_FAILED', torOutput ? `${message}\n--- tor said ---\n${torOutput}` : message)
}
