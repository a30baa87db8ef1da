import { readFileSync } from 'node:fs'
import { NodeError } from './errors.js'

/**
 * Settings a user may keep in `<data dir>/config.json` (command-line flags
 * override them). Secrets do not belong here: the passphrase is asked for or
 * read from `BURROW_PASSPHRASE`.
 */
export interface NodeConfig {
  /** Name shown in our contact card. */
  displayName?: string
  /** Absolute path of the tor binary. */
  torPath?: string
  /** Directory of a private test network (`burrow testnet up`) to join instead of the real Tor network. */
  testnet?: string
  /** Extra torrc lines for our managed tor. */
  torrcLines?: string[]
  /** Bridge lines for our managed tor (plain or obfs4): it then reaches the Tor network only through them. */
  bridges?: string[]
  /** Use a tor the user already runs instead of starting one. */
  attach?: { controlHost?: string; controlPort?: number; controlSocket?: string; cookieFile?: string }
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel?: string
  /** Absolute path of a file to append the log to (JSON lines, 0600) instead of printing it. */
  logFile?: string
  /** As a keeper: bytes held per kept group (default 1 GiB). */
  keeperGroupQuota?: number
  /** As a keeper: bytes held for all kept groups together (default 10 GiB). */
  keeperTotalQuota?: number
}

const KEYS: ReadonlySet<string> = new Set(['displayName', 'torPath', 'testnet', 'torrcLines', 'bridges', 'attach', 'logLevel', 'logFile', 'keeperGroupQuota', 'keeperTotalQuota'])
const ATTACH_KEYS: ReadonlySet<string> = new Set(['controlHost', 'controlPort', 'controlSocket', 'cookieFile'])
/** The log levels a config or `--log-level` may name. */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const LEVELS = new Set(LOG_LEVELS)

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) throw new NodeError('CONFIG_INVALID', `${where}${key} must be a non-empty string`)
  return v
}

/** Names an unknown key, the known key it may be a typo of (same letters, other case), and every known key. */
function unknownKey(key: string, known: ReadonlySet<string>, where = ''): string {
  const meant = [...known].find((k) => k.toLowerCase() === key.toLowerCase())
  return `unknown config key "${where}${key.slice(0, 40)}"${meant !== undefined ? ` (did you mean "${where}${meant}"?)` : ''}; known keys: ${[...known].join(', ')}`
}

