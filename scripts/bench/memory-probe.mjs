// Loaded with `node --import` into a process a benchmark measures (plain
// JavaScript, so that it loads into a built node without tsx). On SIGUSR2 it
// writes where the process's memory is to $BURROW_MEMORY_PROBE: Node's split
// (heap, external, array buffers), V8's heap spaces, and the kernel's view
// (/proc/self/smaps_rollup: anonymous and file-backed resident pages); with
// $BURROW_HEAP_SNAPSHOT set, also a heap snapshot there.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import v8 from 'node:v8'

const out = process.env.BURROW_MEMORY_PROBE
if (out) {
  process.on('SIGUSR2', () => {
    const rollup = Object.fromEntries(
      readFileSync('/proc/self/smaps_rollup', 'utf8')
        .split('\n')
        .map((line) => /^(\w+):\s+(\d+) kB/.exec(line))
        .filter((m) => m !== null)
        .map((m) => [m[1], Number(m[2]) * 1024]),
    )
    const report = {
      memoryUsage: process.memoryUsage(),
      heapSpaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size })),
      rollup,
    }
    // After the figures: writing a snapshot takes memory of its own.
    if (process.env.BURROW_HEAP_SNAPSHOT) report.snapshot = v8.writeHeapSnapshot(process.env.BURROW_HEAP_SNAPSHOT)
    writeFileSync(`${out}.tmp`, JSON.stringify(report))
    renameSync(`${out}.tmp`, out)
  })
}
