import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { BurrowError } from '../errors.js'
import { createLogger } from '../logging.js'
import { withTimeout } from '../util/async.js'
import { encodeDisplayName } from '../keys/display-name.js'
import { keystoreExists, keystoreIsSealed } from '../keys/index.js'
import { loadConfig, type NodeConfig } from '../node/config.js'
import { LocalApiError, socketAnswers, startLocalApi } from '../api/index.js'
import { nodePaths } from '../node/paths.js'
import type { TorChoice } from '../node/index.js'
import { printJson, type Run } from './api-commands.js'
import { CliUsageError, EXIT } from './errors.js'
import { shortId } from './format.js'
import type { CliIo } from './io.js'
import { readPassphrase } from './passphrase.js'
import { bootstrapProgressPrinter } from './progress.js'
import { KeysError } from '../keys/errors.js'

const SHUTDOWN_TIMEOUT_MS = 30_000

// The node module pulls in libp2p, MLS and SQLite: loaded only by the commands that run a node, so the others start fast.
const loadBurrow = async (): Promise<typeof import('../node/burrow.js').Burrow> => (await import('../node/burrow.js')).Burrow

function configPath(run: Run): string {
  return run.globals.config ?? nodePaths(run.globals.dataDir).config
}

/** Writes `displayName` into the config file, keeping whatever else it holds (0600: it is the user's own file). */
function saveDisplayName(path: string, name: string): void {
  const next: NodeConfig = { ...loadConfig(path), displayName: name }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
}

/** `burrow init` */
async function init(run: Run, io: CliIo): Promise<number> {
  const name = typeof run.options.name === 'string' ? run.options.name : undefined
  if (name !== undefined) encodeDisplayName(name)
  const noPassphrase = run.options['no-passphrase'] === true
  const fromStdin = run.options['passphrase-stdin'] === true
  if (noPassphrase && fromStdin) throw new CliUsageError('--no-passphrase and --passphrase-stdin exclude each other')
  const dataDir = run.globals.dataDir
  // Checked before asking for a passphrase that would be thrown away.
  if (await keystoreExists(dataDir)) {
    const { NodeError } = await import('../node/errors.js')
    throw new NodeError('NODE_EXISTS', `a node already exists in ${dataDir}`)
  }
  const passphrase = noPassphrase ? undefined : await readPassphrase(io, { fromStdin, confirm: true })
  if (!noPassphrase && passphrase === undefined) {
    throw new CliUsageError('no passphrase given and stdin is not a terminal: set BURROW_PASSPHRASE, use --passphrase-stdin, or --no-passphrase')
  }
  const Burrow = await loadBurrow()
  const created = await Burrow.init(dataDir, passphrase !== undefined ? { passphrase } : {})
  if (name !== undefined) saveDisplayName(configPath(run), name)
  if (run.globals.json) printJson(io, { peerId: created.peerId, onion: created.onion, dataDir, sealed: passphrase !== undefined })
  else {
    io.stdout.write(`created node ${created.peerId}\nonion     ${created.onion}\ndata dir  ${dataDir}\n`)
    io.stdout.write(`${passphrase !== undefined ? 'keys sealed with your passphrase' : 'keys NOT sealed (file permissions only)'}; next: burrow start\n`)
  }
  return EXIT.OK
}

function torChoice(run: Run, config: NodeConfig): TorChoice {
  const testnet = run.globals.testnet ?? config.testnet
  const torPath = run.globals.torPath ?? config.torPath
  if (config.attach !== undefined && testnet === undefined && run.globals.torPath === undefined) {
    const a = config.attach
    return {
      mode: 'attach',
      control: a.controlSocket !== undefined ? { path: a.controlSocket } : { host: a.controlHost ?? '127.0.0.1', port: a.controlPort! },
      ...(a.cookieFile !== undefined ? { cookieFile: a.cookieFile } : {}),
    }
  }
  return {
    mode: 'managed',
    ...(torPath !== undefined ? { torPath } : {}),
    ...(config.torrcLines !== undefined ? { extraTorrcLines: config.torrcLines } : {}),
    ...(testnet !== undefined ? { testnet } : {}),
  }
}

