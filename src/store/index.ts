/**
 * SQLite storage, one database per node (WAL, 0600 in a 0700 folder).
 *
 * - `database.ts`: opening (the right better-sqlite3 for this Node.js),
 *   pragmas, file modes. `migrations.ts`: the schema, numbered steps.
 * - `log-store.ts`: operations, validated as they are stored, fork evidence.
 * - `peer-store.ts`: the allow-list's rows. `group-store.ts`: group state,
 *   cursors, invitations, the local view (the only plaintext), rejections.
 * - `errors.ts`: `StoreError` and its codes.
 *
 * No transactions span stores here: callers that must write several things
 * atomically (the group core) wrap them in one `db.transaction`.
 * @module
 */export * from './errors.js'
export { openDatabase, BUSY_TIMEOUT_MS, type Database, type OpenDatabaseOptions } from './database.js'
export { MIGRATIONS, applyMigrations, schemaVersion, type Migration } from './migrations.js'
export { LogStore, deletionTargets, MAX_DELETE_TARGETS, type IngestResult, type LogStoreCounts, type RejectedOperation, type WireRow } from './log-store.js'
export { PeerStore, type PeerRow } from './peer-store.js'
export {
  GroupStore,
  type FileRow,
  type GroupMessage,
  type GroupRow,
  type GroupStateUpdate,
  type InvitationRow,
  type OwnProposal,
  type RejectedGroupOperation,
} from './group-store.js'
