import { execFile, spawn } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs'
import { basename, delimiter, join, resolve } from 'node:path'
import { sleep } from '../util/async.js'
import { TestnetError } from './errors.js'

/** File next to `notice.log` that catches what tor prints before it has read its torrc. */
export const STDOUT_LOG = 'stdout.log'

/** Finds an executable: `explicit` if given, else `name` on PATH, else the first existing fallback. */
export function findExecutable(name: string, explicit: string | undefined, fallbacks: readonly string[]): string {
  if (explicit !== undefined) {
    if (!isExecutable(explicit)) throw new TestnetError('TESTNET_START_FAILED', `${explicit} is not an executable`)
    return explicit
  }
  const candidates = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, name)), ...fallbacks]
  const found = candidates.find(isExecutable)
  if (found === undefined) throw new TestnetError('TESTNET_START_FAILED', `${name} not found on PATH or in ${fallbacks.join(', ')}`)
  return found
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Runs a short-lived tool (tor-gencert, tor --list-fingerprint) to completion, bounded by `timeoutMs`. */
export function runTool(file: string, args: readonly string[], opts: { input?: string; timeoutMs: number }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = `${stdout}${stderr}`.trim().split('\n').slice(-5).join('\n')
        reject(new TestnetError('TESTNET_START_FAILED', `${basename(file)} failed: ${err.message}\n${detail}`, { cause: err }))
      } else resolvePromise(stdout)
    })
    child.stdin?.end(opts.input ?? '')
  })
}

/**
 * Starts tor with `torrcPath` as a detached child in its own process group,
 * so it outlives the process that started it (the CLI exits after `up`).
 * Early output goes to `<dataDir>/stdout.log`. Returns the PID.
 */
export function spawnDetachedTor(torPath: string, torrcPath: string, dataDir: string): number {
  const out = openSync(join(dataDir, STDOUT_LOG), 'a', 0o600)
  try {
    const child = spawn(torPath, ['-f', torrcPath], { detached: true, stdio: ['ignore', out, out] })
    if (child.pid === undefined) throw new TestnetError('TESTNET_START_FAILED', `could not start ${torPath}`)
    // A spawn failure such as EACCES arrives as an event; the caller sees it as a dead PID.
    child.on('error', () => {})
    child.unref()
    return child.pid
  } finally {
    closeSync(out)
  }
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // "pid (comm) S ..." — comm may contain spaces or parentheses, so the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** The command line of `pid`, split at NULs; empty when it is gone or unreadable. */
function commandLine(pid: number): string[] {
  if (!isAlive(pid)) return []
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return []
  }
}

/**
 * True when `pid` is a tor whose command line names a file under `dir`.
 * Checked before every signal: a recorded PID may have been reused by an
 * unrelated process since the network was started.
 */
export function isTorOf(pid: number, dir: string): boolean {
  const argv = commandLine(pid)
  const prefix = `${resolve(dir)}/`
  return basename(argv[0] ?? '') === 'tor' && argv.slice(1).some((arg) => arg.startsWith(prefix))
}

/** File name of the link emulator's entry script, without extension (`.ts` from source, `.js` when built). */
export const LINK_EMULATOR_ENTRY = 'link-emulator-main'

/** A tor started by {@link spawnOwnedTor}: a child of this process. */
export interface OwnedTor {
  pid: number
  /** SIGTERM, then SIGKILL after 5 s; resolves once it is gone (or at once if it already is). */
  stop(): Promise<void>
}

/**
 * Starts `tor -f torrcPath` as a child of this process (its torrc says
 * `__OwningControllerProcess`, so it also exits with us). For the client
 * tors and bridges that tests and measurements start beside a network.
 *
 * @throws TestnetError `TESTNET_START_FAILED` when no process could be started
 */
export function spawnOwnedTor(torPath: string, torrcPath: string, what: string): OwnedTor {
  const child = spawn(torPath, ['-f', torrcPath], { stdio: 'ignore' })
  // A spawn failure such as EACCES arrives as an event; the caller sees it as a dead PID.
  child.on('error', () => {})
  const pid = child.pid
  if (pid === undefined) throw new TestnetError('TESTNET_START_FAILED', `could not start ${what}`)
  return {
    pid,
    async stop() {
      if (!isAlive(pid)) return
      child.kill('SIGTERM')
      for (let waited = 0; isAlive(pid) && waited < 5_000; waited += 100) await sleep(100)
      if (isAlive(pid)) child.kill('SIGKILL')
    },
  }
}

/** True when `pid` is the link emulator of the network in `dir` (checked like {@link isTorOf}). */
export function isLinkEmulatorOf(pid: number, dir: string): boolean {
  const argv = commandLine(pid)
  return argv.some((arg) => basename(arg).replace(/\.[jt]s$/, '') === LINK_EMULATOR_ENTRY) && argv.includes(resolve(dir))
}

/** Sends `signal` to `pid` only if it is a tor of the network in `dir`. Returns whether it was sent. */
export function signalTor(pid: number, dir: string, signal: NodeJS.Signals): boolean {
  return signalIf(pid, (p) => isTorOf(p, dir), signal)
}

function signalIf(pid: number, belongs: (pid: number) => boolean, signal: NodeJS.Signals): boolean {
  if (!belongs(pid)) return false
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Stops the tors among `pids` that belong to `dir`: SIGTERM, a bounded wait,
 * then SIGKILL for any still alive. Resolves once all are gone or after the
 * second bounded wait.
 */
export function terminateTors(pids: readonly number[], dir: string, graceMs = 10_000): Promise<void> {
  return terminate(pids, (pid) => isTorOf(pid, dir), graceMs)
}

/** Stops the link emulator of the network in `dir` like {@link terminateTors}. */
export function terminateLinkEmulator(pid: number, dir: string): Promise<void> {
  return terminate([pid], (p) => isLinkEmulatorOf(p, dir), 5_000)
}

async function terminate(pids: readonly number[], belongs: (pid: number) => boolean, graceMs: number): Promise<void> {
  const ours = pids.filter((pid) => signalIf(pid, belongs, 'SIGTERM'))
  if (await waitForExit(ours, graceMs)) return
  for (const pid of ours) if (isAlive(pid)) signalIf(pid, belongs, 'SIGKILL')
  await waitForExit(ours, 3_000)
}

async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (pids.some(isAlive)) {
    if (Date.now() >= deadline) return false
    await sleep(100)
  }
  return true
}

/** The last `lines` lines of what a tor wrote to its notice log (or, before it had one, to stdout). */
export function torLogTail(dataDir: string, lines = 15): string {
  const text = [STDOUT_LOG, 'notice.log']
    .map((f) => join(dataDir, f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('')
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}
