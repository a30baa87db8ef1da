/** SQLite storage: database setup, migrations and the log store. */
export * from './errors.js'
export { openDatabase, BUSY_TIMEOUT_MS, type Database, type OpenDatabaseOptions } from './database.js'
export { MIGRATIONS, applyMigrations, schemaVersion, type Migration } from './migrations.js'
export { LogStore, type IngestResult, type LogStoreCounts, type RejectedOperation, type WireRow } from './log-store.js'
export { PeerStore, type PeerRow } from './peer-store.js'
export {
  GroupStore,
  type GroupMessage,
  type GroupRow,
  type GroupStateUpdate,
  type InvitationRow,
  type OwnProposal,
  type RejectedGroupOperation,
} from './group-store.js'
