/** How busy the machine's CPUs were over an interval (Linux: /proc/stat), to tell a network-bound figure from a CPU-bound one. */
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
