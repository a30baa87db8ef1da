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
  KEY_PACKAGE_PROTOCOL,
  AmbiguousGroupError,
  ConfigError,
  NodeExistsError,
  NodeNotFoundError,
  NodeStateError,
  PeerUnavailableError,
  defaultDataDir,
  loadConfig,
  nodePaths,
  validateConfig,
  type BurrowEvents,
  type BurrowOptions,
  type GroupSummary,
  type MemberView,
  type MessageView,
  type NodeConfig,
  type NodePaths,
  type NodeStatus,
  type PeerStatus,
  type TorChoice,
} from './node/index.js'
export {
  decodeContactCard,
  encodeContactCard,
  contactCardQr,
  createContactCard,
  identityFingerprint,
  InvalidContactCardError,
  WrongPassphraseError,
  PassphraseRequiredError,
  type ContactCard,
} from './keys/index.js'
export type { PeerRecord } from './net/index.js'
export { UnknownPeerError, AmbiguousPeerError, PeerRejectedError } from './net/index.js'
export type { BootstrapProgress, OnionAddress } from './tor/index.js'
export { parseOnionAddress, isOnionAddress, InvalidOnionAddressError, TorError, TOR_ERRORS, type TorErrorCode } from './tor/index.js'
export { GroupNotFoundError, NotGroupOwnerError, NotAMemberError, GroupInactiveError } from './group/index.js'
export { startTestnet, stopTestnet, loadTestnet, testnetStatus, clientTorrcLines, type Testnet, type TestnetOptions } from './testnet/index.js'
