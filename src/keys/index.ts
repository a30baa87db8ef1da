/**
 * Node identity: the master seed, the keys derived from it, the keystore that
 * holds it on disk, and contact cards that introduce a node to its peers.
 */
export * from './errors.js'
export { generateMasterSeed, MASTER_SEED_LENGTH } from './master-seed.js'
export { deriveNodeKeys, DERIVATION_LABELS, type IdentityKeyPair, type NodeKeys } from './derive.js'
export { identityFingerprint } from './fingerprint.js'
export {
  initKeystore,
  openKeystore,
  keystoreExists,
  keystoreIsSealed,
  keystorePath,
  KEYSTORE_FILE_NAME,
  type KeystoreOptions,
} from './keystore.js'
export { KEYSTORE_FORMAT_VERSION, DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './keystore-format.js'
export { DISPLAY_NAME_MAX_BYTES } from './display-name.js'
export {
  createContactCard,
  encodeContactCard,
  decodeContactCard,
  CONTACT_CARD_PREFIX,
  CONTACT_CARD_VERSION,
  type ContactCard,
} from './contact-card.js'
export { contactCardQr } from './contact-card-qr.js'
