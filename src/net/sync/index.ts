/** `/burrow/sync/1`: log replication between allowed peers over one long-lived stream. */
export * from './channel.js'
export * from './errors.js'
export * from './frames.js'
export * from './session.js'
export { SyncManager, type SyncManagerEvents, type SyncManagerOptions } from './manager.js'
