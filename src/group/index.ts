/**
 * Burrow's groups: MLS (RFC 9420) groups carried by the signed logs. A
 * group's 32-byte id (derived from its owner's key) is the log id under
 * which every member writes its group operations to its own log; the owner
 * is the only committer and so orders epochs; plaintext lives only in each
 * member's local view.
 *
 * - `manager.ts`: `GroupManager`, the face: create, invite, remove, rotate,
 *   leave, send; ingest (`processSoon`); the sync policy's answers. All of it
 *   runs one step at a time on one queue.
 * - `core.ts`: `GroupCore`, the boundary of group state: every change (MLS
 *   state, our new operations, cursors, local-view rows) is one SQLite
 *   transaction, and returns the events it calls for.
 * - `ingest.ts`: stored operations → MLS state changes, in epoch order.
 * - `key-package-exchange.ts`: `/burrow/keypackage/1`, both ends.
 * - `group-id.ts`: group ids derived from their owner's key, so an invitee
 *   can tell who may invite it to a group.
 * - `invitation-limits.ts`: what an inviter may cost us (request rate,
 *   pending invitations, their lifetime).
 * - `sharing.ts`: who each group log is shared with, in memory (asked for
 *   every sync frame): members, allowed keepers, inviters, and in part
 *   members that departed.
 * - `setting.ts`: the owner's name and description of the group, shared
 *   with the members as an MLS-encrypted setting in its log.
 * - `payload.ts`: what a group operation carries (always MLS ciphertext);
 *   `app-body.ts`: the typed bodies some application messages carry (a file
 *   announcement, the owner's retention period, the owner's keepers list).
 * - Files: `file-upload.ts` (a file's content sealed chunk by chunk into a
 *   log of the sender's own), `file-crypto.ts` (that log's id, the chunks'
 *   AEAD), `file-reader.ts` (the content back, checked), `file-index.ts`
 *   (which group each file log is shared with, in memory).
 * - `retention.ts`: the owner's retention period, applied by every member.
 *   Deletion by an author is a clear `delete` extension the store applies
 *   (store/log-store.ts) and the ingest path reflects in the local view.
 * - Keepers (nodes that hold a group's logs without being members):
 *   `keeper-wire.ts` (the keepers list's peer entries and
 *   `/burrow/keeper/1`'s orders, releases and claims), `kept.ts`
 *   (`KeptGroups`: the groups a keeper keeps, its sync policy, quota and
 *   retention); the owner's list and members' answers live in `core.ts`.
 * - `roster.ts`: which credentials an MLS call accepts.
 * - `mls/`: the MLS core over ts-mls, pure functions over bytes.
 * @module
 */export * from './mls/index.js'
export * from './errors.js'
export { GroupManager, type GroupManagerOptions, type MessagesQuery } from './manager.js'
export type { FileInfo, GroupEvent, GroupInfo, GroupManagerEvents, GroupStatus, PartialShare, PendingInvitation, ProcessSummary, RotationOutcome } from './types.js'
export { MAX_GROUP_DESCRIPTION_LENGTH, MAX_GROUP_NAME_LENGTH, type GroupSetting } from './setting.js'
export { DEPARTED_SHARE_MS, MAX_DEPARTED } from './sharing.js'
export { CHUNK_SIZE, FileUpload } from './file-upload.js'
export { fileLogId, CHUNK_OVERHEAD } from './file-crypto.js'
export { isMediaType, MAX_FILE_BYTES, MAX_FILE_NAME_BYTES, MIN_RETENTION_MS, MAX_RETENTION_MS, type FileAnnouncement } from './app-body.js'
export type { SweepSummary } from './retention.js'
export type { FileRow, GroupMessage, RejectedGroupOperation } from '../store/index.js'
export { encodeGroupPayload, decodeGroupPayload, MAX_BUNDLED_PROPOSALS, MAX_PAYLOAD_PARTS, type GroupPayload } from './payload.js'
export {
  KEY_PACKAGE_PROTOCOL,
  MAX_KEY_PACKAGE_REQUEST_BYTES,
  MAX_KEY_PACKAGE_RESPONSE_BYTES,
  answerKeyPackageRequest,
  decodeKeyPackageRequest,
  decodeKeyPackageResponse,
  KeyPackageRefusedError,
  encodeKeyPackageRequest,
  fetchKeyPackage,
  type AskPeer,
  type KeyPackageRequest,
} from './key-package-exchange.js'
export {
  KEEPER_PROTOCOL,
  MAX_KEEPERS,
  MAX_KEEPER_REQUEST_BYTES,
  MAX_KEEPER_RESPONSE_BYTES,
  decodeKeeperRequest,
  decodeKeeperResponse,
  encodeKeeperRequest,
  encodeKeeperResponse,
  type KeeperRequest,
} from './keeper-wire.js'
export { KeptGroups, DEFAULT_KEEPER_QUOTA, MAX_KEPT_FILE_LOGS, MAX_KEPT_PER_ORDERER, type KeeperQuota, type KeepingOrderer, type KeptGroupsOptions, type KeptGroupView, type KeptPeersChange } from './kept.js'
export type { KeeperList } from './core.js'
export { GROUP_ID_LENGTH, GROUP_ID_NONCE_LENGTH, groupIdOf, isGroupIdOf } from './group-id.js'
export { INVITATION_LIMITS, type InvitationLimits } from './invitation-limits.js'
