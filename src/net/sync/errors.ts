import { BurrowError } from '../../errors.js'

/** Stable codes of the sync layer and their default messages. */
export const SYNC_ERRORS = {
  /** The peer broke the protocol: malformed or oversize frame, forged or invalid operation. */
  SYNC_PROTOCOL: 'the peer broke the sync protocol',
  /** The session ended (stream closed or reset) before the operation finished. */
  SYNC_CLOSED: 'sync session closed',
  SYNC_NOT_SHARED: 'this log is not shared with that peer',
  SYNC_EPHEMERAL_TOO_LARGE: 'the ephemeral message is too large',
} as const
export type SyncErrorCode = keyof typeof SYNC_ERRORS

/** An error of the sync layer; `code` is one of {@link SYNC_ERRORS}. */
export class SyncError extends BurrowError {
  declare readonly code: SyncErrorCode
  constructor(code: SyncErrorCode, message: string = SYNC_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
