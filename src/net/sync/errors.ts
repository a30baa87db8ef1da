import { BurrowError } from '../../errors.js'

/** The remote peer broke the sync protocol: malformed or oversize frame, forged or invalid operation, data it may not send. */
export class SyncProtocolError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SYNC_PROTOCOL', message, options)
  }
}

/** The sync session ended (stream closed or reset) before the operation finished. */
export class SyncClosedError extends BurrowError {
  constructor(message = 'sync session closed') {
    super('SYNC_CLOSED', message)
  }
}
