import { BurrowError } from '../errors.js'

/**
 * Stable codes of the log layer, each a rule an operation must not break
 * (docs/log-format.md lists them in the order they are checked), and their
 * default messages. Decoding arbitrary bytes throws only `LogError`s; messages
 * describe the defect, never key material.
 */
export const LOG_ERRORS = {
  /** The bytes are not a well-formed header: bad CBOR, wrong types or lengths, trailing data, … */
  LOG_MALFORMED: 'malformed operation',
  /** The bytes decode, but are not the one canonical encoding of what they contain. */
  LOG_NON_CANONICAL: 'header is not canonically encoded',
  /** The header declares a format version this code does not know. */
  LOG_UNKNOWN_VERSION: 'unknown header version',
  /** A header or payload exceeds the configured size limit. */
  LOG_OVERSIZE: 'operation exceeds the size limit',
  /** The Ed25519 signature does not verify against the author's key. */
  LOG_INVALID_SIGNATURE: 'operation signature does not verify',
  /** The sequence number does not follow the previous operation, or a required predecessor is missing. */
  LOG_WRONG_SEQ: 'wrong sequence number',
  /** The backlink is missing, present at seq 0, or does not name the previous operation. */
  LOG_WRONG_BACKLINK: 'wrong backlink',
  /** The payload's hash differs from the header's payload hash. */
  LOG_PAYLOAD_HASH_MISMATCH: 'payload hash does not match the header',
  /** The payload's length differs from the header's payload size. */
  LOG_PAYLOAD_SIZE_MISMATCH: 'payload size does not match the header',
  /** A fork proof does not prove a fork (bad signature, different logs or seqs, identical headers, headers not in the order of their hashes, a text form with anything around it but ASCII white space, …). */
  LOG_INVALID_FORK_PROOF: 'not a valid fork proof',
} as const
export type LogErrorCode = keyof typeof LOG_ERRORS

/** An error of the log layer; `code` is one of {@link LOG_ERRORS}. */
export class LogError extends BurrowError {
  declare readonly code: LogErrorCode
  constructor(code: LogErrorCode, message: string = LOG_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
