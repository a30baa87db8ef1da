import { BurrowError } from '../errors.js'

/** A master seed was not exactly 32 bytes. */
export class InvalidMasterSeedError extends BurrowError {
  constructor(length: number) {
    super('INVALID_MASTER_SEED', `a master seed must be 32 bytes, got ${length}`)
  }
}

/** `initKeystore` found a keystore already in place; it never overwrites one. */
export class KeystoreExistsError extends BurrowError {
  constructor(path: string) {
    super('KEYSTORE_EXISTS', `a keystore already exists at ${path}; refusing to overwrite it`)
  }
}

/** No keystore file in the data directory. */
export class KeystoreNotFoundError extends BurrowError {
  constructor(path: string, options?: { cause?: unknown }) {
    super('KEYSTORE_NOT_FOUND', `no keystore at ${path}`, options)
  }
}

/**
 * The keystore file is not safely private: readable or writable by group or
 * others, owned by another user, or not a regular file. Refused, as ssh does,
 * rather than silently tightened: a key that was exposed may already be copied,
 * and the user should know.
 */
export class KeystorePermissionsError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEYSTORE_PERMISSIONS', message, options)
  }
}

/** The keystore file is damaged, truncated, or not a keystore at all. */
export class KeystoreCorruptError extends BurrowError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('KEYSTORE_CORRUPT', `keystore is corrupt: ${reason}`, options)
  }
}

/** The keystore is sealed with a passphrase and none was given. */
export class PassphraseRequiredError extends BurrowError {
  constructor() {
    super('KEYSTORE_PASSPHRASE_REQUIRED', 'the keystore is sealed with a passphrase; a passphrase is required')
  }
}

/** The passphrase does not open the sealed keystore. */
export class WrongPassphraseError extends BurrowError {
  constructor() {
    super('KEYSTORE_WRONG_PASSPHRASE', 'wrong passphrase for the keystore')
  }
}

/** A passphrase offered for sealing is unusable (empty). */
export class InvalidPassphraseError extends BurrowError {
  constructor(reason: string) {
    super('KEYSTORE_PASSPHRASE_INVALID', `passphrase rejected: ${reason}`)
  }
}

/** scrypt parameters asked for when sealing are outside the bounds every reader accepts. */
export class InvalidScryptParamsError extends BurrowError {
  constructor(params: string) {
    super('KEYSTORE_PARAMS_INVALID', `scrypt parameters out of bounds: ${params}`)
  }
}

/** A display name for a contact card breaks the rules (length, control characters, encoding). */
export class InvalidDisplayNameError extends BurrowError {
  constructor(reason: string) {
    super('INVALID_DISPLAY_NAME', `invalid display name: ${reason}`)
  }
}

/**
 * A contact card could not be decoded, or a card could not be encoded because
 * it is inconsistent. `reason` says which check failed.
 */
export class InvalidContactCardError extends BurrowError {
  /** Human-readable reason, also part of `message`. */
  readonly reason: string

  constructor(reason: string, options?: { cause?: unknown }) {
    super('INVALID_CONTACT_CARD', `invalid contact card: ${reason}`, options)
    this.reason = reason
  }
}
