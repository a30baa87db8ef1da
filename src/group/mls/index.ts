/**
 * MLS (RFC 9420) for Burrow groups over ts-mls: key packages bound to Ed25519
 * identities, roster-checked credentials, immutable group states that encode
 * and decode across restarts, epoch framing readable without keys, and the
 * checks ts-mls lacks on what a peer puts in the tree (tree-check.ts).
 * Pure functions over bytes: no network, storage or logging.
 */
export * from './errors.js'
export { MLS_CIPHERSUITE, KEY_RETENTION, PADDING } from './suite.js'
export { IDENTITY_KEY_LENGTH, type MlsIdentity, type Roster } from './credential.js'
export { createKeyPackage, KEY_PACKAGE_LIFETIME_SECONDS, type KeyPackagePair } from './key-package.js'
export { messageEpoch, type MessageEpoch } from './messages.js'
export { MAX_TREE_LEAVES } from './tree-check.js'
export type { RatchetStep } from './state-codec.js'
export {
  MlsGroup,
  createGroup,
  joinFromWelcome,
  welcomeIsFor,
  type ProcessResult,
  type ProposalSummary,
  type ProposalType,
  type CommitResult,
  type AddResult,
  type ProposalResult,
  type EncryptResult,
} from './group.js'
