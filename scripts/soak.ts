/**
 * `npm run soak [-- fuzz | <vitest filters>]`
 *
 * Runs, with `BURROW_SOAK=1`:
 * - the fault tests (`test/unit/faults-*.test.ts`,
 *   `test/integration/faults-*.test.ts`) scaled up: more SIGKILLs, more tor
 *   kills, a longer relay outage, 1,000 messages for the offline peer, 10
 *   minutes of load;
 * - the live profile's sleep and outage tests (`test/live/sleep-wake.test.ts`,
 *   `test/live/network-*.test.ts`) with a 5-minute freeze;
 * - a 1 GiB file disk to disk with resident memory sampled
 *   (`test/unit/files-memory.test.ts`; npm test moves 128 MiB);
 * - the fuzz properties (`test/unit/*-fuzz.test.ts`) with 10 times their
 *   inputs (test/helpers/fuzz.ts), over 1,000,000 in all, each target's count
 *   printed at the end (test/helpers/fuzz-reporter.ts).
 *
 * `npm run soak -- fuzz` runs only the fuzz part (about 10 minutes on 2
 * cores); other arguments go to vitest as filters (e.g. `faults-load`).
 * Exits with vitest's exit code; the run is bounded by SOAK_LIMIT_MS, after
 * which vitest is killed by its PID.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url))
/** The scaled-up tests take about 30 minutes on 2 cores (10 of them the load test); far beyond that, something hangs. */
const SOAK_LIMIT_MS = 90 * 60_000
const FAULT_TESTS = ['test/unit/faults-', 'test/integration/faults-', 'test/live/sleep-wake', 'test/live/network-', 'test/unit/files-memory']
const FUZZ_TESTS = ['fuzz.test.ts']
const REPORTERS = ['--reporter=default', '--reporter=./test/helpers/fuzz-reporter.ts']

const args = process.argv.slice(2)
const onlyFuzz = args.length === 1 && args[0] === 'fuzz'
const filters = onlyFuzz ? ['--project', 'unit', ...FUZZ_TESTS] : args.length > 0 ? args : [...FAULT_TESTS, ...FUZZ_TESTS]
const child = spawn(process.execPath, [VITEST, 'run', ...REPORTERS, ...filters], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, BURROW_SOAK: '1' },
})
const limit = setTimeout(() => {
  console.error(`soak: no result after ${SOAK_LIMIT_MS / 60_000} minutes; stopping vitest`)
  child.kill('SIGTERM')
}, SOAK_LIMIT_MS)
// Ctrl-C reaches vitest through the terminal's process group; just wait for it.
process.on('SIGINT', () => {})
child.on('exit', (code, signal) => {
  clearTimeout(limit)
  process.exit(code ?? (signal !== null ? 1 : 0))
})