/** `burrow start`: runs the node in the foreground until a signal or `burrow stop`. */
async function start(run: Run, io: CliIo): Promise<number> {
  const dataDir = run.globals.dataDir
  const paths = nodePaths(dataDir)
  const config = loadConfig(configPath(run))
  // Before asking for a passphrase or starting tor: a second node on the same data dir would fight over everything.
  if (await socketAnswers(paths.socket)) throw new LocalApiError('API_ALREADY_RUNNING', `a node is already running in ${dataDir}`)
  let passphrase: string | undefined
  if ((await keystoreExists(dataDir)) && (await keystoreIsSealed(dataDir))) {
    passphrase = await readPassphrase(io, { fromStdin: run.options['passphrase-stdin'] === true, confirm: false })
    if (passphrase === undefined) throw new KeysError('KEYSTORE_PASSPHRASE_REQUIRED')
  }
  const logger = createLogger({ level: config.logLevel ?? io.env.BURROW_LOG_LEVEL ?? 'warn' })
  const Burrow = await loadBurrow()
  const node = await Burrow.open({
    dataDir,
    tor: torChoice(run, config),
    logger,
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(config.displayName !== undefined ? { displayName: config.displayName } : {}),
  })
  const json = run.globals.json
  const say = (line: string): void => void io.stdout.write(`${line}\n`)
  const event = (name: string, data: unknown): void => printJson(io, { event: name, data })
  const bar = bootstrapProgressPrinter('tor', io.stderr)
  const name = (e: { peerId: string; name?: string }): string => `${e.name ?? shortId(e.peerId)} (${e.peerId})`

  node.on('tor:bootstrap', (p) => (json ? event('tor:bootstrap', p) : bar.update(p)))
  node.on('tor:ready', () => (json ? event('tor:ready', {}) : bar.done('bootstrapped')))
  node.on('tor:lost', (e) => (json ? event('tor:lost', e) : io.stderr.write(`tor lost (${e.reason}); restarting it\n`)))
  node.on('onion:reachable', (e) => (json ? event('onion:reachable', e) : say(`reachable at ${e.address} after ${(e.ms / 1000).toFixed(1)} s`)))
  node.on('peer:connected', (e) => (json ? event('peer:connected', e) : say(`peer connected: ${name(e)}`)))
  node.on('peer:disconnected', (e) => (json ? event('peer:disconnected', e) : say(`peer disconnected: ${name(e)}: ${e.reason}`)))

  const aborter = new AbortController()
  let requestStop!: () => void
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve))
  let stopping: Promise<void> | undefined
  let starting: Promise<void> = Promise.resolve()
  let api: Awaited<ReturnType<typeof startLocalApi>> | undefined
  const shutdown = (why: string): Promise<void> => {
    stopping ??= (async () => {
      if (!json) io.stderr.write(`stopping (${why})\n`)
      aborter.abort()
      await starting.catch(() => {})
      await api?.close()
      await withTimeout(node.stop(), SHUTDOWN_TIMEOUT_MS, 'stopping the node')
    })()
    requestStop()
    return stopping
  }
  const onSignal = (signal: NodeJS.Signals): void => void shutdown(signal).catch(() => {})
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    api = await startLocalApi(node, paths.socket, { logger, onStop: () => shutdown('stop requested') })
    if (!json) say(`node ${node.peerId} starting; local API on ${paths.socket}`)
    starting = node.start(aborter.signal)
    try {
      await starting
    } catch (err) {
      if (stopping === undefined) throw err
    }
    await stopRequested
    await stopping
    if (json) event('stopped', {})
    else say('stopped')
    return EXIT.OK
  } catch (err) {
    await shutdown(err instanceof BurrowError ? err.code : 'error').catch(() => {})
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Commands that run a node in this process, by command path. */
export const NODE_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = { init, start }
