/**
 * `npm run testnet -- up|status|down [--dir DIR] [--authorities N] [--relays N]`
 *
 * Manages a private Tor network on 127.0.0.1 that outlives this command, so
 * tests and the demo can join it. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { isAbsolute, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { BurrowError } from '../src/errors.js'
import { startTestnet, stopTestnet, testnetStatus, type TestnetStatus } from '../src/testnet/index.js'

const USAGE = `Usage: npm run testnet -- <command> [options]

Commands:
  up       start a private Tor network (3 authorities + 3 relays) on 127.0.0.1
  status   show whether each tor of the network is alive and the consensus size
  down     stop the network's tors by PID

Options:
  --dir DIR          directory of the network (default: .burrow-testnet)
  --authorities N    directory authorities for 'up' (default: 3)
  --relays N         relays besides the authorities for 'up' (default: 3)
  -h, --help         show this help

Exit codes: 0 ok, 1 failure, 2 usage error.`

class UsageError extends Error {}

interface Command {
  name: 'up' | 'status' | 'down'
  dir: string
  authorities: number
  relays: number
}

function parseCommand(argv: string[]): Command | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string', default: '.burrow-testnet' },
        authorities: { type: 'string', default: '3' },
        relays: { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const [name, ...rest] = positionals
  if (name !== 'up' && name !== 'status' && name !== 'down') throw new UsageError(name === undefined ? 'missing command' : `unknown command: ${name}`)
  if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`)
  return { name, dir: values.dir, authorities: count('--authorities', values.authorities), relays: count('--relays', values.relays) }
}

function count(flag: string, value: string): number {
  if (!/^\d{1,3}$/.test(value)) throw new UsageError(`${flag} needs a whole number, got ${value}`)
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
  console.log(status.consensusRelays === undefined ? '  consensus: not available' : `  consensus: ${status.consensusRelays} relays`)
  console.log(status.running ? `test network in ${dir} is running` : `test network in ${dir} is NOT fully running`)
}

async function up(cmd: Command): Promise<number> {
  const before = await testnetStatus(cmd.dir)
  if (before.running) {
    console.log(`a test network is already running in ${cmd.dir} (${before.nodes.length} tors); 'down' stops it`)
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
    onProgress: (msg) => console.log(`[${seconds(Date.now() - started)}] ${msg}`),
  })
  console.log(`test network up in ${seconds(Date.now() - started)}: ${net.state.nodes.length} tors in ${net.dir}`)
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
  return s.running ? 0 : 1
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
    return await { up, status, down }[cmd.name](cmd)
  } catch (err) {
    console.error(err instanceof BurrowError ? `testnet: ${err.code}: ${err.message}` : `testnet: ${String(err)}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
