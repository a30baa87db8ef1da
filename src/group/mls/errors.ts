import { BurrowError } from '../../errors.js'

/**
 * Stable codes of the MLS core and their default messages. Processing
 * arbitrary bytes throws only `MlsError`s; messages name the defect, never
 * plaintext or key material; the underlying ts-mls error, when there is one,
 * is the `cause`.
 */
export const MLS_ERRORS = {
  /** The bytes are not a well-formed MLS structure of the expected kind (garbage, truncated, trailing bytes). */
  MLS_MALFORMED: 'malformed MLS content',
  /**
   * The message belongs to another epoch than the group can handle right now.
   * A future epoch means a commit is still missing (buffer the message and
   * retry after applying it); a past epoch means its keys are gone (older
   * than the retention window, or from before this member joined).
   */
  MLS_WRONG_EPOCH: 'message from another epoch',
  /** The message names another group id. */
  MLS_WRONG_GROUP: 'message belongs to another group',
  /** A credential (key package, leaf, sender) is not a Burrow identity on the caller's roster. */
  MLS_UNAUTHORIZED: 'credential is not on the roster',
  /**
   * The message cannot be decrypted by this member: tampered ciphertext, keys
   * of a generation already consumed (each ciphertext decrypts once), or this
   * member was removed from the group.
   */
  MLS_DECRYPT_FAILED: 'message cannot be decrypted',
  /**
   * The message decrypted (or was readable) but violates the protocol: a bad
   * signature or confirmation tag, an impersonated sender, an invalid
   * proposal, a handshake message from a past epoch, a wire format Burrow
   * never sends.
   */
  MLS_REJECTED: 'message violates the MLS protocol',
  /** The call does not fit the group's state (not a member, removed from the group, identity mismatch). */
  MLS_USAGE: 'not possible in this group state',
} as const
export type MlsErrorCode = keyof typeof MLS_ERRORS

/** An error of the MLS core; `code` is one of {@link MLS_ERRORS}. */
export class MlsError extends BurrowError {
  declare readonly code: MlsErrorCode
  constructor(code: MlsErrorCode, message: string = MLS_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** `MLS_WRONG_EPOCH` for a message of `messageEpoch` met by a group at `groupEpoch`. */
export function wrongEpoch(messageEpoch: bigint, groupEpoch: bigint): MlsError {
  const relation = messageEpoch > groupEpoch ? 'future' : 'past'
  return new MlsError('MLS_WRONG_EPOCH', `message from ${relation} epoch ${messageEpoch}, group is at epoch ${groupEpoch}`)
}
