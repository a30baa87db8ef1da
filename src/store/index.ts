/**
 * SQLite storage, one database per node (WAL, 0600 in a 0700 folder).
 *
 * - `database.ts`: opening (the right better-sqlite3-multiple-ciphers for
 *   this Node.js), pragmas, file modes. `migrations.ts`: the schema, numbered steps.
 * - `sealing.ts`: the database sealed with the keystore's key, and moved
 *   between keys crash-safely (copy, re-key, rename). `at-rest.ts`: a
 *   passphrase change, keystore and database together. `backup.ts`:
 *   backup files (age-sealed container of keystore, config, database snapshot).
 * - `log-store.ts`: operations, validated as they are stored, fork evidence.
 * - `peer-store.ts`: the allow-list's rows and their recent errors.
 *   `group-store.ts`: group state, cursors, invitations, departed members,
 *   the local view (the only plaintext), rejections, the operation MLS is processing.
 *   `pending-invite-store.ts`: the owner's invitations queued until the invitee is reachable.
 *   `keeper-store.ts`: keepers lists and answers, releases not yet
 *   acknowledged, groups kept for others, why a peer is on the allow-list,
 *   the peers this node keeps groups for.
 * - `errors.ts`: `StoreError` and its codes.
 *
 * No transactions span stores here: callers that must write several things
 * atomically (the group core) wrap them in one `db.transaction`.
 * @module
 */export * from './errors.js'
export { openDatabase, withoutFsync, BUSY_TIMEOUT_MS, type Database, type OpenDatabaseOptions } from './database.js'
export { databaseFileState, DATABASE_KEY_LENGTH, type DatabaseFileState } from './sealing.js'
export { changePassphrase, type PassphraseChange } from './at-rest.js'
export {
  snapshotDatabase,
  writeBackup,
  readBackup,
  backupIsSealed,
  BACKUP_FORMAT_VERSION,
  BACKUP_SCRYPT_LOG_N,
  type BackupParts,
  type BackupSealing,
  type RestoredParts,
} from './backup.js'
export { MIGRATIONS, applyMigrations, schemaVersion, type Migration } from './migrations.js'
export { LogStore, deletionTargets, MAX_DELETE_TARGETS, type IngestResult, type LogStoreCounts, type LogStoreOptions, type RejectedOperation, type StoredFork, type WireRow } from './log-store.js'
export { PeerStore, type PeerError, type PeerRow } from './peer-store.js'
export { KeeperStore, type KeeperDecision, type KeeperListRow, type KeepingOrdererRow, type KeptGroupRow } from './keeper-store.js'
export { PendingInviteStore, type PendingInviteRow } from './pending-invite-store.js'
export {
  GroupAttempts,
  GroupStore,
  type DepartedRow,
  type FileRow,
  type GroupEnd,
  type GroupMessage,
  type GroupRow,
  type GroupStateUpdate,
  type InvitationRow,
  type OwnProposal,
  type RatchetRow,
  type RejectedGroupOperation,
} from './group-store.js'
