import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import type BetterSqlite3Type from 'better-sqlite3'
import type { Database } from 'better-sqlite3'
import { applyMigrations, MIGRATIONS, schemaVersion, type Migration } from './migrations.js'
import { StoreError } from './errors.js'
import { applyDatabaseKey, databaseFileState, settleDatabaseFile } from './sealing.js'

export type { Database }

/**
 * The SQLite binding for this Node.js: better-sqlite3-multiple-ciphers, the
 * better-sqlite3 build with SQLite3 Multiple Ciphers (database encryption,
 * see sealing.ts), in the major that runs here. 12 (like better-sqlite3 12)
 * aborts the process on Node 24 when a prepared statement is
 * garbage-collected (Node 24's ObjectWrap asserts in
 * `RemoveEnvironmentCleanupHook`; fixed only by the Node-API rewrite in 13).
 * 13 needs Node-API 10 (Node ≥ 22.14) and crashes on Node 20. So: 13 where
 * Node-API 10 exists, 12 otherwise. Both have better-sqlite3's JavaScript API.
 */
const BetterSqlite3: typeof BetterSqlite3Type = createRequire(import.meta.url)(
  Number(process.versions.napi) >= 10 ? 'better-sqlite3-multiple-ciphers-napi' : 'better-sqlite3-multiple-ciphers',
)

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Open read-only: no file creation, no migrations (the schema must already be current). */
  readonly readonly?: boolean
  /** Schema history to apply; defaults to {@link MIGRATIONS}. */
  readonly migrations?: readonly Migration[]
  /**
   * Seals the database with this 32-byte key (the keystore's database key).
   * A plain database is sealed on the spot, and a change of key interrupted
   * by a crash is finished or undone first (see sealing.ts). Without a key, a
   * sealed database is refused (`STORE_SEALED`); with the wrong one too
   * (`STORE_WRONG_KEY`), changing nothing.
   */
  readonly key?: Uint8Array
}

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000

const FILE_MODE = 0o600
const DIR_MODE = 0o700

/** Creates the file owner-only if it is missing and tightens it to 0600 if it is not. */
function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', FILE_MODE))
  chmodSync(path, FILE_MODE)
}

/**
 * Opens (creating if needed) Burrow's SQLite database and brings its schema
 * up to date.
 *
 * - A missing parent folder is created 0700 (an existing one is left as is:
 *   it may be shared, like /tmp). The database file is created 0600 before
 *   SQLite touches it; SQLite gives -wal and -shm the database file's mode,
 *   and they are chmod-ed again after opening to be sure.
 * - WAL journal: readers never block the writer.
 * - `synchronous=FULL`: every commit is fsync-ed before it returns. NORMAL
 *   survives a process crash but may lose the last commits on power loss;
 *   for this node that would be worse than slow, because a lost own
 *   operation that was already sent to peers gets re-created at the same
 *   seq with other content, and the node has forked its own log.
 * - `foreign_keys=ON`, and a busy timeout of {@link BUSY_TIMEOUT_MS}.
 * - `secure_delete=ON`: deleted and overwritten content is zeroed in the
 *   pages SQLite writes, instead of lingering in free space: private key
 *   packages and superseded MLS states are secrets. Older copies of a page
 *   stay in the WAL until it is checkpointed and truncated or overwritten
 *   (the group layer truncates it after deleting key packages; SECURITY.md).
 *
 * Write other rows atomically with an operation through `db.transaction(fn)`
 * (better-sqlite3 turns nested transactions into savepoints).
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database {
  const readonly = options.readonly === true
  const inMemory = path === ':memory:'
  if (!inMemory && !readonly) {
    const dir = dirname(path)
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: DIR_MODE })
    ensurePrivateFile(path)
    settleDatabaseFile(path, options.key, openConnection)
  } else if (!inMemory && options.key === undefined && databaseFileState(path) === 'sealed') {
    throw new StoreError('STORE_SEALED', `the database ${path} is sealed; it needs the keystore's key`)
  }
  const db = new BetterSqlite3(path, { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS })
  try {
    if (options.key !== undefined) applyDatabaseKey(db, options.key)
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.pragma('foreign_keys = ON')
    db.pragma('secure_delete = ON')
    const migrations = options.migrations ?? MIGRATIONS
    if (readonly) {
      const version = schemaVersion(db)
      if (version > migrations.length) throw new StoreError('STORE_SCHEMA_TOO_NEW', `database schema version ${version} is newer than this build knows (${migrations.length})`)
      if (version < migrations.length) throw new StoreError('STORE_SCHEMA_OUTDATED', `database schema version ${version}, expected ${migrations.length}; open it read-write once to migrate`)
    } else {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      applyMigrations(db, migrations)
      if (!inMemory) for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) chmodSync(path + suffix, FILE_MODE)
    }
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * Runs `fn` (typically one transaction) with `synchronous=NORMAL`: its
 * commits are atomic and survive a crash of the process, but not yet a power
 * loss, until the next commit at FULL (any later one) fsyncs the WAL and
 * with it everything before. For writes that can be redone from what is
 * already stored: processing received operations, whose cursor and results
 * move together. Never for a write that appends an operation of ours (see
 * {@link openDatabase}): a send after such a write makes it durable anyway.
 */
export function withoutFsync<T>(db: Database, fn: () => T): T {
  db.pragma('synchronous = NORMAL')
  try {
    return fn()
  } finally {
    db.pragma('synchronous = FULL')
  }
}

/** A bare connection to an existing database file: no key, pragma or migration (sealing.ts adds its own). */
export function openConnection(path: string): Database {
  return new BetterSqlite3(path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS })
}
