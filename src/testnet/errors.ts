import { BurrowError } from '../errors.js'

/** Stable codes of {@link TestnetError}. */
export type TestnetErrorCode = 'TESTNET_START_FAILED' | 'TESTNET_NOT_READY' | 'TESTNET_NOT_FOUND'

/**
 * The private test network could not be started, did not become ready in
 * time, or is not there. Messages may carry the tail of a tor notice log,
 * which holds no secrets (tor scrubs addresses and keys from notice logs).
 */
export class TestnetError extends BurrowError {
  declare readonly code: TestnetErrorCode

  constructor(code: TestnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
