/**
 * Benchmark dispatcher: `npm run bench` (every suite, plus one combined JSON
 * and Markdown file) or `npm run bench -- <suite>… [--profile fast|live]`.
 * A suite is a module in scripts/bench/ exporting `run(): Promise<BenchReport>`;
 * register it below. `--profile live` runs the network suites on a private
 * network shaped like the live Tor network (docs/testnet.md); their reports
 * are then named `<suite>-live`.
 */
import { TESTNET_PROFILES } from '../src/testnet/index.js'
import { writeCombinedReport, writeReport, type BenchReport } from './bench/report.js'
import { benchProfile, releaseBenchTestnet, setBenchProfile } from './bench/testnet.js'

const SUITES: Readonly<Record<string, () => Promise<{ run(): Promise<BenchReport> }>>> = {
  log: () => import('./bench/log.js'),
  group: () => import('./bench/group.js'),
  'group-messages': () => import('./bench/group-messages.js'),
  sync: () => import('./bench/sync.js'),
  node: () => import('./bench/node.js'),
  scale: () => import('./bench/scale.js'),
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const flag = args.indexOf('--profile')
  if (flag !== -1) {
    const profile = TESTNET_PROFILES.find((p) => p === args[flag + 1])
    if (profile === undefined) {
      process.stderr.write(`--profile takes one of ${TESTNET_PROFILES.join(', ')}\n`)
      process.exitCode = 1
      return
    }
    setBenchProfile(profile)
    args.splice(flag, 2)
  }
  const wanted = args
  const names = wanted.length === 0 || wanted.includes('all') ? Object.keys(SUITES) : wanted
  const unknown = names.filter((n) => !(n in SUITES))
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: npm run bench -- <${[...Object.keys(SUITES), 'all'].join('|')}>… [--profile ${TESTNET_PROFILES.join('|')}]\n`)
    if (unknown.length > 0) process.stderr.write(`unknown suite: ${unknown.join(', ')}\n`)
    process.exitCode = 1
    return
  }
  const reports: BenchReport[] = []
  try {
    for (const name of names) {
      const suite = await SUITES[name]!()
      const measured = await suite.run()
      const report = benchProfile() === 'fast' ? measured : { ...measured, name: `${measured.name}-${benchProfile()}` }
      reports.push(report)
      process.stderr.write(`wrote ${writeReport(report)}\n`)
    }
    if (reports.length > 1) process.stderr.write(`wrote ${writeCombinedReport(reports)}\n`)
  } finally {
    await releaseBenchTestnet()
  }
}

await main()
