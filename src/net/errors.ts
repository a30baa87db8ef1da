import { BurrowError } from '../errors.js'
import type { SocksFailureReason } from '../tor/socks-errors.js'

/** Stable codes of the net layer and their default messages. */
export const NET_ERRORS = {
  /** A peer could not be reached within the budget, or refused what we asked. */
  PEER_UNAVAILABLE: 'the peer cannot be reached',
  /** No allow-listed peer matches what was named. */
  PEER_UNKNOWN: 'no allow-listed peer matches',
  /** The name given matches several peers. */
  PEER_AMBIGUOUS: 'the name matches several peers; use the peer id or the .onion address',
  /** The card cannot be added: it is our own, or its onion address belongs to another peer. */
  PEER_REJECTED: 'the card cannot be added',
  /** The peer is not (or no longer) on the allow-list. */
  PEER_NOT_ALLOWED: 'peer is not on the allow-list',
  /** A request/response exchange failed: the peer answered nothing usable in time, or too much. */
  REQUEST_FAILED: 'the request to the peer failed',
  /** Dialing a peer's onion failed (see {@link OnionDialError}). */
  ONION_DIAL_FAILED: 'dialing the peer\'s onion failed',
  /** A multiaddr is not `/onion3/<56 base32>:<port>[/p2p/<Ed25519 peer id>]` (see {@link InvalidOnionMultiaddrError}). */
  INVALID_ONION_MULTIADDR: 'not an onion multiaddr',
  /** The onion listener could not listen on its unix socket (path unusable, folder not private, binding failed). */
  ONION_LISTEN_FAILED: 'the onion listener could not start',
  /** Options of the libp2p node factory are unusable (messages name sizes and kinds, never key bytes). */
  NET_INVALID_OPTIONS: 'invalid network options',
  /** The sync stream could not be opened on a new connection. */
  SYNC_STREAM_FAILED: 'could not open a sync stream',
} as const
export type NetErrorCode = keyof typeof NET_ERRORS

/** An error of the net layer; `code` is one of {@link NET_ERRORS}. */
export class NetError extends BurrowError {
  declare readonly code: NetErrorCode
  constructor(code: NetErrorCode, message: string = NET_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** Why a multiaddr is not a dialable onion multiaddr (see {@link InvalidOnionMultiaddrError.reason}). */
export type InvalidOnionMultiaddrReason =
  /** Not exactly `/onion3/…` optionally followed by `/p2p/…`. */
  | 'components'
  /** The onion3 value is not `<56 base32 characters>:<port>`. */
  | 'format'
  /** The port is not a decimal integer from 1 to 65535 without leading zeros. */
  | 'port'
  /** The 56 characters are not a valid v3 onion address (checksum, version, key). */
  | 'onion-address'
  /** The `/p2p/` part is not an Ed25519 peer id. */
  | 'peer-id'

/** A multiaddr is not `/onion3/<56 base32>:<port>[/p2p/<Ed25519 peer id>]`. Code `INVALID_ONION_MULTIADDR`. */
export class InvalidOnionMultiaddrError extends NetError {
  /** Which rule the multiaddr broke. */
  readonly reason: InvalidOnionMultiaddrReason

  constructor(reason: InvalidOnionMultiaddrReason, message: string, options?: { cause?: unknown }) {
    super('INVALID_ONION_MULTIADDR', message, options)
    this.reason = reason
  }
}

/**
 * Why a dial through tor failed: tor's own SOCKS reason (including the onion
 * reasons of `ExtendedErrors`, e.g. `onion-descriptor-not-found`,
 * `onion-client-auth-missing`), or what went wrong before tor could answer.
 */
export type OnionDialFailureReason =
  | SocksFailureReason
  /** Our tor is not running (stopped, or restarting): there is no SOCKS port to use. */
  | 'tor-not-running'
  /** Tor's SOCKS port could not be reached or dropped the connection mid-handshake. */
  | 'proxy-unreachable'
  /** Tor's SOCKS port answered something we could not use (protocol error, refused authentication). */
  | 'proxy-error'
  /** The dial took longer than its time budget. */
  | 'timeout'
  /** The caller aborted the dial. */
  | 'aborted'

/**
 * Dialing a peer's onion failed. `reason` says why, `retryable` whether the
 * same dial may succeed later without any change of configuration, and
 * `cause` holds the original error (a `SocksReplyError` when tor answered).
 * Code `ONION_DIAL_FAILED`.
 */
export class OnionDialError extends NetError {
  readonly reason: OnionDialFailureReason
  readonly retryable: boolean

  constructor(reason: OnionDialFailureReason, retryable: boolean, message: string, options?: { cause?: unknown }) {
    super('ONION_DIAL_FAILED', message, options)
    this.reason = reason
    this.retryable = retryable
  }
}

/** How deep {@link findOnionDialError} looks through `cause` chains and aggregates. */
const MAX_SEARCH_DEPTH = 8

/**
 * Finds the {@link OnionDialError} inside whatever `libp2p.dial()` (or
 * `dialProtocol`) rejected with. libp2p passes a single failed address's
 * error through unchanged, collects several into an `AggregateError`, and
 * other layers may wrap it as `cause`; this looks through all of those.
 * Returns `undefined` when the failure was not a dial through tor (e.g. the
 * gater refused, or the whole dial timed out, where libp2p keeps only the
 * message).
 */
export function findOnionDialError(err: unknown): OnionDialError | undefined {
  const search = (value: unknown, depth: number): OnionDialError | undefined => {
    if (depth > MAX_SEARCH_DEPTH || value === null || typeof value !== 'object') return undefined
    if (value instanceof OnionDialError) return value
    if (value instanceof AggregateError) {
      for (const inner of value.errors) {
        const found = search(inner, depth + 1)
        if (found !== undefined) return found
      }
    }
    return value instanceof Error ? search(value.cause, depth + 1) : undefined
  }
  return search(err, 0)
}
