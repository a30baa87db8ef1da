import { BurrowError } from '../errors.js'

/** Stable codes of the local API's own errors (errors of the node keep their own codes) and their default messages. */
export const API_ERRORS = {
  /** The request line is not a well-formed request (JSON, shape, types, lengths, unknown keys). */
  API_BAD_REQUEST: 'malformed request',
  /** The method name is not one the API knows. */
  API_UNKNOWN_METHOD: 'unknown method',
  /** A line exceeded the size limit; the connection is closed after this error. */
  API_LINE_TOO_LONG: 'a request line is too long; closing the connection',
  /** Too many requests of one connection are being processed at once. */
  API_TOO_MANY_REQUESTS: 'too many requests in flight on one connection',
  /** No node answers on the socket. */
  API_NOT_RUNNING: 'no node is running',
  /** Another node already serves this socket. */
  API_ALREADY_RUNNING: 'another node already serves this socket',
  /** The socket path cannot be used (too long for a unix socket, not a socket, unreadable). */
  API_SOCKET_UNUSABLE: 'the socket path cannot be used',
  /** A call or the connection attempt took longer than its bound. */
  API_TIMEOUT: 'the call timed out',
  /** The connection closed before the answer arrived. */
  API_CONNECTION_CLOSED: 'the connection closed before the answer arrived',
  /** The other side sent something that is not the protocol. */
  API_PROTOCOL: 'the other side does not speak the local API',
  /** The node failed in a way it did not describe; details are only in the node's log. */
  API_INTERNAL: 'the node failed unexpectedly; see its log',
} as const
export type LocalApiErrorCode = keyof typeof API_ERRORS

/** An error of the local API itself (transport, framing, validation); `code` is one of {@link API_ERRORS}. */
export class LocalApiError extends BurrowError {
  declare readonly code: LocalApiErrorCode

  constructor(code: LocalApiErrorCode, message: string = API_ERRORS[code], options?: { cause?: unknown }) {
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
