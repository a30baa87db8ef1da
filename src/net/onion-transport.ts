import { randomBytes } from 'node:crypto'
import { serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type {
  ComponentLogger,
  Connection,
  CreateListenerOptions,
  DialTransportOptions,
  Listener,
  Logger as ComponentLog,
  Transport,
} from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AbortError, TimeoutError } from '../errors.js'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { isTorError } from '../tor/errors.js'
import { serviceIdOf } from '../tor/onion-address.js'
import { dialOnion, type SocksEndpoint } from '../tor/socks.js'
import { SocksReplyError } from '../tor/socks-errors.js'
import { OnionDialError } from './errors.js'
import { OnionMultiaddrConnection } from './onion-connection.js'
import { OnionListener } from './onion-listener.js'
import { isOnionMultiaddr, onionMultiaddr, parseOnionMultiaddr, unixListenPath, type OnionTarget } from './onion-multiaddr.js'

/** Options of the {@link OnionTransport}. */
export interface OnionTransportInit {
  /**
   * Where tor's SOCKS port is, asked at every dial: a restarted tor may listen
   * elsewhere. May throw (e.g. `TOR_NOT_RUNNING`); the dial then fails with
   * reason `tor-not-running`.
   */
  socks: () => SocksEndpoint
  /** Our own onion address: what the listener reports instead of its socket. */
  onionAddress: string
  /** The virtual port of our onion service. */
  virtualPort: number
  /** Upper bound on the SOCKS part of one dial (libp2p's AbortSignal usually ends it first). Default 90 s. */
  socksTimeoutMs?: number
  /** Burrow's logger, for dial failures (peer id and tor's reason; never onion addresses). */
  logger?: Logger
}

/** The libp2p components the transport uses. */
export interface OnionTransportComponents {
  logger: ComponentLogger
}

/**
 * Default bound on the SOCKS handshake of one dial. An onion connect usually
 * takes well under 10 s, but right after a relay on its path died, or while
 * the peer re-publishes its service, tor can leave an attempt unanswered for
 * its whole timeout; a fresh attempt then connects within seconds (measured in
 * the fault tests: attempts hung for the full 90 s of the former default). So
 * fail fast and let the caller retry.
 */
export const DEFAULT_SOCKS_TIMEOUT_MS = 30_000

/**
 * A libp2p transport that reaches peers only through tor's SOCKS port and is
 * reached only through our onion service.
 *
 * - `dial` accepts only `/onion3/<56>:<port>[/p2p/<id>]`, opens the stream
 *   through tor (the `.onion` name is resolved by tor, never locally), then
 *   lets libp2p upgrade it (Noise, gater, yamux). Each dial gets its own
 *   circuit: the SOCKS username is derived from the peer's onion plus a fresh
 *   nonce, so different peers never share circuits, and a reconnection never
 *   reuses a rendezvous circuit that may have died silently (the service
 *   closes its half at MaxCircuitDirtiness, about 10 minutes; a new stream on
 *   it then hangs and fails with SOCKS 0x01, seen in 16-minute soaks on the
 *   private network). Connections are
 *   long-lived and multiplexed, so the extra circuit per connection is rare.
 * - A failed dial rejects with {@link OnionDialError}, whose `reason` is tor's
 *   (e.g. `onion-descriptor-not-found`, `onion-client-auth-missing`).
 * - Listeners bind a unix socket (`/unix/<path>`) only, never a TCP port,
 *   and report our onion multiaddr only.
 */
export class OnionTransport implements Transport {
  readonly [transportSymbol] = true as const
  readonly [Symbol.toStringTag] = '@burrow/onion-transport'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']

  readonly #init: OnionTransportInit
  readonly #components: OnionTransportComponents
  readonly #announce: Multiaddr
  readonly #log: ComponentLog
  readonly #connLog: ComponentLog
  readonly #logger: Logger
  readonly #listeners = new Set<OnionListener>()

  constructor(components: OnionTransportComponents, init: OnionTransportInit) {
    this.#components = components
    this.#init = init
    this.#announce = onionMultiaddr(init.onionAddress, init.virtualPort)
    this.#log = components.logger.forComponent('burrow:onion-transport')
    this.#connLog = components.logger.forComponent('burrow:onion-connection')
    this.#logger = init.logger ?? silentLogger
  }

