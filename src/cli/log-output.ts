import { chmodSync } from 'node:fs'
import { pino, type DestinationStream } from 'pino'
import { CliError } from './errors.js'
import { printableLine } from './format.js'

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
/** Record fields that are not the event's own data. */
const ENVELOPE = new Set(['level', 'time', 'msg', 'pid', 'hostname'])

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    return JSON.stringify((value as { message: string }).message)
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/**
 * One pino record (a JSON line, already redacted by pino) as a line for
 * people: `warn: tor control: connection ended unexpectedly (attempt=2)`.
 * Text is made printable: log fields can carry what peers sent.
 */
export function formatLogRecord(json: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(json) as Record<string, unknown>
  } catch {
    return printableLine(json.trimEnd())
  }
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level)
  const fields = Object.entries(record)
    .filter(([k]) => !ENVELOPE.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`)
  const msg = typeof record.msg === 'string' ? record.msg : ''
  return printableLine(`${level}: ${msg}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}`)
}

/** A pino destination that hands each record, formatted for people, to `print`: logs on a terminal never show raw JSON. */
export function humanLogDestination(print: (line: string) => void): DestinationStream {
  return { write: (record: string) => print(formatLogRecord(record)) }
}

/**
 * A pino destination appending JSON lines to `path`, created 0600 (records
 * are redacted, but still say whom this node talks to). An existing file is
 * tightened to 0600.
 */
export function logFileDestination(path: string): DestinationStream {
  try {
    const dest = pino.destination({ dest: path, append: true, mkdir: false, sync: true, mode: 0o600 })
    chmodSync(path, 0o600)
    return dest
  } catch (err) {
    throw new CliError('CLI_FILE', `--log-file ${path}: cannot open it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
  }
}
