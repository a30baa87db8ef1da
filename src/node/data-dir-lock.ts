import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { NodeError } from './errors.js'

/**
 * One process at a time per data directory. Two nodes over one directory
 * would sign one log from two places (a fork, which peers record against
 * us) and fight over one tor and one onion service. The CLI finds a running
 * node by its API socket; a library user has none, so opening a node takes
 * this lock: `<data dir>/burrow.lock`, created with O_EXCL (0600), holding
 * the owner's PID and the kernel's start time of that process, so that a
 * lock left by a process that died, or whose PID was given to another
 * process since, is taken over.
 */
export class DataDirLock {
  /** Lock files held by this process: a second open in the same process is refused too. */
  static readonly #held = new Set<string>()
  readonly #path: string
  #released = false

  private constructor(path: string) {
    this.#path = path
  }

  /**
   * Takes the lock of `dataDir` (an existing folder).
   * @throws NodeError `NODE_IN_USE` while another process, or another open node of this one, holds it
   */
  static acquire(dataDir: string): DataDirLock {
    const path = join(realpathSync(dataDir), 'burrow.lock')
    const mine = `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`
    // A second attempt only after taking over a stale lock: another process may win that race, and then it holds the lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (DataDirLock.#held.has(path)) throw new NodeError('NODE_IN_USE', `the node in ${dataDir} is already open in this process: stop it first`)
      try {
        const fd = openSync(path, 'wx', 0o600)
        try {
          writeSync(fd, mine)
        } finally {
          closeSync(fd)
        }
        DataDirLock.#held.add(path)
        return new DataDirLock(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const holder = readHolder(path)
      if (holder !== undefined && holder.pid !== process.pid && isAlive(holder.pid) && holder.startTime === startTimeOf(holder.pid)) {
        throw new NodeError('NODE_IN_USE', `the node in ${dataDir} is open in another process (pid ${holder.pid}): stop it first`)
      }
      rmSync(path, { force: true })
    }
    throw new NodeError('NODE_IN_USE', `the node in ${dataDir} is being opened by another process`)
  }

  /** Gives the lock up (once; later calls do nothing). */
  release(): void {
    if (this.#released) return
    this.#released = true
    DataDirLock.#held.delete(this.#path)
    rmSync(this.#path, { force: true })
  }
}

/** The lock file's holder; undefined when it cannot be read or parsed (a crash mid-write: taken over). */
function readHolder(path: string): { pid: number; startTime: string | undefined } | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const match = /^(\d{1,10}) (\d*)\n$/.exec(text)
  if (match === null) return undefined
  return { pid: Number(match[1]), startTime: match[2] === '' ? undefined : match[2] }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The process's start time in clock ticks since boot (field 22 of
 * `/proc/<pid>/stat`, after the parenthesised command name, which may hold
 * spaces); undefined where there is no /proc.
 */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}
