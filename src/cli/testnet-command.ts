import { resolve } from 'node:path'
import { TESTNET_PROFILES, startTestnet, stopTestnet, testnetStatus, type TestnetProfileName } from '../testnet/index.js'
import { printJson, type Run } from './api-commands.js'
import { CliError, EXIT } from './errors.js'
import type { CliIo } from './io.js'

const DEFAULT_DIR = '.burrow-testnet'

function dirOf(run: Run): string {
  return resolve(typeof run.options.dir === 'string' ? run.options.dir : DEFAULT_DIR)
}

async function up(run: Run, io: CliIo): Promise<number> {
  const dir = dirOf(run)
  const profile = (typeof run.options.profile === 'string' ? run.options.profile : 'fast') as TestnetProfileName
  if (!TESTNET_PROFILES.includes(profile)) throw new CliError('CLI_USAGE', `--profile must be one of ${TESTNET_PROFILES.join(', ')}`)
  const before = await testnetStatus(dir)
  if (before.running) {
    if (run.globals.json) printJson(io, { dir, joinFile: `${dir}/join.torrc`, tors: before.nodes.length })
    else io.stdout.write(`a test network is already running in ${dir}\n`)
    return EXIT.OK
  }
  if (before.nodes.length > 0) await stopTestnet(dir)
  const started = Date.now()
  const net = await startTestnet({ dir, profile, onProgress: (msg) => void (run.globals.json ? undefined : io.stderr.write(`${msg}\n`)) })
  if (run.globals.json) printJson(io, { dir: net.dir, joinFile: net.joinFile, tors: net.state.nodes.length })
  else io.stdout.write(`test network up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${net.state.nodes.length} tors in ${net.dir} (${net.profile} profile)\njoin it with: burrow --testnet ${net.dir} start\n`)
  return EXIT.OK
}

async function status(run: Run, io: CliIo): Promise<number> {
  const dir = dirOf(run)
  const s = await testnetStatus(dir)
  if (run.globals.json) printJson(io, s)
  else if (s.nodes.length === 0) io.stdout.write(`no test network in ${dir}\n`)
  else {
    for (const n of s.nodes) io.stdout.write(`${n.nickname.padEnd(10)}  pid ${String(n.pid).padEnd(8)}  ${n.alive ? 'alive' : 'DEAD'}\n`)
    if (s.emulator !== undefined) io.stdout.write(`${'links'.padEnd(10)}  pid ${String(s.emulator.pid).padEnd(8)}  ${s.emulator.alive ? 'alive' : 'DEAD'} (link emulator)\n`)
    io.stdout.write(`consensus: ${s.consensusRelays === undefined ? 'not available' : `${s.consensusRelays} relays`}\n`)
    io.stdout.write(`test network in ${dir} (${s.profile ?? 'fast'} profile) is ${s.running ? 'running' : 'NOT fully running'}\n`)
  }
  return s.running ? EXIT.OK : EXIT.FAILURE
}

async function down(run: Run, io: CliIo): Promise<number> {
  const dir = dirOf(run)
  await stopTestnet(dir)
  if (run.globals.json) printJson(io, { dir, stopped: true })
  else io.stdout.write(`stopped the test network in ${dir}\n`)
  return EXIT.OK
}

/** `burrow testnet up|status|down`, by command path. */
export const TESTNET_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  'testnet up': up,
  'testnet status': status,
  'testnet down': down,
}
