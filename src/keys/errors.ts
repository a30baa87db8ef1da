import { BurrowError } from '../errors.js'

/** Stable codes of the keys layer (seed, keystore, contact cards) and their default messages. */
export const KEYS_ERRORS = {
  /** A master seed was not exactly 32 bytes. */
  INVALID_MASTER_SEED: 'a master seed must be 32 bytes',
  /** `initKeystore` found a keystore already in place; it never overwrites one. */
  KEYSTORE_EXISTS: 'a keystore already exists; refusing to overwrite it',
  /** No keystore file in the data directory. */
  KEYSTORE_NOT_FOUND: 'no keystore',
  /**
   * The keystore file is not safely private: readable or writable by group or
   * others, owned by another user, or not a regular file. Refused, as ssh does,
   * rather than silently tightened: a key that was exposed may already be
   * copied, and the user should know.
   */
  KEYSTORE_PERMISSIONS: 'the keystore file is not private',
  /** The keystore file is damaged, truncated, or not a keystore at all. */
  KEYSTORE_CORRUPT: 'keystore is corrupt',
  /** The keystore is sealed with a passphrase and none was given. */
  KEYSTORE_PASSPHRASE_REQUIRED: 'the keystore is sealed with a passphrase; a passphrase is required',
  /** The passphrase does not open the sealed keystore. */
  KEYSTORE_WRONG_PASSPHRASE: 'wrong passphrase for the keystore',
  /** A passphrase offered for sealing is unusable (empty). */
  KEYSTORE_PASSPHRASE_INVALID: 'passphrase rejected',
  /** scrypt parameters asked for when sealing are outside the bounds every reader accepts. */
  KEYSTORE_PARAMS_INVALID: 'scrypt parameters out of bounds',
  /** A display name for a contact card breaks the rules (length, control characters, encoding). */
  INVALID_DISPLAY_NAME: 'invalid display name',
  /** A contact card could not be decoded, or a card could not be encoded because it is inconsistent. */
  INVALID_CONTACT_CARD: 'invalid contact card',
} as const
export type KeysErrorCode = keyof typeof KEYS_ERRORS

/** An error of the keys layer; `code` is one of {@link KEYS_ERRORS}. */
export class KeysError extends BurrowError {
  declare readonly code: KeysErrorCode
  constructor(code: KeysErrorCode, message: string = KEYS_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
