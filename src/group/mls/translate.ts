import { CodecError, CryptoError, CryptoVerificationError, UsageError, ValidationError } from 'ts-mls/mlsError.js'
import type { RosterAuthService } from './credential.js'
import { MlsError } from './errors.js'

/** ts-mls messages that mean "the key for this generation is gone or out of reach". */
const CONSUMED_GENERATION = /desired gen/i

/**
 * Maps whatever a ts-mls call threw to one of our typed errors. The ts-mls
 * error stays as `cause` for debugging; our message is generic, so nothing
 * from the input (let alone plaintext) reaches it.
 */
export function translateError(err: unknown, auth: RosterAuthService, what: string): MlsError {
  if (err instanceof MlsError) return err
  if (auth.rejected) return new MlsError('MLS_UNAUTHORIZED', `${what}: credential is not on the roster`, { cause: err })
  if (err instanceof CodecError) return new MlsError('MLS_MALFORMED', `${what}: malformed content`, { cause: err })
  if (err instanceof UsageError) return new MlsError('MLS_USAGE', `${what}: not possible in this group state`, { cause: err })
  if (err instanceof CryptoVerificationError) return new MlsError('MLS_REJECTED', `${what}: verification failed`, { cause: err })
  if (err instanceof ValidationError) {
    return CONSUMED_GENERATION.test(err.message)
      ? new MlsError('MLS_DECRYPT_FAILED', `${what}: key for this generation is not available`, { cause: err })
      : new MlsError('MLS_REJECTED', `${what}: violates the MLS protocol`, { cause: err })
  }
  // WebCrypto's AES-GCM and HPKE report a failed tag check as OperationError.
  if (err instanceof CryptoError || isOperationError(err)) {
    return new MlsError('MLS_DECRYPT_FAILED', `${what}: decryption failed`, { cause: err })
  }
  return new MlsError('MLS_REJECTED', `${what}: could not be processed`, { cause: err })
}

function isOperationError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'OperationError'
}
