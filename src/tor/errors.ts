import { BurrowError } from '../errors.js'

/**
 * Stable codes of the tor layer and their default messages. One table for the
 * whole folder: the daemon and its supervisor, the control client, onion keys
 * and addresses, torrc files and the SOCKS dialer. The SOCKS codes keep their
 * `SOCKS_` prefix so callers can tell "tor's SOCKS port said no" from the rest
 * by code alone. Messages never carry command arguments, keys, cookies or
 * passwords.
 */
export const TOR_ERRORS = {
  // The tor process and its supervision
  TOR_NOT_FOUND: "no usable tor binary: install Debian's tor package (as root: apt-get install -y tor) or pass the path of a tor binary (--tor-path)",
  TOR_START_FAILED: 'tor could not be started',
  TOR_BOOTSTRAP_STALLED: 'tor bootstrap made no progress for too long',
  TOR_SUPERVISION_FAILED: 'tor failed too many times in a row; giving up',
  TOR_NOT_RUNNING: 'tor is not running',
  TOR_ALREADY_STARTED: 'this tor was already started',
  TORRC_INVALID: 'the torrc could not be built',
  TOR_BRIDGE_INVALID: 'not a usable bridge line',
  TOR_BRIDGE_TRANSPORT_UNSUPPORTED: 'this bridge transport is not supported; use obfs4 or a plain bridge',
  TOR_OBFS4PROXY_NOT_FOUND: "obfs4 bridges need Debian's obfs4proxy (as root: apt-get install -y obfs4proxy)",
  TOR_SOCKET_PATH_UNUSABLE: 'a unix socket path is too long (at most 107 bytes) or has characters tor cannot take; use a shorter, plainer data directory',
  // Onion services, keys and addresses
  ONION_PUBLISH_FAILED: 'the onion service could not be published',
  ONION_SELF_CHECK_FAILED: 'our own onion service is not reachable through tor',
  ONION_TARGET_NOT_LOOPBACK: 'an onion service may only forward to a unix socket or a loopback address',
  INVALID_ONION_ADDRESS: 'not a valid v3 onion address',
  INVALID_ONION_KEY: 'onion key material has the wrong size',
  INVALID_CLIENT_AUTH_KEY: 'not a valid client authorization public key',
  ONION_TOO_MANY_CLIENTS: 'an onion service can carry at most 300 client authorization keys (tor refuses a descriptor over 50,000 bytes)',
  // The control connection
  TOR_CONTROL: "cannot connect to tor's control port",
  TOR_CONTROL_PROTOCOL: 'tor sent something that does not follow the control protocol',
  TOR_COMMAND_FAILED: 'tor refused a command',
  TOR_AUTH_FAILED: "could not authenticate to tor's control port",
  TOR_CONTROL_CLOSED: 'the tor control connection is closed',
  TOR_CONTROL_TIMEOUT: 'tor did not answer in time',
  TOR_CONTROL_ARGUMENT: 'an argument cannot be sent to tor safely',
  // The SOCKS dialer: our side
  SOCKS_PROTOCOL: 'the SOCKS proxy sent a reply that is not valid SOCKS5',
  SOCKS_PROXY_CONNECTION: "the connection to tor's SOCKS port failed (is tor running?)",
  SOCKS_PROXY_NOT_LOOPBACK: 'the SOCKS proxy must be a loopback IP literal (127.0.0.0/8 or ::1); host names, even localhost, are never resolved',
  SOCKS_INVALID_PROXY: 'the SOCKS proxy endpoint is invalid',
  SOCKS_INVALID_PORT: 'the onion port must be an integer from 1 to 65535',
  SOCKS_INVALID_ISOLATION: 'the isolation key must be a non-empty string',
  SOCKS_INVALID_TIMEOUT: 'the dial timeout must be a positive number of milliseconds',
  SOCKS_AUTH_METHOD_REJECTED: 'the SOCKS proxy accepts none of the offered authentication methods',
  SOCKS_AUTH_FAILED: 'the proxy refused the username/password (isolation) authentication',
  // The SOCKS dialer: tor's CONNECT reply codes (RFC 1928 and tor's ExtendedErrors), see socks-errors.ts
  SOCKS_GENERAL_FAILURE: 'tor reported a general failure for the connection (often a circuit that timed out or died; a new attempt may succeed)',
  SOCKS_NOT_ALLOWED: "tor refused the connection: it is not allowed by tor's SOCKS policy",
  SOCKS_NETWORK_UNREACHABLE: 'tor reported the network as unreachable',
  SOCKS_HOST_UNREACHABLE: 'tor could not reach the host',
  SOCKS_CONNECTION_REFUSED: 'the onion service refused the connection (nothing is listening on that port at the peer)',
  SOCKS_TTL_EXPIRED: 'tor gave up on the connection because it took too long (TTL expired)',
  SOCKS_COMMAND_NOT_SUPPORTED: 'the SOCKS proxy does not support the CONNECT command',
  SOCKS_ADDRESS_TYPE_NOT_SUPPORTED: 'the SOCKS proxy does not accept host names (address type not supported)',
  SOCKS_ONION_DESCRIPTOR_NOT_FOUND:
    "the peer's onion descriptor was not found on the hidden-service directories (it may not be published yet, or the peer is offline)",
  SOCKS_ONION_DESCRIPTOR_INVALID: "the peer's onion descriptor could not be parsed or its signature is invalid",
  SOCKS_ONION_INTRODUCTION_FAILED: 'introduction to the onion service failed (the peer is probably restarting or no longer running)',
  SOCKS_ONION_RENDEZVOUS_FAILED: 'the rendezvous with the onion service failed, so the connection could not be completed',
  SOCKS_ONION_CLIENT_AUTH_MISSING:
    'the onion service requires client authorization and tor has no working key for it (missing, or not accepted by the service)',
  SOCKS_ONION_CLIENT_AUTH_WRONG: 'the onion service rejected our client authorization key',
  SOCKS_ONION_ADDRESS_INVALID: 'tor rejected the onion address as invalid',
  SOCKS_ONION_INTRODUCTION_TIMEOUT: 'introduction to the onion service timed out (the peer or its introduction points are slow or gone)',
  SOCKS_UNKNOWN_REPLY: 'the SOCKS proxy failed with an unknown reply code',
} as const

/** One of the codes in {@link TOR_ERRORS}. */
export type TorErrorCode = keyof typeof TOR_ERRORS

/** An error of the tor layer; `code` is one of {@link TOR_ERRORS}. */
export class TorError extends BurrowError {
  declare readonly code: TorErrorCode

  constructor(code: TorErrorCode, message: string = TOR_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** True when `err` is a {@link TorError} with one of `codes`. */
export function isTorError(err: unknown, ...codes: TorErrorCode[]): err is TorError {
  return err instanceof TorError && (codes.length === 0 || codes.includes(err.code))
}

/**
 * Tor answered a control command with a 4xx or 5xx status. A subclass because
 * callers read {@link status} (552 "unknown onion service" is often not an error).
 */
export class TorCommandError extends TorError {
  declare readonly code: 'TOR_COMMAND_FAILED'
  /** Tor's status code, e.g. 552. */
  readonly status: number
  /** Tor's reply text (with anything resembling the command's arguments redacted). */
  readonly torMessage: string

  /** @param command the command keyword only (e.g. `ADD_ONION`), never its arguments */
  constructor(command: string, status: number, torMessage: string) {
    super('TOR_COMMAND_FAILED', `tor refused ${command}: ${status} ${torMessage}`)
    this.status = status
    this.torMessage = torMessage
  }
}
