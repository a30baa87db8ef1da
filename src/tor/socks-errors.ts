import { BurrowError } from '../errors.js'

/**
 * Base of every error from the SOCKS5 dialer. Direct instances carry a
 * specific code such as `SOCKS_PROXY_NOT_LOOPBACK` or `SOCKS_INVALID_PORT`;
 * `instanceof SocksError` catches the whole family.
 */
export class SocksError extends BurrowError {
  constructor(code: `SOCKS${string}`, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** The proxy sent bytes that are not a valid SOCKS5 reply. Code `SOCKS_PROTOCOL`. */
export class SocksProtocolError extends SocksError {
  constructor(message: string) {
    super('SOCKS_PROTOCOL', message)
  }
}

/**
 * The proxy could not be reached, or closed / reset the connection before the
 * handshake finished (tor stopped, restarted, or its SOCKS port moved).
 * Code `SOCKS_PROXY_CONNECTION`.
 */
export class SocksConnectionError extends SocksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SOCKS_PROXY_CONNECTION', message, options)
  }
}

/** What a SOCKS5 failure reply means, including tor's ExtendedErrors codes 0xF0–0xF7. */
export type SocksFailureReason =
  | 'general-failure'
  | 'not-allowed'
  | 'network-unreachable'
  | 'host-unreachable'
  | 'connection-refused'
  | 'ttl-expired'
  | 'command-not-supported'
  | 'address-type-not-supported'
  | 'onion-descriptor-not-found'
  | 'onion-descriptor-invalid'
  | 'onion-introduction-failed'
  | 'onion-rendezvous-failed'
  | 'onion-client-auth-missing'
  | 'onion-client-auth-wrong'
  | 'onion-address-invalid'
  | 'onion-introduction-timeout'
  | 'unknown'

/** The proxy answered the CONNECT request with a failure code. */
export class SocksReplyError extends SocksError {
  /** The raw REP byte of the proxy's reply. */
  readonly replyCode: number
  /** The meaning of {@link replyCode}. */
  readonly reason: SocksFailureReason
  /** Whether dialing the same address again (after a backoff) can succeed without any change of configuration. */
  readonly retryable: boolean

  constructor(replyCode: number, reason: SocksFailureReason, code: `SOCKS_${string}`, message: string, retryable: boolean) {
    super(code, message)
    this.replyCode = replyCode
    this.reason = reason
    this.retryable = retryable
  }
}

interface ReplyMeaning {
  reason: SocksFailureReason
  code: `SOCKS_${string}`
  message: string
  retryable: boolean
}

/*
 * Retryable means "the same dial may succeed later without anyone changing
 * configuration":
 * - 0x01: tor's catch-all, also what a stream on a silently dead rendezvous
 *   circuit ends with; a fresh attempt builds new circuits.
 * - 0x04, 0x06: tor reports unreachable hosts and stream/circuit timeouts this
 *   way; both depend on the moment's circuits.
 * - 0xF0: the descriptor is not on the HSDirs yet (just published) or the peer
 *   is offline for now.
 * - 0xF2, 0xF3, 0xF7: introduction/rendezvous failures and timeouts happen
 *   when the service restarts or a relay drops; tor refetches the descriptor.
 * Not retryable: 0x02 (SocksPolicy), 0x03 (tor uses it for exit routing, which
 * onion streams never involve), 0x05 (the service's tor reached the peer, whose
 * target port refused: nothing listens there), 0x07/0x08 (our request is
 * malformed for this proxy), 0xF1 (a bad descriptor stays bad until the
 * service republishes), 0xF4/0xF5 (a client-auth key must be added or fixed),
 * 0xF6 (the address itself is wrong) and unknown codes.
 */
