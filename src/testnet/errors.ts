import { BurrowError } from '../errors.js'

/**
 * Stable codes of the testnet layer and their default messages. Messages may
 * carry the tail of a tor notice log, which holds no secrets (tor scrubs
 * addresses and keys from notice logs).
 */
export const TESTNET_ERRORS = {
  TESTNET_START_FAILED: 'the private test network could not be started',
  TESTNET_NOT_READY: 'the private test network did not become ready in time',
  TESTNET_NOT_FOUND: 'no private test network there',
  TESTNET_LINK_CONTROL: 'the link emulator refused or did not answer a command',
  TESTNET_MEASURE_FAILED: 'a measurement on the private test network failed',
} as const
export type TestnetErrorCode = keyof typeof TESTNET_ERRORS

/** An error of the testnet layer; `code` is one of {@link TESTNET_ERRORS}. */
export class TestnetError extends BurrowError {
  declare readonly code: TestnetErrorCode

  constructor(code: TestnetErrorCode, message: string = TESTNET_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