/** Checks a parsed config object; unknown keys are errors (a typo should not silently do nothing). */
export function validateConfig(value: unknown): NodeConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new NodeError('CONFIG_INVALID', 'the config must be a JSON object')
  const obj = value as Record<string, unknown>
  for (const k of Object.keys(obj)) if (!KEYS.has(k)) throw new NodeError('CONFIG_INVALID', unknownKey(k, KEYS))
  const config: NodeConfig = {}
  const displayName = optionalString(obj, 'displayName', '')
  if (displayName !== undefined) config.displayName = displayName
  const torPath = optionalString(obj, 'torPath', '')
  if (torPath !== undefined) {
    if (!torPath.startsWith('/')) throw new NodeError('CONFIG_INVALID', 'torPath must be an absolute path')
    config.torPath = torPath
  }
  const testnet = optionalString(obj, 'testnet', '')
  if (testnet !== undefined) config.testnet = testnet
  const logLevel = optionalString(obj, 'logLevel', '')
  if (logLevel !== undefined) {
    if (!LEVELS.has(logLevel)) throw new NodeError('CONFIG_INVALID', `logLevel must be one of ${[...LEVELS].join(', ')}`)
    config.logLevel = logLevel
  }
  const logFile = optionalString(obj, 'logFile', '')
  if (logFile !== undefined) {
    if (!logFile.startsWith('/')) throw new NodeError('CONFIG_INVALID', 'logFile must be an absolute path')
    config.logFile = logFile
  }
  for (const key of ['keeperGroupQuota', 'keeperTotalQuota'] as const) {
    const bytes = obj[key]
    if (bytes === undefined) continue
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 1024 * 1024) throw new NodeError('CONFIG_INVALID', `${key} must be a whole number of bytes, at least 1048576 (1 MiB)`)
    config[key] = bytes
  }
  if (obj.torrcLines !== undefined) {
    if (!Array.isArray(obj.torrcLines) || !obj.torrcLines.every((l) => typeof l === 'string')) throw new NodeError('CONFIG_INVALID', 'torrcLines must be an array of strings')
    config.torrcLines = obj.torrcLines as string[]
  }
  if (obj.bridges !== undefined) {
    if (!Array.isArray(obj.bridges) || !obj.bridges.every((l) => typeof l === 'string' && l.length > 0 && l.length <= 4096)) {
      throw new NodeError('CONFIG_INVALID', 'bridges must be an array of bridge lines (strings)')
    }
    config.bridges = obj.bridges as string[]
  }
  if (obj.attach !== undefined) {
    const a = obj.attach
    if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new NodeError('CONFIG_INVALID', 'attach must be an object')
    const attach = a as Record<string, unknown>
    for (const k of Object.keys(attach)) {
      if (!ATTACH_KEYS.has(k)) throw new NodeError('CONFIG_INVALID', unknownKey(k, ATTACH_KEYS, 'attach.'))
    }
    const port = attach.controlPort
    if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new NodeError('CONFIG_INVALID', 'attach.controlPort must be a port number')
    }
    config.attach = {}
    const host = optionalString(attach, 'controlHost', 'attach.')
    const socket = optionalString(attach, 'controlSocket', 'attach.')
    const cookie = optionalString(attach, 'cookieFile', 'attach.')
    if (host !== undefined) config.attach.controlHost = host
    if (typeof port === 'number') config.attach.controlPort = port
    if (socket !== undefined) config.attach.controlSocket = socket
    if (cookie !== undefined) config.attach.cookieFile = cookie
    if (socket === undefined && typeof port !== 'number') throw new NodeError('CONFIG_INVALID', 'attach needs controlPort or controlSocket')
    if (cookie === undefined) {
      throw new NodeError('CONFIG_INVALID', "attach needs cookieFile, the path of your tor's control cookie (Debian: /run/tor/control.authcookie): Burrow authenticates only by SAFECOOKIE with a cookie file you name")
    }
  }
  return config
}

/**
 * Settings a restore takes from a backup's config. An unsealed backup is
 * protected by a checksum anyone can recompute, so its config may be a
 * stranger's: these name nothing to run, reach or write to. The others
 * (tor's path and torrc lines, bridges, an attached tor, the log file, a
 * test network) would let a forged backup run a program of its choosing or
 * open tor's ports at the next start, so the user sets them again.
 */
const RESTORABLE_KEYS: ReadonlySet<keyof NodeConfig> = new Set(['displayName', 'logLevel', 'keeperGroupQuota', 'keeperTotalQuota'])

/** What of a backup's config (its bytes) a restore writes, and the keys it leaves out. An invalid config is left out whole. */
export function restorableConfig(bytes: Uint8Array): { config: NodeConfig; dropped: string[] } {
  let config: NodeConfig
  try {
    config = validateConfig(JSON.parse(new TextDecoder().decode(bytes)))
  } catch {
    return { config: {}, dropped: ['the whole config (it is not valid)'] }
  }
  const kept: Record<string, unknown> = {}
  const dropped: string[] = []
  for (const [key, value] of Object.entries(config)) {
    if (RESTORABLE_KEYS.has(key as keyof NodeConfig)) kept[key] = value
    else dropped.push(key)
  }
  return { config: kept as NodeConfig, dropped }
}

/** Reads `path` if it exists; a missing file is an empty config. */
export function loadConfig(path: string): NodeConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new NodeError('CONFIG_INVALID', `cannot read the config file ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new NodeError('CONFIG_INVALID', `the config file ${path} is not valid JSON`)
  }
  try {
    return validateConfig(parsed)
  } catch (err) {
    if (err instanceof NodeError) throw new NodeError('CONFIG_INVALID', `the config file ${path}: ${err.message}`, { cause: err })
    throw err
  }
}
