/**
 * `npm run testnet -- up|status|down|link … [--dir DIR] …`
 *
 * Manages a private Tor network on 127.0.0.1 that outlives this command, so
 * tests and the demo can join it; on the live profile, also its link
 * emulator. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { BurrowError } from '../src/errors.js'
import {
  loadTestnet,
  measureOnions,
  percentile,
  startTestnet,
  stopTestnet,
  testnetStatus,
  TESTNET_PROFILES,
  type LinkTarget,
  type OnionFigures,
  type TestnetProfileName,
  type TestnetStatus,
} from '../src/testnet/index.js'

const USAGE = `Usage: npm run testnet -- <command> [options]

Commands:
  up                     start a private Tor network (3 authorities + 3 relays) on 127.0.0.1
  status                 show whether each tor of the network is alive and the consensus size
  down                   stop the network's tors (and link emulator) by PID
  link drop|stall|restore
                         live profile: reset (drop) or freeze (stall) the links of a relay or
                         of a client tor until 'restore'; 'restore' without a target lifts all

Options:
  --dir DIR              directory of the network (default: .burrow-testnet)
  --profile fast|live    for 'up': bare loopback (default) or live-Tor-like links
  --authorities N        directory authorities for 'up' (default: 3)
  --relays N             relays besides the authorities for 'up' (default: 3)
  --measure              for 'status': time raw onion round trips and first dials with two
                         plain client tors (takes about a minute on the live profile)
  --onions N             for '--measure': fresh onions to publish and dial (default: 3)
  --round-trips N        for '--measure': round trips on each onion's circuit (default: 20)
  --transfer-mb N        for '--measure': also transfer N MB through an onion and, on the live
                         profile, report the link emulator's CPU at idle and during it
  --relay NAME           for 'link': a relay of the network (its ports and its own links)
  --client-port PORT     for 'link': the client tor listening on PORT (its SOCKS or control port)
  --client-pid PID       for 'link': the client tor with this PID
  -h, --help             show this help

Exit codes: 0 ok, 1 failure, 2 usage error.`

class UsageError extends Error {}

type LinkCommand = { action: 'drop' | 'stall'; target: LinkTarget } | { action: 'restore'; target?: LinkTarget }

interface Command {
  name: 'up' | 'status' | 'down' | 'link'
  dir: string
  profile: TestnetProfileName
  authorities: number
  relays: number
  measure?: { onions: number; roundTrips: number; transferBytes: number }
  link?: LinkCommand
}

function parseCommand(argv: string[]): Command | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string', default: '.burrow-testnet' },
        profile: { type: 'string', default: 'fast' },
        authorities: { type: 'string', default: '3' },
        relays: { type: 'string', default: '3' },
        measure: { type: 'boolean', default: false },
        onions: { type: 'string', default: '3' },
        'round-trips': { type: 'string', default: '20' },
        'transfer-mb': { type: 'string', default: '0' },
        relay: { type: 'string' },
        'client-port': { type: 'string' },
        'client-pid': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const [name, ...rest] = positionals
  if (name !== 'up' && name !== 'status' && name !== 'down' && name !== 'link') throw new UsageError(name === undefined ? 'missing command' : `unknown command: ${name}`)
  const profile = values.profile as TestnetProfileName
  if (!TESTNET_PROFILES.includes(profile)) throw new UsageError(`--profile must be one of ${TESTNET_PROFILES.join(', ')}`)
  const cmd: Command = { name, dir: values.dir, profile, authorities: count('--authorities', values.authorities), relays: count('--relays', values.relays) }
  if (name === 'link') {
    const [action, ...extra] = rest
    if (action !== 'drop' && action !== 'stall' && action !== 'restore') throw new UsageError("'link' needs drop, stall or restore")
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`)
    const target = linkTarget(values.relay, values['client-port'], values['client-pid'])
    if (action === 'restore') cmd.link = target === undefined ? { action } : { action, target }
    else if (target === undefined) throw new UsageError(`'link ${action}' needs --relay, --client-port or --client-pid`)
    else cmd.link = { action, target }
  } else if (rest.length > 0) {
    throw new UsageError(`unexpected argument: ${rest[0]}`)
  }
  if (values.measure) {
    cmd.measure = { onions: count('--onions', values.onions), roundTrips: count('--round-trips', values['round-trips']), transferBytes: count('--transfer-mb', values['transfer-mb']) * 1e6 }
  }
  return cmd
}

function linkTarget(relay: string | undefined, clientPort: string | undefined, clientPid: string | undefined): LinkTarget | undefined {
  const given = [relay, clientPort, clientPid].filter((v) => v !== undefined).length
  if (given > 1) throw new UsageError('give one of --relay, --client-port, --client-pid')
  if (relay !== undefined) return { relay }
  if (clientPort !== undefined) return { clientPort: count('--client-port', clientPort, 65535) }
  if (clientPid !== undefined) return { clientPid: count('--client-pid', clientPid, 2 ** 22) }
  return undefined
}

function count(flag: string, value: string, max = 999): number {
  if (!/^\d{1,7}$/.test(value) || Number(value) > max) throw new UsageError(`${flag} needs a whole number up to ${max}, got ${value}`)
  return Number(value)
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function describeJoin(dir: string, joinFile: string): string {
  const rel = relative(process.cwd(), joinFile)
  const shown = rel.startsWith('..') || isAbsolute(rel) ? joinFile : rel
  return `To join, add the lines of ${shown} to the node's torrc, or pass --testnet ${dir}`
}

function printStatus(dir: string, status: TestnetStatus): void {
  for (const n of status.nodes) console.log(`  ${n.nickname.padEnd(10)} pid ${String(n.pid).padEnd(8)} ${n.alive ? 'alive' : 'DEAD'}`)
  if (status.emulator !== undefined) console.log(`  ${'links'.padEnd(10)} pid ${String(status.emulator.pid).padEnd(8)} ${status.emulator.alive ? 'alive' : 'DEAD'} (link emulator)`)
  console.log(status.consensusRelays === undefined ? '  consensus: not available' : `  consensus: ${status.consensusRelays} relays`)
  console.log(`test network in ${dir} (${status.profile ?? 'fast'} profile) is ${status.running ? 'running' : 'NOT fully running'}`)
}

function printFigures(f: OnionFigures): void {
  const ms = (x: number): string => `${x.toFixed(0)} ms`
  const rtt = f.roundTripsMs
  console.log(`raw onion round trip: p50 ${ms(percentile(rtt, 50))}, p95 ${ms(percentile(rtt, 95))}, min ${ms(Math.min(...rtt))}, max ${ms(Math.max(...rtt))} (n=${rtt.length} over ${f.circuits} circuits)`)
  const attempts = f.firstDialAttempts.some((a) => a > 1) ? `; attempts ${f.firstDialAttempts.join(', ')}` : ''
  console.log(`raw first dial to a fresh onion: median ${seconds(percentile(f.firstDialsMs, 50))} (${f.firstDialsMs.map(seconds).join(', ')}; n=${f.firstDialsMs.length}${attempts})`)
  console.log(`onion publication (ADD_ONION → all descriptors uploaded): ${f.publishMs.map(seconds).join(', ')}`)
  console.log(`two client tors bootstrapped in ${seconds(f.clientsReadyMs)}`)
  const t = f.transfer
  if (t === undefined) return
  console.log(`transfer service → client: ${(t.bytes / 1e6).toFixed(0)} MB in ${t.seconds.toFixed(1)} s (${(t.bytesPerSecond / 1e6).toFixed(2)} MB/s)`)
  if (t.emulatorCpuIdle !== undefined && t.emulatorCpuTransfer !== undefined) {
    const pct = (x: number): string => `${(x * 100).toFixed(1)} %`
    console.log(`link emulator CPU (user+sys per second, % of one core): idle ${pct(t.emulatorCpuIdle)}, during the transfer ${pct(t.emulatorCpuTransfer)}`)
  }
}

async function up(cmd: Command): Promise<number> {
  const before = await testnetStatus(cmd.dir)
  if (before.running) {
    console.log(`a test network is already running in ${cmd.dir} (${before.nodes.length} tors, ${before.profile} profile); 'down' stops it`)
    return 0
  }
  if (before.nodes.length > 0) {
    console.log(`cleaning up a stale test network in ${cmd.dir}`)
    await stopTestnet(cmd.dir)
  }
  const started = Date.now()
  const net = await startTestnet({
    dir: cmd.dir,
    authorities: cmd.authorities,
    relays: cmd.relays,
    profile: cmd.profile,
    onProgress: (msg) => console.log(`[${seconds(Date.now() - started)}] ${msg}`),
  })
  console.log(`test network up in ${seconds(Date.now() - started)}: ${net.state.nodes.length} tors in ${net.dir} (${net.profile} profile)`)
  console.log(describeJoin(cmd.dir, net.joinFile))
  return 0
}

async function status(cmd: Command): Promise<number> {
  const s = await testnetStatus(cmd.dir)
  if (s.nodes.length === 0) {
    console.log(`no test network in ${cmd.dir}`)
    return 1
  }
  printStatus(cmd.dir, s)
  if (!s.running || cmd.measure === undefined) return s.running ? 0 : 1
  const started = Date.now()
  const figures = await measureOnions(loadTestnet(cmd.dir).state, {
    workDir: mkdtempSync(join(tmpdir(), 'burrow-testnet-measure-')),
    onions: cmd.measure.onions,
    roundTripsPerOnion: cmd.measure.roundTrips,
    transferBytes: cmd.measure.transferBytes,
    onProgress: (msg) => console.log(`[${seconds(Date.now() - started)}] ${msg}`),
  })
  printFigures(figures)
  return 0
}

async function down(cmd: Command): Promise<number> {
  const s = await testnetStatus(cmd.dir)
  if (s.nodes.length === 0) {
    console.log(`no test network in ${cmd.dir}`)
    return 0
  }
  const started = Date.now()
  await stopTestnet(cmd.dir)
  console.log(`stopped the test network in ${cmd.dir} in ${seconds(Date.now() - started)}`)
  return 0
}

function describeTarget(target: LinkTarget | undefined): string {
  if (target === undefined) return 'every link'
  if ('relay' in target) return `relay ${target.relay}`
  return 'clientPort' in target ? `the client on port ${target.clientPort}` : `the client with PID ${target.clientPid}`
}

async function link(cmd: Command): Promise<number> {
  const command: LinkCommand = cmd.link ?? { action: 'restore' }
  const links = loadTestnet(cmd.dir).links
  if (command.action === 'restore') {
    await links.restore(command.target)
    console.log(`restored ${describeTarget(command.target)}`)
    return 0
  }
  const open = await links[command.action](command.target)
  console.log(`${command.action === 'drop' ? 'dropped' : 'stalled'} ${describeTarget(command.target)} (${open} connection${open === 1 ? '' : 's'} open now); 'link restore' lifts it`)
  return 0
}

async function main(argv: string[]): Promise<number> {
  let cmd: Command | 'help'
  try {
    cmd = parseCommand(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    console.error(`testnet: ${err.message}\n\n${USAGE}`)
    return 2
  }
  if (cmd === 'help') {
    console.log(USAGE)
    return 0
  }
  try {
    return await { up, status, down, link }[cmd.name](cmd)
  } catch (err) {
    console.error(err instanceof BurrowError ? `testnet: ${err.code}: ${err.message}` : `testnet: ${String(err)}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
