/**
 * A node's identity: one 32-byte master seed from which every key is
 * derived, the keystore that holds the seed on disk (sealed with a
 * passphrase when the user sets one), and contact cards that introduce a
 * node to its peers.
 *
 * - `master-seed.ts`, `derive.ts`: the seed and the keys derived from it
 *   (identity Ed25519, onion service Ed25519, client-auth X25519).
 * - `keystore.ts`, `keystore-format.ts`: the file (0600), its format and sealing;
 *   the database key of a sealed keystore (`deriveDatabaseKey`), and
 *   passphrase changes staged beside the keystore then committed by rename.
 * - `contact-card.ts`: `burrow1…` cards (bech32m), signed by the identity key;
 *   `contact-card-qr.ts` draws one; `display-name.ts` checks names.
 * - `fingerprint.ts`: the identity fingerprint people compare out of band.
 * - `errors.ts`: `KeysError` and its codes.
 * @module
 */export * from './errors.js'
export { generateMasterSeed, MASTER_SEED_LENGTH } from './master-seed.js'
export { deriveNodeKeys, deriveDatabaseKey, DERIVATION_LABELS, type IdentityKeyPair, type NodeKeys } from './derive.js'
export { identityFingerprint } from './fingerprint.js'
export {
  initKeystore,
  createKeystore,
  openKeystore,
  unlockKeystore,
  prepareKeystoreChange,
  discardStagedKeystore,
  readKeystoreFile,
  keystoreFileIdentity,
  installKeystoreFile,
  keystoreExists,
  keystoreIsSealed,
  keystorePath,
  KEYSTORE_FILE_NAME,
  STAGED_KEYSTORE_FILE_NAME,
  type KeystoreChange,
  type KeystoreOptions,
  type UnlockedKeystore,
} from './keystore.js'
export { KEYSTORE_FORMAT_VERSION, DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './keystore-format.js'
export { DISPLAY_NAME_MAX_BYTES, decodeDisplayName, encodeDisplayName } from './display-name.js'
export {
  createContactCard,
  encodeContactCard,
  decodeContactCard,
  CONTACT_CARD_PREFIX,
  CONTACT_CARD_VERSION,
  type ContactCard,
} from './contact-card.js'
export { contactCardQr } from './contact-card-qr.js'
