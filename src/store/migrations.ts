import type { Database } from 'better-sqlite3'
import { InvalidMigrationsError, SchemaTooNewError } from './errors.js'

/**
 * One schema step. Migrations run in `version` order, each in its own
 * transaction together with the `PRAGMA user_version` bump, so a crash leaves
 * the database at exactly one version.
 */
export interface Migration {
  /** 1, 2, 3, …: its position in {@link MIGRATIONS}. */
  readonly version: number
  /** Short description, for error messages and humans. */
  readonly name: string
  /** Applies the step. Must not commit or open transactions itself. */
  up(db: Database): void
}

/**
 * Burrow's schema history. Append only: never edit or reorder a released
 * entry, add a new one with the next version number.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'log operations and fork proofs',
    up(db) {
      db.exec(`
        CREATE TABLE log_operations (
          id           INTEGER PRIMARY KEY,
          hash         BLOB    NOT NULL UNIQUE,
          log_id       BLOB    NOT NULL,
          author       BLOB    NOT NULL,
          seq          INTEGER NOT NULL CHECK (seq >= 0),
          header       BLOB    NOT NULL,
          payload_size INTEGER NOT NULL,
          payload      BLOB,            -- NULL when deleted or not yet fetched
          prune_point  INTEGER NOT NULL CHECK (prune_point IN (0, 1)),
          UNIQUE (log_id, author, seq)  -- log_id first: heights() groups by it
        );
        CREATE TABLE log_forks (
          log_id  BLOB    NOT NULL,
          author  BLOB    NOT NULL,
          seq     INTEGER NOT NULL,
          proof   BLOB    NOT NULL,     -- encodeForkProof() bytes
          PRIMARY KEY (log_id, author)  -- one proof suffices: a forked log takes nothing more
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 2,
    name: 'allow-listed peers',
    up(db) {
      db.exec(`
        CREATE TABLE peers (
          peer_id          TEXT    PRIMARY KEY,          -- libp2p PeerId of the identity key
          identity_key     BLOB    NOT NULL UNIQUE,      -- Ed25519 public key
          onion            TEXT    NOT NULL UNIQUE,      -- canonical v3 .onion address
          client_auth_key  BLOB    NOT NULL,             -- X25519 public key we authorize on our onion service
          display_name     TEXT,
          added_at         INTEGER NOT NULL,             -- ms since the Unix epoch
          last_seen        INTEGER,
          last_error_code  TEXT,
          last_error       TEXT,
          last_error_at    INTEGER
        ) WITHOUT ROWID;
      `)
    },
  },
]

/** Throws unless `migrations` are numbered 1, 2, 3, … in order. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new InvalidMigrationsError(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`)
    }
  })
}

/**
 * Brings the database to the newest version in `migrations`. Idempotent:
 * applied steps (up to `PRAGMA user_version`) are skipped. Returns the
 * resulting version.
 */
export function applyMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  checkMigrationList(migrations)
  const current = schemaVersion(db)
  if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length)
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return migrations.length
}

/** The database's schema version (`PRAGMA user_version`). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number
}
