import { BurrowError } from '../errors.js'

/** The database was written by a newer Burrow (its schema version is beyond every known migration). */
export class SchemaTooNewError extends BurrowError {
  constructor(found: number, known: number) {
    super('STORE_SCHEMA_TOO_NEW', `database schema version ${found} is newer than this build knows (${known})`)
  }
}

/** A read-only open found a database whose schema is not up to date (it cannot migrate it). */
export class SchemaOutdatedError extends BurrowError {
  constructor(found: number, expected: number) {
    super('STORE_SCHEMA_OUTDATED', `database schema version ${found}, expected ${expected}; open it read-write once to migrate`)
  }
}

/** The migration list is not numbered 1, 2, 3, … in order: a programming error. */
export class InvalidMigrationsError extends BurrowError {
  constructor(message: string) {
    super('STORE_INVALID_MIGRATIONS', message)
  }
}

/** The log is known to be forked; it accepts no further operations. */
export class LogForkedError extends BurrowError {
  constructor() {
    super('STORE_LOG_FORKED', 'log is forked and accepts no more operations')
  }
}

/** A local append would put a second, different operation at an occupied position. */
export class SeqOccupiedError extends BurrowError {
  constructor(seq: number) {
    super('STORE_SEQ_OCCUPIED', `seq ${seq} already holds a different operation`)
  }
}

/** Pruning was asked below an operation that is missing or carries no prune flag. */
export class PruneNotAllowedError extends BurrowError {
  constructor(seq: number) {
    super('STORE_PRUNE_NOT_ALLOWED', `no stored prune point at seq ${seq}`)
  }
}
