import { BurrowError } from '../../errors.js'

/** Stable codes of the sync layer and their default messages. */
export const SYNC_ERRORS = {
  /** The peer broke the protocol: malformed or oversize frame, forged or invalid operation. */
  SYNC_PROTOCOL: 'the peer broke the sync protocol',
  /** The session ended (stream closed or reset) before the operation finished. */
  SYNC_CLOSED: 'sync session closed',
  /** The peer made the session reach one of its bounds (heights remembered, answers left unread). */
  SYNC_LIMIT: 'the peer made the sync session exceed one of its limits',
  /** The peer accepted none of the bytes we had for it within the drain timeout. */
  SYNC_PEER_STALLED: 'the peer stopped reading the sync stream',
  SYNC_NOT_SHARED: 'this log is not shared with that peer',
  SYNC_EPHEMERAL_TOO_LARGE: 'the ephemeral message is too large',
  /** Ephemeral messages already waiting for this peer fill its queue. */
  SYNC_SEND_BACKLOG: 'too many ephemeral messages wait for this peer',
} as const
export type SyncErrorCode = keyof typeof SYNC_ERRORS

/** An error of the sync layer; `code` is one of {@link SYNC_ERRORS}. */
export class SyncError extends BurrowError {
  declare readonly code: SyncErrorCode
  constructor(code: SyncErrorCode, message: string = SYNC_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** The longest reason a session's end is logged or recorded with. */
export const MAX_REASON_CHARS = 200

/**
 * `error`'s message cut to {@link MAX_REASON_CHARS}, for a log line: an
 * error about what a peer sent may carry more of it than a log should
 * repeat on every reconnect.
 */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS - 1)}…` : message
}

/** `err` as an Error, for what may throw anything (a session ends with an Error). */
export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))
