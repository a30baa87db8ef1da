/**
 * Burrow: a privacy-first peer-to-peer node that lives only behind Tor onion
 * services. Peers come from an allow-list filled by exchanging contact cards;
 * data lives in signed append-only logs in SQLite; group data is encrypted
 * with MLS before it enters a log.
 *
 * Start with {@link Burrow}: `Burrow.init(dataDir)`, then
 * `Burrow.open({ dataDir })` and `start()`.
 * @module
 */
export { BurrowError, TimeoutError, AbortError } from './errors.js'
export {
  Burrow,
  BURROW_VIRTUAL_PORT,
  NodeError,
  NODE_ERRORS,
  defaultDataDir,
  loadConfig,
  nodePaths,
  validateConfig,
  INVITE_QUEUE_LIMITS,
  type BurrowEvents,
  type BurrowOptions,
  type ForkDetected,
  type ForkView,
  type GroupSummary,
  type InviteEvent,
  type InviteOutcome,
  type PendingInviteView,
  type MemberView,
  type MessageView,
  type NodeConfig,
  type NodeErrorCode,
  type NodePaths,
  type NodeStatus,
  type PeerView,
  type TorChoice,
} from './node/index.js'
export {
  decodeContactCard,
  encodeContactCard,
  contactCardQr,
  createContactCard,
  identityFingerprint,
  KeysError,
  KEYS_ERRORS,
  type KeysErrorCode,
  type ContactCard,
} from './keys/index.js'
export { NetError, NET_ERRORS, type NetErrorCode } from './net/index.js'
export type { BootstrapProgress, OnionAddress } from './tor/index.js'
export { parseOnionAddress, isOnionAddress, InvalidOnionAddressError, TorError, TOR_ERRORS, type TorErrorCode } from './tor/index.js'
export { GroupError, GROUP_ERRORS, KEY_PACKAGE_PROTOCOL, type GroupErrorCode, type GroupStatus, type RotationOutcome } from './group/index.js'
export { forkProofFromText, forkProofToText, verifyForkProof, type ForkFacts, type ForkProof } from './log/index.js'
export { StoreError, STORE_ERRORS, type StoreErrorCode } from './store/index.js'
export { startTestnet, stopTestnet, loadTestnet, testnetStatus, clientTorrcLines, type Testnet, type TestnetOptions } from './testnet/index.js'
