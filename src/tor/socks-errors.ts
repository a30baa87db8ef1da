import { TOR_ERRORS, TorError, type TorErrorCode } from './errors.js'

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

/**
 * The proxy answered the CONNECT request with a failure code. A subclass of
 * {@link TorError} because callers read its reason and whether to retry.
 */
export class SocksReplyError extends TorError {
  /** The raw REP byte of the proxy's reply. */
  readonly replyCode: number
  /** The meaning of {@link replyCode}. */
  readonly reason: SocksFailureReason
  /** Whether dialing the same address again (after a backoff) can succeed without any change of configuration. */
  readonly retryable: boolean

  constructor(replyCode: number, reason: SocksFailureReason, code: TorErrorCode, message: string, retryable: boolean) {
    super(code, message)
    this.replyCode = replyCode
    this.reason = reason
    this.retryable = retryable
  }
}

interface ReplyMeaning {
  reason: SocksFailureReason
  code: TorErrorCode
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
  [0x01, { reason: 'general-failure', code: 'SOCKS_GENERAL_FAILURE', retryable: true }],
  [0x02, { reason: 'not-allowed', code: 'SOCKS_NOT_ALLOWED', retryable: false }],
  [0x03, { reason: 'network-unreachable', code: 'SOCKS_NETWORK_UNREACHABLE', retryable: false }],
  [0x04, { reason: 'host-unreachable', code: 'SOCKS_HOST_UNREACHABLE', retryable: true }],
  [0x05, { reason: 'connection-refused', code: 'SOCKS_CONNECTION_REFUSED', retryable: false }],
  [0x06, { reason: 'ttl-expired', code: 'SOCKS_TTL_EXPIRED', retryable: true }],
  [0x07, { reason: 'command-not-supported', code: 'SOCKS_COMMAND_NOT_SUPPORTED', retryable: false }],
  [0x08, { reason: 'address-type-not-supported', code: 'SOCKS_ADDRESS_TYPE_NOT_SUPPORTED', retryable: false }],
  [0xf0, { reason: 'onion-descriptor-not-found', code: 'SOCKS_ONION_DESCRIPTOR_NOT_FOUND', retryable: true }],
  [0xf1, { reason: 'onion-descriptor-invalid', code: 'SOCKS_ONION_DESCRIPTOR_INVALID', retryable: false }],
  [0xf2, { reason: 'onion-introduction-failed', code: 'SOCKS_ONION_INTRODUCTION_FAILED', retryable: true }],
  [0xf3, { reason: 'onion-rendezvous-failed', code: 'SOCKS_ONION_RENDEZVOUS_FAILED', retryable: true }],
  [0xf4, { reason: 'onion-client-auth-missing', code: 'SOCKS_ONION_CLIENT_AUTH_MISSING', retryable: false }],
  [0xf5, { reason: 'onion-client-auth-wrong', code: 'SOCKS_ONION_CLIENT_AUTH_WRONG', retryable: false }],
  [0xf6, { reason: 'onion-address-invalid', code: 'SOCKS_ONION_ADDRESS_INVALID', retryable: false }],
  [0xf7, { reason: 'onion-introduction-timeout', code: 'SOCKS_ONION_INTRODUCTION_TIMEOUT', retryable: true }],
])

/**
 * The typed error for a SOCKS5 reply code. Codes outside RFC 1928 and tor's
 * ExtendedErrors (including 0x00, which is success and never an error) map to
 * reason `unknown`, code `SOCKS_UNKNOWN_REPLY`, not retryable.
 */
export function socksReplyError(replyCode: number): SocksReplyError {
  const meaning = REPLY_MEANINGS.get(replyCode)
  if (meaning === undefined) {
    return new SocksReplyError(replyCode, 'unknown', 'SOCKS_UNKNOWN_REPLY', `${TOR_ERRORS.SOCKS_UNKNOWN_REPLY} ${formatCode(replyCode)}`, false)
  }
  return new SocksReplyError(replyCode, meaning.reason, meaning.code, `${TOR_ERRORS[meaning.code]} (SOCKS reply ${formatCode(replyCode)})`, meaning.retryable)
}

function formatCode(code: number): string {
  return Number.isInteger(code) && code >= 0 ? `0x${code.toString(16).padStart(2, '0').toUpperCase()}` : String(code)
}
