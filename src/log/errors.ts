import { BurrowError } from '../errors.js'

/**
 * Base class of every error the log layer raises for an operation that must
 * not be accepted. Decoding arbitrary bytes throws only subclasses of this.
 * Messages describe the defect, never key material.
 */
export abstract class LogError extends BurrowError {}

/** The Ed25519 signature does not verify against the author's key. */
export class InvalidSignatureError extends LogError {
  constructor(message = 'operation signature does not verify') {
    super('LOG_INVALID_SIGNATURE', message)
  }
}

/** The sequence number does not follow the previous operation, or a required predecessor is missing. */
export class WrongSeqError extends LogError {
  constructor(message: string) {
    super('LOG_WRONG_SEQ', message)
  }
}

/** The backlink is missing, present at seq 0, or does not name the previous operation. */
export class WrongBacklinkError extends LogError {
  constructor(message: string) {
    super('LOG_WRONG_BACKLINK', message)
  }
}

/** The payload's hash differs from the header's payload hash. */
export class PayloadHashMismatchError extends LogError {
  constructor() {
    super('LOG_PAYLOAD_HASH_MISMATCH', 'payload hash does not match the header')
  }
}

/** The payload's length differs from the header's payload size. */
export class PayloadSizeMismatchError extends LogError {
  constructor(expected: number, actual: number) {
    super('LOG_PAYLOAD_SIZE_MISMATCH', `payload is ${actual} bytes, header says ${expected}`)
  }
}

/** The header declares a format version this code does not know. */
export class UnknownVersionError extends LogError {
  constructor(version: unknown) {
    super('LOG_UNKNOWN_VERSION', `unknown header version ${String(version)}`)
  }
}

/** A header or payload exceeds the configured size limit. */
export class OversizeError extends LogError {
  constructor(what: 'header' | 'payload', size: number, limit: number) {
    super('LOG_OVERSIZE', `${what} of ${size} bytes exceeds the limit of ${limit}`)
  }
}

/** The bytes decode, but are not the one canonical encoding of what they contain. */
export class NonCanonicalEncodingError extends LogError {
  constructor() {
    super('LOG_NON_CANONICAL', 'header is not canonically encoded')
  }
}

/** The bytes are not a well-formed header: bad CBOR, wrong types or lengths, trailing data, … */
export class MalformedOperationError extends LogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOG_MALFORMED', message, options)
  }
}

/** A fork proof does not prove a fork (bad signature, different logs or seqs, identical headers, …). */
export class InvalidForkProofError extends LogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOG_INVALID_FORK_PROOF', message, options)
  }
}
