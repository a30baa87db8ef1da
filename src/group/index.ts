/**
 * Burrow's group layer: MLS groups carried by the signed logs. A group's id
 * is the log id of its operations; the owner orders epochs; plaintext lives
 * only in each member's local view. Also re-exports the MLS core.
 */
export * from './mls/index.js'
export * from './errors.js'
export { GroupManager, type GroupManagerOptions, type MessagesQuery } from './manager.js'
export type { GroupInfo, GroupManagerEvents, PendingInvitation, ProcessSummary } from './types.js'
export type { GroupMessage, RejectedGroupOperation } from './group-store.js'
export { encodeGroupPayload, decodeGroupPayload, MAX_BUNDLED_PROPOSALS, type GroupPayload } from './payload.js'
