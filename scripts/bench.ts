/**
 * Benchmark dispatcher: `npm run bench` (every suite, plus one combined JSON
 * and Markdown file) or `npm run bench -- <suite>…`. A suite is a module in
 * scripts/bench/ exporting `run(): Promise<BenchReport>`; register it below.
 */
import { writeCombinedReport, writeReport, type BenchReport } from './bench/report.js'
import { releaseBenchTestnet } from './bench/testnet.js'

const SUITES: Readonly<Record<string, () => Promise<{ run(): Promise<BenchReport> }>>> = {
  log: () => import('./bench/log.js'),
  group: () => import('./bench/group.js'),
  sync: () => import('./bench/sync.js'),
  node: () => import('./bench/node.js'),
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2)
  const names = wanted.length === 0 || wanted.includes('all') ? Object.keys(SUITES) : wanted
  const unknown = names.filter((n) => !(n in SUITES))
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: npm run bench -- <${[...Object.keys(SUITES), 'all'].join('|')}>\n`)
    if (unknown.length > 0) process.stderr.write(`unknown suite: ${unknown.join(', ')}\n`)
    process.exitCode = 1
    return
  }
  const reports: BenchReport[] = []
  try {
    for (const name of names) {
      const suite = await SUITES[name]!()
      const report = await suite.run()
      reports.push(report)
      process.stderr.write(`wrote ${writeReport(report)}\n`)
    }
    if (reports.length > 1) process.stderr.write(`wrote ${writeCombinedReport(reports)}\n`)
  } finally {
    await releaseBenchTestnet()
  }
}

await main()
