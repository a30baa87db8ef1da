import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { BurrowError } from '../errors.js'
import { createLogger, type Logger } from '../logging.js'
import { withTimeout } from '../util/async.js'
import { encodeDisplayName } from '../keys/display-name.js'
import { keystoreExists, keystoreIsSealed } from '../keys/index.js'
import { LOG_LEVELS, loadConfig, type NodeConfig } from '../node/config.js'
import { LocalApiError, socketAnswers, startLocalApi } from '../api/index.js'
import { nodePaths } from '../node/paths.js'
import type { Burrow } from '../node/burrow.js'
import type { BurrowOptions, TorChoice } from '../node/index.js'
import { printJson, type Run } from './api-commands.js'
import { CliError, EXIT } from './errors.js'
import { printable, printableLine, shortId } from './format.js'
import type { CliIo } from './io.js'
import { humanLogDestination, logFileDestination } from './log-output.js'
import { keeperQuestion, keepingQuestion } from './keeper-commands.js'
import { promptPassphrase, readPassphrase } from './passphrase.js'
import { bootstrapProgressPrinter, LineOutput } from './progress.js'
import { KeysError } from '../keys/errors.js'
import { parseBridgeLine } from '../tor/bridges.js'
import { findTorBinary } from '../tor/binary.js'
import { readState } from '../testnet/state.js'

const SHUTDOWN_TIMEOUT_MS = 30_000
/** Tries at the passphrase prompt of `burrow start`. */
const PASSPHRASE_TRIES = 3

// The node module pulls in libp2p, MLS and SQLite: loaded only by the commands that run a node, so the others start fast.
const loadBurrow = async (): Promise<typeof Burrow> => (await import('../node/burrow.js')).Burrow

/** The config file: `--config`, else `<data dir>/config.json`. */
export function configPath(run: Run): string {
  return run.globals.config ?? nodePaths(run.globals.dataDir).config
}

/** A string flag's value; `CLI_USAGE` if it was given empty. */
export function stringOption(run: Run, name: string): string | undefined {
  const v = run.options[name]
  if (typeof v !== 'string') return undefined
  if (v.length === 0) throw new CliError('CLI_USAGE', `--${name} needs a value`)
  return v
}

/** Writes `displayName` into the config file, keeping whatever else it holds (0600: it is the user's own file). */
function saveDisplayName(path: string, name: string): void {
  const next: NodeConfig = { ...loadConfig(path), displayName: name }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
}

/** A word as a POSIX shell reads it back: as is when plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w/.,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** `burrow start` as the user should type it next: with the --data-dir and --config they gave. */
export function startCommand(run: Run): string {
  const given = (['data-dir', 'config'] as const).filter((name) => typeof run.options[name] === 'string')
  const flags = given.map((name) => ` --${name} ${shellWord(name === 'data-dir' ? run.globals.dataDir : run.globals.config!)}`)
  return `burrow${flags.join('')} start`
}

