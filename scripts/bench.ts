/**
 * Benchmark dispatcher: `npm run bench -- <suite>|all`. A suite is a module in
 * scripts/bench/ exporting `run(): Promise<BenchReport>`; register it below.
 */
import { writeReport, type BenchReport } from './bench/report.js'
import { releaseBenchTestnet } from './bench/testnet.js'

const SUITES: Readonly<Record<string, () => Promise<{ run(): Promise<BenchReport> }>>> = {
  log: () => import('./bench/log.js'),
  group: () => import('./bench/group.js'),
  sync: () => import('./bench/sync.js'),
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2)
  const names = wanted.includes('all') ? Object.keys(SUITES) : wanted
  const unknown = names.filter((n) => !(n in SUITES))
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: npm run bench -- <${[...Object.keys(SUITES), 'all'].join('|')}>\n`)
    if (unknown.length > 0) process.stderr.write(`unknown suite: ${unknown.join(', ')}\n`)
    process.exitCode = 1
    return
  }
  try {
    for (const name of names) {
      const suite = await SUITES[name]!()
      const path = writeReport(await suite.run())
      process.stderr.write(`wrote ${path}\n`)
    }
  } finally {
    await releaseBenchTestnet()
  }
}

await main()
