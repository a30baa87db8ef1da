import type { Database } from 'better-sqlite3'
import { StoreError } from './errors.js'

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
          UNIQUE (log_id, author, seq)  -- log_id first: heights() and the per-log queries walk it
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
  {
    version: 3,
    name: 'groups: MLS state, processing cursors, local view',
    up(db) {
      db.exec(`
        CREATE TABLE groups (
          group_id          BLOB    PRIMARY KEY,        -- 32-byte random id, also the log id of its operations
          name              TEXT,                       -- local label only, never replicated
          owner             BLOB    NOT NULL,           -- identity key of the creator, the only committer
          state             BLOB    NOT NULL,           -- MlsGroup.encodeState(): SECRET epoch keys
          epoch             INTEGER NOT NULL CHECK (epoch >= 0),
          joined_epoch      INTEGER NOT NULL,           -- operations of earlier epochs are unreadable here
          active            INTEGER NOT NULL CHECK (active IN (0, 1)),
          own_proposal      BLOB,                       -- SHA-256 of our proposal awaiting the owner's commit
          own_proposal_kind TEXT    CHECK (own_proposal_kind IN ('update', 'leave')),
          created_at        INTEGER NOT NULL            -- ms since the Unix epoch
        ) WITHOUT ROWID;
        CREATE TABLE group_members (
          group_id  BLOB NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
          identity  BLOB NOT NULL,                      -- Ed25519 identity key (the MLS credential)
          PRIMARY KEY (group_id, identity)
        ) WITHOUT ROWID;
        CREATE INDEX group_members_by_identity ON group_members (identity);
        CREATE TABLE group_cursors (
          group_id  BLOB    NOT NULL,
          author    BLOB    NOT NULL,
          seq       INTEGER NOT NULL,                   -- last processed seq of (author, group log)
          PRIMARY KEY (group_id, author)
        ) WITHOUT ROWID;
        CREATE TABLE group_invitations (
          id               INTEGER PRIMARY KEY,
          group_id         BLOB    NOT NULL,
          inviter          BLOB    NOT NULL,            -- identity key we let share the group log with us
          public_package   BLOB    NOT NULL,
          private_package  BLOB    NOT NULL,            -- SECRET HPKE keys of the key package
          created_at       INTEGER NOT NULL
        );
        CREATE INDEX group_invitations_by_group ON group_invitations (group_id);
        CREATE TABLE group_messages (
          id           INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids never reused, so afterId paging is stable
          group_id     BLOB    NOT NULL,
          author       BLOB    NOT NULL,
          seq          INTEGER NOT NULL,
          epoch        INTEGER NOT NULL,
          plaintext    BLOB    NOT NULL,                -- the local view: the only place plaintext is kept
          received_at  INTEGER NOT NULL,
          UNIQUE (group_id, author, seq)
        );
        CREATE TABLE group_rejected (
          op_hash      BLOB    PRIMARY KEY,
          group_id     BLOB    NOT NULL,
          author       BLOB    NOT NULL,
          seq          INTEGER NOT NULL,
          epoch        INTEGER,
          code         TEXT    NOT NULL,
          rejected_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX group_rejected_by_group ON group_rejected (group_id, rejected_at);
      `)
    },
  },
  {
    version: 4,
    name: 'groups: ids bound to their owner',
    up(db) {
      // Group ids are now SHA-256("burrow/v1/group-id" ‖ owner key ‖ nonce) and an invitee answers
      // only requests that prove it. A group made before keeps its random id and stays usable, but
      // its owner cannot invite into it any more (no nonce can be derived for it). Invitations made
      // before were never checked against their inviter's key: they are dropped (the owner invites again).
      db.exec(`
        ALTER TABLE groups ADD COLUMN id_nonce BLOB;   -- owner only: group_id = SHA-256(label ‖ owner ‖ id_nonce)
        DELETE FROM group_invitations;
      `)
    },
  },
  {
    version: 5,
    name: 'the life of a group: how it ended, shared names, departed members, queued invites; fork times; peer errors',
    up(db) {
      db.exec(`
        ALTER TABLE groups ADD COLUMN ended TEXT CHECK (ended IN ('left', 'removed'));  -- why the group is inactive here
        ALTER TABLE groups ADD COLUMN label_set INTEGER NOT NULL DEFAULT 0 CHECK (label_set IN (0, 1)); -- 1: the user chose the local name
        ALTER TABLE groups ADD COLUMN shared_name TEXT;       -- the owner's name for the group (an owner-signed, MLS-encrypted setting)
        ALTER TABLE groups ADD COLUMN description TEXT;       -- the owner's description, likewise
        UPDATE groups SET label_set = 1 WHERE name IS NOT NULL;
        UPDATE groups SET ended = 'removed' WHERE active = 0;
        CREATE TABLE group_departed (
          group_id      BLOB    NOT NULL,
          member        BLOB    NOT NULL,                 -- identity key of a member removed (or who left)
          owner_seq     INTEGER NOT NULL,                 -- seq of the owner's commit that removed it: shared up to and including it
          departed_at   INTEGER NOT NULL,
          PRIMARY KEY (group_id, member)
        ) WITHOUT ROWID;
        CREATE INDEX group_departed_by_time ON group_departed (departed_at);
        CREATE TABLE group_pending_invites (
          group_id        BLOB    NOT NULL,
          peer            BLOB    NOT NULL,               -- identity key of the invitee
          created_at      INTEGER NOT NULL,
          attempts        INTEGER NOT NULL DEFAULT 0,
          last_attempt_at INTEGER,
          last_error_code TEXT,
          last_error      TEXT,
          PRIMARY KEY (group_id, peer)
        ) WITHOUT ROWID;
        ALTER TABLE log_forks ADD COLUMN detected_at INTEGER;   -- ms since the Unix epoch (NULL: detected before this column)
        CREATE INDEX log_forks_by_author ON log_forks (author);
        CREATE TABLE peer_errors (
          id        INTEGER PRIMARY KEY,
          peer_id   TEXT    NOT NULL REFERENCES peers (peer_id) ON DELETE CASCADE,
          code      TEXT    NOT NULL,
          message   TEXT    NOT NULL,
          at        INTEGER NOT NULL
        );
        CREATE INDEX peer_errors_by_peer ON peer_errors (peer_id, id);
        INSERT INTO peer_errors (peer_id, code, message, at)
          SELECT peer_id, last_error_code, COALESCE(last_error, ''), last_error_at FROM peers
          WHERE last_error_code IS NOT NULL AND last_error_at IS NOT NULL;
      `)
    },
  },
  {
    version: 6,
    name: 'files, deletion and retention',
    up(db) {
      db.exec(`
        CREATE TABLE log_deleted (                     -- payloads their author asked to delete (a signed \`delete\` extension)
          log_id  BLOB    NOT NULL,
          author  BLOB    NOT NULL,
          seq     INTEGER NOT NULL,
          PRIMARY KEY (log_id, author, seq)
        ) WITHOUT ROWID;
        ALTER TABLE groups ADD COLUMN retention_ms INTEGER;        -- the owner's retention period; NULL: kept until deleted
        ALTER TABLE group_cursors ADD COLUMN swept INTEGER NOT NULL DEFAULT -1;  -- last seq the retention sweep passed
        ALTER TABLE group_messages ADD COLUMN sent_at INTEGER;     -- the author's clock (\`ts\`), when the operation carries it
        ALTER TABLE group_messages ADD COLUMN file_log BLOB;       -- a file entry: its file log id (group_files); plaintext is empty
        CREATE TABLE group_files (
          log_id       BLOB    PRIMARY KEY,          -- SHA-256(label ‖ group id ‖ file id): the log of the file's chunks
          group_id     BLOB    NOT NULL,
          file_id      BLOB    NOT NULL,
          author       BLOB    NOT NULL,             -- the sender; the only author accepted in the file log
          seq          INTEGER NOT NULL,             -- the announcement's seq in the sender's group log
          name         TEXT    NOT NULL,             -- as the sender named it (never used as a path unsanitised)
          media_type   TEXT    NOT NULL,
          size         INTEGER NOT NULL,
          sha256       BLOB    NOT NULL,             -- of the content
          chunk_size   INTEGER NOT NULL,
          chunk_count  INTEGER NOT NULL,
          file_key     BLOB    NOT NULL,             -- SECRET: the key every chunk is sealed with
          sent_at      INTEGER NOT NULL,             -- the sender's clock
          UNIQUE (group_id, file_id)
        ) WITHOUT ROWID;
        CREATE TABLE group_file_uploads (            -- our file logs written but not announced yet (dropped after a crash)
          log_id      BLOB    PRIMARY KEY,
          group_id    BLOB    NOT NULL,
          started_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 7,
    name: 'groups: ratchet positions persisted per application message',
    up(db) {
      // An application message moves one ratchet of the MLS state: that ratchet is stored here instead of the
      // whole state (which grows with the group); a full state written at the next epoch change replaces the rows.
      db.exec(`
        CREATE TABLE group_ratchets (
          group_id   BLOB    NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
          epoch      INTEGER NOT NULL CHECK (epoch >= 0),
          leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),  -- the sender whose application ratchet moved
          ratchet    BLOB    NOT NULL,                           -- SECRET: next ratchet secret, generation, unused generations
          PRIMARY KEY (group_id, epoch, leaf_index)
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 8,
    name: 'keepers: keeper lists of our groups, releases not yet acknowledged, groups we keep for others, why a peer is on the allow-list',
    up(db) {
      db.exec(`
        CREATE TABLE group_keepers (
          group_id BLOB PRIMARY KEY REFERENCES groups (group_id) ON DELETE CASCADE,
          keepers  BLOB NOT NULL,                  -- the owner's latest list: canonical CBOR of peer entries (keeper-wire.ts)
          decision TEXT NOT NULL DEFAULT 'ask' CHECK (decision IN ('ask', 'allow', 'deny'))
        ) WITHOUT ROWID;
        CREATE TABLE kept_groups (
          group_id     BLOB    PRIMARY KEY,
          owner        BLOB    NOT NULL,           -- the first orderer, pinned
          members      BLOB    NOT NULL,           -- canonical CBOR of peer entries
          keepers      BLOB    NOT NULL,
          retention_ms INTEGER,
          ordered_at   INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE kept_file_logs (
          log_id   BLOB PRIMARY KEY,
          group_id BLOB NOT NULL REFERENCES kept_groups (group_id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX kept_file_logs_group ON kept_file_logs (group_id);
        CREATE TABLE keeper_releases (
          group_id BLOB NOT NULL,                  -- a group we own
          keeper   BLOB NOT NULL,                  -- a keeper dropped from its list that has not acknowledged its release yet
          PRIMARY KEY (group_id, keeper)
        ) WITHOUT ROWID;
        CREATE TABLE peer_reasons (
          peer_id TEXT NOT NULL,
          reason  TEXT NOT NULL,                   -- 'user', 'kept:<group hex>' or 'keeper:<group hex>'
          PRIMARY KEY (peer_id, reason)
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 9,
    name: 'keepers: the peers this node keeps groups for (its user\'s answer to each orderer)',
    up(db) {
      db.exec(`
        CREATE TABLE keeping_orderers (
          identity_key BLOB    PRIMARY KEY,        -- an allow-listed peer that sent this node an order
          decision     TEXT    NOT NULL CHECK (decision IN ('ask', 'allow', 'deny')),
          decided_at   INTEGER NOT NULL            -- when it first asked, or when the user answered
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 10,
    name: 'groups: the peer operation MLS is processing, so that one the process died in is not tried for ever',
    up(db) {
      db.exec(`
        CREATE TABLE group_attempt (               -- at most one row: set before MLS processing starts, deleted when it ends
          slot       INTEGER PRIMARY KEY CHECK (slot = 0),
          group_id   BLOB    NOT NULL,
          author     BLOB    NOT NULL,
          seq        INTEGER NOT NULL,
          unfinished INTEGER NOT NULL             -- starts on this operation that never ended (the process died)
        );
      `)
    },
  },
]

/** Throws unless `migrations` are numbered 1, 2, 3, … in order. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StoreError('STORE_INVALID_MIGRATIONS', `migration "${m.name}" has version ${m.version}, expected ${i + 1}`)
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
  if (current > migrations.length) throw new StoreError('STORE_SCHEMA_TOO_NEW', `database schema version ${current} is newer than this build knows (${migrations.length})`)
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
