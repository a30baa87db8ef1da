import { BurrowError } from '../errors.js'

/** Stable codes of the local API's own errors (errors of the node keep their own codes). */
export type LocalApiErrorCode =
  /** The request line is not a well-formed request (JSON, shape, types, lengths, unknown keys). */
  | 'API_BAD_REQUEST'
  /** The method name is not one the API knows. */
  | 'API_UNKNOWN_METHOD'
  /** A line exceeded the size limit; the connection is closed after this error. */
  | 'API_LINE_TOO_LONG'
  /** Too many requests of one connection are being processed at once. */
  | 'API_TOO_MANY_REQUESTS'
  /** No node answers on the socket. */
  | 'API_NOT_RUNNING'
  /** Another node already serves this socket. */
  | 'API_ALREADY_RUNNING'
  /** The socket path cannot be used (too long for a unix socket, not a socket, unreadable). */
  | 'API_SOCKET_UNUSABLE'
  /** A call or the connection attempt took longer than its bound. */
  | 'API_TIMEOUT'
  /** The connection closed before the answer arrived. */
  | 'API_CONNECTION_CLOSED'
  /** The other side sent something that is not the protocol. */
  | 'API_PROTOCOL'
  /** The node failed in a way it did not describe; details are only in the node's log. */
  | 'API_INTERNAL'

/** An error of the local API itself (transport, framing, validation). */
export class LocalApiError extends BurrowError {
  declare readonly code: LocalApiErrorCode

  constructor(code: LocalApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/**
 * An error the node answered a call with, as seen by a client: `code` is the
 * node's own stable code (for example `GROUP_NOT_FOUND`, `PEER_UNKNOWN`).
 */
export class NodeCallError extends BurrowError {
  /** The method that failed. */
  readonly method: string

  constructor(method: string, code: string, message: string) {
    super(code, message)
    this.method = method
  }
}
