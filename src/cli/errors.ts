import { BurrowError } from '../errors.js'

/** Exit codes of `burrow` (documented in `burrow --help`). */
export const EXIT = {
  OK: 0,
  /** Anything failed at run time. */
  FAILURE: 1,
  /** The command line is wrong, or input given on it (a card, a name, a file, the config) is malformed or names what is already there. */
  USAGE: 2,
  /** No node answers on the data directory's API socket. */
  NOT_RUNNING: 3,
  /** A peer, group or node that was named does not exist. */
  NOT_FOUND: 4,
  /** Wrong or missing passphrase, or another keystore problem. */
  KEYSTORE: 5,
  /** Ctrl-C at a prompt (128 + SIGINT, as a shell reports an interrupted command). */
  CANCELLED: 130,
} as const

/** What each exit code means, in the order `--help` lists them. */
export const EXIT_MEANINGS: readonly { code: number; meaning: string }[] = [
  { code: EXIT.OK, meaning: 'ok (also when you end `read --follow` or `start` with Ctrl-C)' },
  { code: EXIT.FAILURE, meaning: 'runtime failure' },
  { code: EXIT.USAGE, meaning: 'usage error or bad input (a malformed or own card, name, address, file or config; a file or node already there; a peer already in the group; a fork proof that does not hold)' },
  { code: EXIT.NOT_RUNNING, meaning: 'node not running (no answer on <data dir>/burrow.sock)' },
  { code: EXIT.NOT_FOUND, meaning: 'not found (peer, group, file, message, fork proof, queued invitation, or no node in the data directory)' },
  { code: EXIT.KEYSTORE, meaning: 'wrong or missing passphrase (of the keystore or a backup), or keystore error' },
  { code: EXIT.CANCELLED, meaning: 'cancelled with Ctrl-C at the passphrase prompt' },
]

/** Stable codes of the command line and their default messages. */
export const CLI_ERRORS = {
  CLI_USAGE: 'the command line cannot be run as given; see `burrow --help`',
  CLI_FILE: 'the file cannot be used',
  CLI_PASSPHRASE_FILE: 'the passphrase file cannot be used',
  CLI_CANCELLED: 'cancelled',
  /** `restore` found the node the backup came from still on this machine: a second copy of one identity forks its own logs. */
  CLI_SECOND_COPY: 'the node this backup was taken from still exists; a second copy would fork its logs',
} as const
export type CliErrorCode = keyof typeof CLI_ERRORS

/** An error of the command line; `code` is one of {@link CLI_ERRORS}. */
export class CliError extends BurrowError {
  declare readonly code: CliErrorCode
  constructor(code: CliErrorCode, message: string = CLI_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** Codes meaning the user's input was wrong: the command line, or a card, name, address, file, folder or config it named (an `--out` file or a data directory already taken included). */
const BAD_INPUT_CODES = new Set([
  'CLI_USAGE',
  'CLI_FILE',
  'API_BAD_REQUEST',
  'INVALID_CONTACT_CARD',
  'PEER_REJECTED',
  'INVALID_DISPLAY_NAME',
  'INVALID_ONION_ADDRESS',
  'CONFIG_INVALID',
  'GROUP_INVALID_ARGUMENT',
  'GROUP_AMBIGUOUS',
  'GROUP_NAME_TAKEN',
  'GROUP_ALREADY_A_MEMBER',
  'PEER_AMBIGUOUS',
  'GROUP_FILE_AMBIGUOUS',
  'NODE_FILE_UNREADABLE',
  'NODE_FILE_UNWRITABLE',
  'NODE_FILE_EXISTS',
  'NODE_EXISTS',
  'STORE_BACKUP_INVALID',
  'LOG_INVALID_FORK_PROOF',
  'TOR_SOCKET_PATH_UNUSABLE',
  'TOR_BRIDGE_INVALID',
  'TOR_BRIDGE_TRANSPORT_UNSUPPORTED',
])
/** Codes of a wrong or missing passphrase, or a keystore (or sealed database) that cannot be used: exit 5. */
const KEYSTORE_CODES = new Set(['CLI_PASSPHRASE_FILE', 'STORE_BACKUP_PASSPHRASE_REQUIRED', 'STORE_BACKUP_WRONG_PASSPHRASE', 'STORE_SEALED', 'STORE_WRONG_KEY'])
const NOT_FOUND_CODES = new Set([
  'PEER_UNKNOWN',
  'GROUP_NOT_FOUND',
  'GROUP_NOT_A_MEMBER',
  'NODE_NOT_FOUND',
  'NODE_FORK_NOT_FOUND',
  'NODE_INVITE_NOT_QUEUED',
  'GROUP_FILE_NOT_FOUND',
  'GROUP_ENTRY_NOT_FOUND',
])

/** The exit code for an error code. */
export function exitCodeFor(code: string): number {
  if (BAD_INPUT_CODES.has(code)) return EXIT.USAGE
  if (code === 'API_NOT_RUNNING') return EXIT.NOT_RUNNING
  if (NOT_FOUND_CODES.has(code)) return EXIT.NOT_FOUND
  if (code.startsWith('KEYSTORE_') || KEYSTORE_CODES.has(code)) return EXIT.KEYSTORE
  if (code === 'CLI_CANCELLED') return EXIT.CANCELLED
  return EXIT.FAILURE
}

/** The code and message shown for any thrown value; only `BurrowError` messages are trusted to be free of secrets. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof BurrowError) return { code: err.code, message: err.message }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
}
