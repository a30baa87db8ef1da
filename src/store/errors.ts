import { BurrowError } from '../errors.js'

/** Stable codes of the store and their default messages. */
export const STORE_ERRORS = {
  /** The database was written by a newer Burrow (its schema version is beyond every known migration). */
  STORE_SCHEMA_TOO_NEW: 'the database schema is newer than this build knows',
  /** A read-only open found a database whose schema is not up to date (it cannot migrate it). */
  STORE_SCHEMA_OUTDATED: 'the database schema is outdated; open it read-write once to migrate',
  /** The migration list is not numbered 1, 2, 3, … in order: a programming error. */
  STORE_INVALID_MIGRATIONS: 'invalid migration list',
  /** The log is known to be forked; it accepts no further operations. */
  STORE_LOG_FORKED: 'log is forked and accepts no more operations',
  /** A local append would put a second, different operation at an occupied position. */
  STORE_SEQ_OCCUPIED: 'that seq already holds a different operation',
  /** A sealed database was opened without a key (its keystore is plain, or no key was passed). */
  STORE_SEALED: 'the database is sealed; it needs the keystore\'s key',
  /** The database does not open with the key given: another node's database, or a damaged file. Nothing was changed. */
  STORE_WRONG_KEY: 'the database does not open with this key',
  /** A passphrase removal was asked of a node whose keystore and database are not sealed. */
  STORE_NOT_SEALED: 'the node has no passphrase',
  /** A backup would be written over an existing file. */
  STORE_BACKUP_EXISTS: 'the backup file already exists',
  /** A backup file is not a Burrow backup, or is damaged or truncated. */
  STORE_BACKUP_INVALID: 'not a Burrow backup, or a damaged one',
  /** A sealed backup was opened without a passphrase. */
  STORE_BACKUP_PASSPHRASE_REQUIRED: 'the backup is sealed with a passphrase; a passphrase is required',
  /** The passphrase does not open the sealed backup. */
  STORE_BACKUP_WRONG_PASSPHRASE: 'wrong passphrase for the backup',
  /** Pruning was asked below an operation that is missing or carries no prune flag. */
  STORE_PRUNE_NOT_ALLOWED: 'no stored prune point at that seq',
} as const
export type StoreErrorCode = keyof typeof STORE_ERRORS

/** An error of the store; `code` is one of {@link STORE_ERRORS}. */
export class StoreError extends BurrowError {
  declare readonly code: StoreErrorCode
  constructor(code: StoreErrorCode, message: string = STORE_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