const REPLY_MEANINGS: ReadonlyMap<number, ReplyMeaning> = new Map([
  [0x01, { reason: 'general-failure', code: 'SOCKS_GENERAL_FAILURE', retryable: true,
    message: 'tor reported a general failure for the connection (often a circuit that timed out or died; a new attempt may succeed)' }],
  [0x02, { reason: 'not-allowed', code: 'SOCKS_NOT_ALLOWED', retryable: false,
    message: "tor refused the connection: it is not allowed by tor's SOCKS policy" }],
  [0x03, { reason: 'network-unreachable', code: 'SOCKS_NETWORK_UNREACHABLE', retryable: false,
    message: 'tor reported the network as unreachable' }],
  [0x04, { reason: 'host-unreachable', code: 'SOCKS_HOST_UNREACHABLE', retryable: true,
    message: 'tor could not reach the host' }],
  [0x05, { reason: 'connection-refused', code: 'SOCKS_CONNECTION_REFUSED', retryable: false,
    message: 'the onion service refused the connection (nothing is listening on that port at the peer)' }],
  [0x06, { reason: 'ttl-expired', code: 'SOCKS_TTL_EXPIRED', retryable: true,
    message: 'tor gave up on the connection because it took too long (TTL expired)' }],
  [0x07, { reason: 'command-not-supported', code: 'SOCKS_COMMAND_NOT_SUPPORTED', retryable: false,
    message: 'the SOCKS proxy does not support the CONNECT command' }],
  [0x08, { reason: 'address-type-not-supported', code: 'SOCKS_ADDRESS_TYPE_NOT_SUPPORTED', retryable: false,
    message: 'the SOCKS proxy does not accept host names (address type not supported)' }],
  [0xf0, { reason: 'onion-descriptor-not-found', code: 'SOCKS_ONION_DESCRIPTOR_NOT_FOUND', retryable: true,
    message: "the peer's onion descriptor was not found on the hidden-service directories (it may not be published yet, or the peer is offline)" }],
  [0xf1, { reason: 'onion-descriptor-invalid', code: 'SOCKS_ONION_DESCRIPTOR_INVALID', retryable: false,
    message: "the peer's onion descriptor could not be parsed or its signature is invalid" }],
  [0xf2, { reason: 'onion-introduction-failed', code: 'SOCKS_ONION_INTRODUCTION_FAILED', retryable: true,
    message: 'introduction to the onion service failed (the peer is probably restarting or no longer running)' }],
  [0xf3, { reason: 'onion-rendezvous-failed', code: 'SOCKS_ONION_RENDEZVOUS_FAILED', retryable: true,
    message: 'the rendezvous with the onion service failed, so the connection could not be completed' }],
  [0xf4, { reason: 'onion-client-auth-missing', code: 'SOCKS_ONION_CLIENT_AUTH_MISSING', retryable: false,
    message: 'the onion service requires client authorization and tor has no working key for it (missing, or not accepted by the service)' }],
  [0xf5, { reason: 'onion-client-auth-wrong', code: 'SOCKS_ONION_CLIENT_AUTH_WRONG', retryable: false,
    message: 'the onion service rejected our client authorization key' }],
  [0xf6, { reason: 'onion-address-invalid', code: 'SOCKS_ONION_ADDRESS_INVALID', retryable: false,
    message: 'tor rejected the onion address as invalid' }],
  [0xf7, { reason: 'onion-introduction-timeout', code: 'SOCKS_ONION_INTRODUCTION_TIMEOUT', retryable: true,
    message: 'introduction to the onion service timed out (the peer or its introduction points are slow or gone)' }],
])

/**
 * The typed error for a SOCKS5 reply code. Codes outside RFC 1928 and tor's
 * ExtendedErrors (including 0x00, which is success and never an error) map to
 * reason `unknown`, code `SOCKS_UNKNOWN_REPLY`, not retryable.
 */
export function socksReplyError(replyCode: number): SocksReplyError {
  const meaning = REPLY_MEANINGS.get(replyCode)
  if (meaning === undefined) {
    return new SocksReplyError(replyCode, 'unknown', 'SOCKS_UNKNOWN_REPLY', `the SOCKS proxy failed with unknown reply code ${formatCode(replyCode)}`, false)
  }
  return new SocksReplyError(replyCode, meaning.reason, meaning.code, `${meaning.message} (SOCKS reply ${formatCode(replyCode)})`, meaning.retryable)
}

function formatCode(code: number): string {
  return Number.isInteger(code) && code >= 0 ? `0x${code.toString(16).padStart(2, '0').toUpperCase()}` : String(code)
}
