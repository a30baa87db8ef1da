import { BurrowError } from '../errors.js'

/** Exit codes of `burrow` (documented in `burrow --help`). */
export const EXIT = {
  OK: 0,
  /** Anything failed at run time. */
  FAILURE: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** No node answers on the data directory's API socket. */
  NOT_RUNNING: 3,
  /** A peer, group or node that was named does not exist. */
  NOT_FOUND: 4,
  /** Wrong or missing passphrase, or another keystore problem. */
  KEYSTORE: 5,
} as const

/** The command line cannot be run as given. */
export class CliUsageError extends BurrowError {
  constructor(message: string) {
    super('CLI_USAGE', message)
  }
}

/** A file given to `--file` cannot be sent. */
export class CliFileError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_FILE', message, options)
  }
}

const USAGE_CODES = new Set(['CLI_USAGE', 'API_BAD_REQUEST'])
const NOT_FOUND_CODES = new Set(['PEER_UNKNOWN', 'GROUP_NOT_FOUND', 'GROUP_NOT_A_MEMBER', 'NODE_NOT_FOUND'])

/** The exit code for an error code. */
export function exitCodeFor(code: string): number {
  if (USAGE_CODES.has(code)) return EXIT.USAGE
  if (code === 'API_NOT_RUNNING') return EXIT.NOT_RUNNING
  if (NOT_FOUND_CODES.has(code)) return EXIT.NOT_FOUND
  if (code.startsWith('KEYSTORE_')) return EXIT.KEYSTORE
  return EXIT.FAILURE
}

/** The code and message shown for any thrown value; only `BurrowError` messages are trusted to be free of secrets. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof BurrowError) return { code: err.code, message: err.message }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
}
