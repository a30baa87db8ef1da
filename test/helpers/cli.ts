// `burrow` run as child processes (`node bin/burrow.js …`) against data dirs
// on the suite's private Tor network: for the integration tests of the CLI.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'

export const BIN = resolve(import.meta.dirname, '../../bin/burrow.js')
export const COMMAND_TIMEOUT_MS = 60_000

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one `burrow` command against a data dir (none when `dataDir` is undefined); bounded by a timeout. */
export function burrow(dataDir: string | undefined, args: string[], timeoutMs = COMMAND_TIMEOUT_MS, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const argv = dataDir === undefined ? args : ['--data-dir', dataDir, ...args]
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...argv], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null
      resolvePromise({ code, stdout, stderr })
    })
  })
}

/** Runs a command with `--json` and parses its output; throws with everything it printed when it fails. */
export async function burrowJson<T = any>(dataDir: string | undefined, args: string[], timeoutMs?: number, env?: NodeJS.ProcessEnv): Promise<T> {
  const r = await burrow(dataDir, [...args, '--json'], timeoutMs, env)
  if (r.code !== 0) throw new Error(`burrow ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/** Polls `check` every 500 ms until it returns a value, bounded by `ms`. */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

/** `promise`, or a rejection after `ms`. */
export function withBound<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() =>
    clearTimeout(timer),
  )
}

/** A `burrow` command running in the background (`burrow start`, a waiting invitation), with everything it printed. */
export class RunningCommand {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>
  exitedAt: number | undefined

  constructor(readonly dataDir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    this.child.stdout!.setEncoding('utf8').on('data', (t: string) => (this.stdout += t))
    this.child.stderr!.setEncoding('utf8').on('data', (t: string) => (this.stderr += t))
    this.exited = new Promise((r) =>
      this.child.once('exit', (code) => {
        this.exitedAt = Date.now()
        r(code)
      }),
    )
  }

  /** Resolves with the first match of `pattern` in what it printed on `stream`; rejects if it exits first or after `ms`. */
  async waitFor(pattern: RegExp, ms: number, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    return eventually(`${pattern} from burrow ${this.child.spawnargs.slice(4).join(' ')}`, ms, async () => {
      const match = this[stream].match(pattern)
      if (match !== null) return match
      if (this.child.exitCode !== null) throw new Error(`burrow exited ${this.child.exitCode}:\n${this.stdout}\n${this.stderr}`)
      return undefined
    })
  }

  /** Sends `signal` if still running: only this test's own child, by its PID, checked in /proc first. */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return
    const cmdline = readFileSync(`/proc/${this.child.pid}/cmdline`, 'utf8')
    if (cmdline.includes(BIN)) process.kill(this.child.pid, signal)
  }

  kill(): void {
    this.signal('SIGKILL')
  }

  /**
   * Stops it the way a user would (SIGTERM, so a node stops its own tor) and
   * waits for the exit; SIGKILL after `ms`. A SIGKILLed node's tor outlives it
   * for a moment and still writes into the data dir, so tests stop nodes with
   * this before removing their folders.
   */
  async stop(ms = 20_000): Promise<void> {
    this.signal('SIGTERM')
    const stopped = await withBound(this.exited, ms, 'burrow to stop on SIGTERM').then(
      () => true,
      () => false,
    )
    if (stopped) return
    this.kill()
    await withBound(this.exited, 5_000, 'a SIGKILLed burrow to exit')
  }
}

/** Stops every node given (in parallel), then removes `root`, retrying while a late writer empties out. */
export async function stopAndRemove(root: string, nodes: (RunningCommand | undefined)[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n?.stop()))
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
}

/** `burrow start` on the private network in the background; info logs land in `stderr`, printed only when a step fails. */
export class RunningNode extends RunningCommand {
  constructor(dataDir: string, testnetDir: string, env: NodeJS.ProcessEnv = {}) {
    super(dataDir, ['--testnet', testnetDir, 'start'], { BURROW_LOG_LEVEL: 'info', ...env })
  }

  /** Resolves with the node's .onion once it printed that it is reachable. */
  async reachable(ms = 150_000): Promise<string> {
    return (await this.waitFor(/reachable at ([a-z2-7]{56}\.onion)/, ms))[1]!
  }
}
