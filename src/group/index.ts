/**
 * Burrow's group layer: MLS groups carried by the signed logs. A group's id
 * is the log id of its operations; the owner orders epochs; plaintext lives
 * only in each member's local view. Also re-exports the MLS core.
 */
export * from './mls/index.js'
export * from './errors.js'
export { GroupManager, type GroupManagerOptions, type MessagesQuery } from './manager.js'
export type { GroupEvent, GroupInfo, GroupManagerEvents, PendingInvitation, ProcessSummary } from './types.js'
export type { GroupMessage, RejectedGroupOperation } from '../store/index.js'
export { encodeGroupPayload, decodeGroupPayload, MAX_BUNDLED_PROPOSALS, type GroupPayload } from './payload.js'
export {
  KEY_PACKAGE_PROTOCOL,
  MAX_KEY_PACKAGE_REQUEST_BYTES,
  MAX_KEY_PACKAGE_RESPONSE_BYTES,
  answerKeyPackageRequest,
  decodeKeyPackageRequest,
  decodeKeyPackageResponse,
  encodeKeyPackageRequest,
  fetchKeyPackage,
  type AskPeer,
} from './key-package-exchange.js'
