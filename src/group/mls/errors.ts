import { BurrowError } from '../../errors.js'

/**
 * Base class of every error the MLS layer raises. Processing arbitrary bytes
 * throws only subclasses of this. Messages name the defect, never plaintext or
 * key material; the underlying ts-mls error, when there is one, is the `cause`.
 */
export abstract class MlsError extends BurrowError {}

/** The bytes are not a well-formed MLS structure of the expected kind (garbage, truncated, trailing bytes). */
export class MlsDecodeError extends MlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MLS_MALFORMED', message, options)
  }
}

/**
 * The message belongs to another epoch than the group can handle right now.
 * A future epoch (`isFuture`) means a commit is still missing: buffer the
 * message and retry after applying it. A past epoch means its keys are gone
 * (older than the retention window, or from before this member joined).
 */
export class MlsWrongEpochError extends MlsError {
  /** Epoch written in the message's clear framing. */
  readonly messageEpoch: bigint
  /** Epoch of the group state that refused it. */
  readonly groupEpoch: bigint

  constructor(messageEpoch: bigint, groupEpoch: bigint) {
    const relation = messageEpoch > groupEpoch ? 'future' : 'past'
    super('MLS_WRONG_EPOCH', `message from ${relation} epoch ${messageEpoch}, group is at epoch ${groupEpoch}`)
    this.messageEpoch = messageEpoch
    this.groupEpoch = groupEpoch
  }

  /** True when the message is ahead of the group (worth buffering). */
  get isFuture(): boolean {
    return this.messageEpoch > this.groupEpoch
  }
}

/** The message names another group id. */
export class MlsWrongGroupError extends MlsError {
  constructor() {
    super('MLS_WRONG_GROUP', 'message belongs to another group')
  }
}

/** A credential (key package, leaf, sender) is not a Burrow identity on the caller's roster. */
export class MlsUnauthorizedError extends MlsError {
  constructor(message = 'credential is not on the roster', options?: { cause?: unknown }) {
    super('MLS_UNAUTHORIZED', message, options)
  }
}

/**
 * The message cannot be decrypted by this member: tampered ciphertext, keys of
 * a generation already consumed (each ciphertext decrypts once), or this
 * member was removed from the group.
 */
export class MlsDecryptError extends MlsError {
  constructor(message = 'message cannot be decrypted', options?: { cause?: unknown }) {
    super('MLS_DECRYPT_FAILED', message, options)
  }
}

/**
 * The message decrypted (or was readable) but violates the protocol: a bad
 * signature or confirmation tag, an impersonated sender, an invalid proposal,
 * a handshake message from a past epoch, a wire format Burrow never sends.
 */
export class MlsRejectedError extends MlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MLS_REJECTED', message, options)
  }
}

/** The call does not fit the group's state (not a member, removed from the group, identity mismatch). */
export class MlsUsageError extends MlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MLS_USAGE', message, options)
  }
}