/** `burrow init` */
async function init(run: Run, io: CliIo): Promise<number> {
  const name = typeof run.options.name === 'string' ? run.options.name : undefined
  if (name !== undefined) encodeDisplayName(name)
  const noPassphrase = run.options['no-passphrase'] === true
  const fromStdin = run.options['passphrase-stdin'] === true
  const file = stringOption(run, 'passphrase-file')
  if (noPassphrase && (fromStdin || file !== undefined)) {
    throw new CliError('CLI_USAGE', `--no-passphrase and ${fromStdin ? '--passphrase-stdin' : '--passphrase-file'} exclude each other`)
  }
  const dataDir = run.globals.dataDir
  // Checked before asking for a passphrase that would be thrown away.
  if (await keystoreExists(dataDir)) {
    const { NodeError } = await import('../node/errors.js')
    throw new NodeError('NODE_EXISTS', `a node already exists in ${dataDir}`)
  }
  const passphrase = noPassphrase ? undefined : (await readPassphrase(io, { ...(file !== undefined ? { file } : {}), fromStdin, confirm: true }))?.value
  if (!noPassphrase && passphrase === undefined) {
    throw new CliError(
      'CLI_USAGE',
      'no passphrase given and stdin is not a terminal: use --passphrase-file, --passphrase-stdin or BURROW_PASSPHRASE, or --no-passphrase',
    )
  }
  const Burrow = await loadBurrow()
  const created = await Burrow.init(dataDir, passphrase !== undefined ? { passphrase } : {})
  if (name !== undefined) saveDisplayName(configPath(run), name)
  if (run.globals.json) printJson(io, { peerId: created.peerId, onion: created.onion, dataDir, sealed: passphrase !== undefined })
  else {
    io.stdout.write(`created node ${created.peerId}\nonion     ${created.onion}\ndata dir  ${dataDir}\n`)
    io.stdout.write(`${passphrase !== undefined ? 'keys sealed with your passphrase' : 'keys NOT sealed (file permissions only)'}; next: ${printable(startCommand(run))}\n`)
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
  const flagged = run.options.bridge
  const bridges = Array.isArray(flagged) && flagged.length > 0 ? flagged : config.bridges
  // Checked here, before a passphrase is asked for and "starting" is printed: a bad line is bad input (exit 2),
  // and a tor binary or a test network that is not there fails now rather than after the node began to start.
  for (const line of bridges ?? []) parseBridgeLine(line)
  findTorBinary(torPath)
  if (testnet !== undefined) readState(resolve(testnet))
  return {
    mode: 'managed',
    ...(torPath !== undefined ? { torPath } : {}),
    ...(config.torrcLines !== undefined ? { extraTorrcLines: config.torrcLines } : {}),
    ...(bridges !== undefined && bridges.length > 0 ? { bridges } : {}),
    ...(testnet !== undefined ? { testnet } : {}),
  }
}

/** The log level: `--log-level`, else the config's `logLevel`, else `BURROW_LOG_LEVEL`, else `warn`. */
function logLevel(run: Run, config: NodeConfig, env: NodeJS.ProcessEnv): string {
  const flag = stringOption(run, 'log-level')
  if (flag !== undefined && !LOG_LEVELS.includes(flag)) throw new CliError('CLI_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  const level = flag ?? config.logLevel ?? env.BURROW_LOG_LEVEL ?? 'warn'
  return LOG_LEVELS.includes(level) ? level : 'warn'
}

/**
 * Opens the node, asking for the passphrase of a sealed keystore. A
 * passphrase typed at the prompt may be retyped: {@link PASSPHRASE_TRIES}
 * tries in all.
 */
export async function openNode(run: Run, io: CliIo, options: Omit<BurrowOptions, 'passphrase'>): Promise<Burrow> {
  const Burrow = await loadBurrow()
  const dataDir = options.dataDir
  if (!(await keystoreExists(dataDir)) || !(await keystoreIsSealed(dataDir))) return Burrow.open(options)
  const file = stringOption(run, 'passphrase-file')
  let passphrase = await readPassphrase(io, { ...(file !== undefined ? { file } : {}), fromStdin: run.options['passphrase-stdin'] === true, confirm: false })
  if (passphrase === undefined) throw new KeysError('KEYSTORE_PASSPHRASE_REQUIRED')
  for (let tries = 1; ; tries++) {
    try {
      return await Burrow.open({ ...options, passphrase: passphrase.value })
    } catch (err) {
      const wrong = err instanceof BurrowError && err.code === 'KEYSTORE_WRONG_PASSPHRASE'
      if (!wrong || !passphrase.prompted || tries >= PASSPHRASE_TRIES) throw err
      const left = PASSPHRASE_TRIES - tries
      io.stderr.write(`wrong passphrase; ${left} ${left === 1 ? 'try' : 'tries'} left\n`)
      passphrase = { value: await promptPassphrase(io), prompted: true }
    }
  }
}

/** The keeper quota a config sets, as node options. */
function keeperQuota(config: NodeConfig): { keeperQuota?: { perGroupBytes?: number; totalBytes?: number } } {
  const quota = {
    ...(config.keeperGroupQuota !== undefined ? { perGroupBytes: config.keeperGroupQuota } : {}),
    ...(config.keeperTotalQuota !== undefined ? { totalBytes: config.keeperTotalQuota } : {}),
  }
  return Object.keys(quota).length === 0 ? {} : { keeperQuota: quota }
}

/** `burrow start`: runs the node in the foreground until a signal or `burrow stop`. */
async function start(run: Run, io: CliIo): Promise<number> {
  const dataDir = run.globals.dataDir
  const paths = nodePaths(dataDir)
  const config = loadConfig(configPath(run))
  const json = run.globals.json
  const lines = new LineOutput(io.stdout, io.stderr)
  const logFileFlag = stringOption(run, 'log-file')
  const logFile = logFileFlag !== undefined ? resolve(logFileFlag) : config.logFile
  const level = logLevel(run, config, io.env)
  // Before asking for a passphrase or starting tor: a second node on the same data dir would fight over everything.
  if (await socketAnswers(paths.socket)) throw new LocalApiError('API_ALREADY_RUNNING', `a node is already running in ${dataDir}`)
  const logger: Logger = createLogger({ level }, logFile !== undefined ? logFileDestination(logFile) : humanLogDestination((line) => lines.err(line)))
  const node = await openNode(run, io, {
    dataDir,
    tor: torChoice(run, config),
    logger,
    ...(config.displayName !== undefined ? { displayName: config.displayName } : {}),
    ...keeperQuota(config),
  })
  // Event lines carry peers' names and tor's reasons: made printable like everything from outside.
  const say = (line: string): void => lines.out(printableLine(line))
  const event = (name: string, data: unknown): void => printJson(io, { event: name, data })
  const bar = bootstrapProgressPrinter('tor', lines)
  const name = (e: { peerId: string; name?: string }): string => `${e.name ?? shortId(e.peerId)} (${e.peerId})`

  const aborter = new AbortController()
  let requestStop!: () => void
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve))
  let stopping: Promise<void> | undefined
  let starting: Promise<void> = Promise.resolve()
  let api: Awaited<ReturnType<typeof startLocalApi>> | undefined

  node.on('tor:bootstrap', (p) => (json ? event('tor:bootstrap', p) : stopping === undefined && bar.update(p)))
  node.on('tor:ready', () => (json ? event('tor:ready', {}) : bar.done('bootstrapped')))
  node.on('tor:lost', (e) => (json ? event('tor:lost', e) : lines.err(printableLine(`tor lost (${e.reason}); restarting it`))))
  node.on('onion:reachable', (e) => (json ? event('onion:reachable', e) : say(`reachable at ${e.address} after ${(e.ms / 1000).toFixed(1)} s`)))
  node.on('peer:connected', (e) => (json ? event('peer:connected', e) : say(`peer connected: ${name(e)}`)))
  node.on('peer:disconnected', (e) => (json ? event('peer:disconnected', e) : say(`peer disconnected: ${name(e)}: ${e.reason}`)))
  node.on('log:fork', (f) =>
    json
      ? event('log:fork', f)
      : say(`fork detected: ${f.self ? 'your own identity' : (f.authorName ?? shortId(f.authorPeerId))} signed two different operations at seq ${f.seq}; proof ${f.id} (\`burrow forks\`)`),
  )
  node.on('group:keepers', (q) => (json ? event('group:keepers', q) : say(keeperQuestion(q))))
  node.on('kept:asked', (o) => (json ? event('kept:asked', o) : say(keepingQuestion(o))))
  node.on('keeper:full', (e) => (json ? event('keeper:full', e) : lines.err(printableLine(`${e.code}: ${e.message}`))))
  node.on('group:invite', (e) => {
    if (json) event('group:invite', e)
    else if (e.state === 'invited' || e.state === 'failed') {
      say(`invitation of ${e.name ?? shortId(e.peerId)} to ${e.groupId.slice(0, 12)}: ${e.state === 'invited' ? 'sent' : `dropped (${e.error?.code ?? 'failed'})`}`)
    }
  })

  const shutdown = (why: string): Promise<void> => {
    stopping ??= (async () => {
      lines.endProgress()
      if (!json) lines.err(`stopping (${why})`)
      aborter.abort()
      await starting.catch(() => {})
      try {
        await withTimeout(node.stop(), SHUTDOWN_TIMEOUT_MS, 'stopping the node')
      } finally {
        // Last: `burrow stop` returns when the socket is gone, so it must outlive everything else.
        await api?.close()
      }
    })()
    requestStop()
    return stopping
  }
  const onSignal = (signal: NodeJS.Signals): void => void shutdown(signal).catch(() => {})
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const stopRedrawing = lines.redrawOnResize()
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
    stopRedrawing()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Commands that run a node in this process, by command path. */
export const NODE_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = { init, start }
