/**
 * CPU figures for benchmarks (Linux, /proc): how busy the machine was over
 * an interval, to tell a network-bound figure from a CPU-bound one, and a
 * calibrated CPU load, to see what a figure loses to another process's CPU use.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

function ticks(): { busy: number; total: number } {
  // "cpu  user nice system idle iowait irq softirq steal …", summed over all CPUs.
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  return { busy: total - fields[3]! - fields[4]!, total }
}

/** Starts measuring; the returned function gives the fraction of all CPU time that was busy since (0–1). */
export function machineBusy(): () => number {
  const start = ticks()
  return () => {
    const end = ticks()
    return (end.busy - start.busy) / Math.max(1, end.total - start.total)
  }
}

/** A busy loop in a process of its own, started by {@link cpuLoad}. */
export interface CpuLoad {
  /** Kills the process; returns the share of one CPU it used since it started (0–1). */
  stop(): number
}

/** CPU time (user + system) of a process, in seconds, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces: count fields from the closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime, in clock ticks (USER_HZ: 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Keeps `share` (0–1) of one CPU busy in a separate process: in every 10 ms,
 * a busy loop for `share` of it. A stand-in for the CPU another process
 * needs, to see what a figure loses to it alone on a shared machine. The
 * loop ends by itself after 10 minutes, or when the process that started it is gone.
 */
export function cpuLoad(share: number): CpuLoad {
  const busyMs = Math.min(1, Math.max(0, share)) * 10
  const code = `const parent = process.ppid; const started = performance.now(); let next = started
    const tick = () => {
      if (process.ppid !== parent || performance.now() - started > 600_000) process.exit(0)
      const t = performance.now(); while (performance.now() - t < ${busyMs});
      next += 10; setTimeout(tick, Math.max(0, next - performance.now()))
    }
    tick()`
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' })
  const started = process.hrtime.bigint()
  return {
    stop(): number {
      let used = Number.NaN
      try {
        used = processCpuSeconds(child.pid!) / (Number(process.hrtime.bigint() - started) / 1e9)
      } catch {
        // Already gone: the share stays unknown.
      }
      child.kill('SIGKILL')
      return used
    },
  }
}