  async dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const target = parseOnionMultiaddr(ma)
    const socket = await this.#openSocket(target, options.signal)
    const maConn = new OnionMultiaddrConnection({ socket, remoteAddr: ma, direction: 'outbound', log: this.#connLog })
    try {
      return await options.upgrader.upgradeOutbound(maConn, options)
    } catch (err) {
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  createListener(options: CreateListenerOptions): Listener {
    const listener = new OnionListener({ upgrader: options.upgrader, announce: this.#announce, logger: this.#components.logger })
    this.#listeners.add(listener)
    listener.addEventListener('close', () => this.#listeners.delete(listener), { once: true })
    return listener
  }

  /** The unix sockets our listeners are bound to: the target for the onion service. */
  localPaths(): string[] {
    return [...this.#listeners].flatMap((listener) => (listener.path === undefined ? [] : [listener.path]))
  }

  /** Refuses inbound connections from now on (the first step of a stop); open ones stay. */
  refuseInbound(): void {
    for (const listener of this.#listeners) listener.refuse()
  }

  readonly listenFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => multiaddrs.filter((ma) => unixListenPath(ma) !== undefined)

  readonly dialFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => multiaddrs.filter((ma) => isOnionMultiaddr(ma))

  async #openSocket(target: OnionTarget, signal: AbortSignal): ReturnType<typeof dialOnion> {
    const started = Date.now()
    try {
      return await dialOnion({
        proxy: this.#init.socks(),
        address: target.address,
        port: target.port,
        isolation: `burrow:${serviceIdOf(target.address)}:${randomBytes(8).toString('hex')}`,
        signal,
        timeoutMs: this.#init.socksTimeoutMs ?? DEFAULT_SOCKS_TIMEOUT_MS,
      })
    } catch (err) {
      const failure = toOnionDialError(err, signal)
      this.#log('dial to %s failed after %d ms: %s', target.peerId ?? 'an onion', Date.now() - started, failure.reason)
      this.#logger.debug({ peer: target.peerId, reason: failure.reason, ms: Date.now() - started }, 'onion dial failed')
      throw failure
    }
  }
}

/**
 * A transport factory for libp2p's `transports` option. `onCreate` receives
 * the instance, e.g. to read {@link OnionTransport.localPaths} after start.
 */
export function onionTransport(init: OnionTransportInit, onCreate?: (transport: OnionTransport) => void): (components: OnionTransportComponents) => Transport {
  return (components) => {
    const transport = new OnionTransport(components, init)
    onCreate?.(transport)
    return transport
  }
}

/** Turns whatever the SOCKS dial threw into an {@link OnionDialError} that keeps the original as `cause`. */
function toOnionDialError(err: unknown, signal: AbortSignal): OnionDialError {
  const options = { cause: err }
  if (err instanceof SocksReplyError) return new OnionDialError(err.reason, err.retryable, err.message, options)
  if (isTorError(err, 'TOR_NOT_RUNNING')) return new OnionDialError('tor-not-running', true, 'cannot dial: our tor is not running', options)
  if (isTorError(err, 'SOCKS_PROXY_CONNECTION')) return new OnionDialError('proxy-unreachable', true, err.message, options)
  if (isTorError(err) && err.code.startsWith('SOCKS_')) return new OnionDialError('proxy-error', false, err.message, options)
  if (err instanceof TimeoutError) return new OnionDialError('timeout', true, err.message, options)
  if (err instanceof AbortError || signal.aborted) {
    // libp2p aborts with a DOMException named TimeoutError when its per-address or whole-dial budget runs out.
    const timedOut = (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError'
    return timedOut
      ? new OnionDialError('timeout', true, 'the onion dial ran out of time', options)
      : new OnionDialError('aborted', false, 'the onion dial was aborted', options)
  }
  return new OnionDialError('general-failure', false, `the onion dial failed: ${err instanceof Error ? err.message : String(err)}`, options)
}
