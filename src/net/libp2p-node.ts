// Must stay the first import: libp2p 3 needs Promise.withResolvers, which Node 20 lacks.
import './polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, PeerId, PrivateKey, StreamHandler } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { parseOnionAddress } from '../tor/onion-address.js'
import type { SocksEndpoint } from '../tor/socks.js'
import { allowListGater, type AllowList } from './gater.js'
import { identityKeyFromSeed } from './identity.js'
import { onionMultiaddr, unixListenMultiaddr } from './onion-multiaddr.js'
import { prepareSocketPath } from './onion-listener.js'
import { onionTransport, type OnionTransport } from './onion-transport.js'
import { NetError } from './errors.js'
import { sleep } from '../util/async.js'
import { withCallerNegotiatedStreams } from './multistream.js'

/** Options of {@link createBurrowLibp2p}. */
export interface BurrowLibp2pOptions {
  /** 32-byte Ed25519 seed of the node's identity; the PeerId derives from it. Secret. */
  identitySeed: Uint8Array
  /** Our onion address (the service tor publishes for us). */
  onionAddress: string
  /** The onion service's virtual port: peers dial `/onion3/<address>:<virtualPort>`. */
  virtualPort: number
  /**
   * The unix socket to listen on, the onion service's target: an absolute
   * path in a folder only this user can enter (0700). The node opens no TCP
   * listener, so nobody reaches it without tor and client authorization.
   */
  listenPath: string
  /** Where tor's SOCKS port is now; asked at every dial. */
  socks: () => SocksEndpoint
  /** Which peers may connect in either direction. */
  allowList: AllowList
  /** Stream handlers by protocol id, registered before the node starts listening. */
  protocols?: Readonly<Record<string, StreamHandler>>
  logger?: Logger
}

/** A started libp2p node that lives only behind our onion service. */
export interface BurrowLibp2p {
  readonly libp2p: Libp2p
  readonly peerId: PeerId
  /** Our dialable address: `/onion3/<address>:<virtualPort>/p2p/<peerId>`. */
  readonly multiaddr: Multiaddr
  /** The unix socket the node listens on: the target of the onion service. */
  readonly listenPath: string
  /**
   * The first step of a stop, while our onion service and tor still carry
   * the connections: refuses new inbound connections, then closes every open
   * one gracefully (yamux's GoAway, then the stream's end, which tor passes
   * on), each within {@link TOR_TIMEOUTS}.`stopCloseMs`, then aborted. Peers
   * see us gone at once; see {@link closeConnections}.
   */
  closeConnections(): Promise<void>
}

/**
 * Tor-sized timeouts. libp2p's defaults (dial 10 s, per address 6 s, upgrade
 * and negotiation 10 s, ping every 10 s) assume direct TCP and kill onion
 * connections, whose first dial alone can take tens of seconds.
 */
export const TOR_TIMEOUTS = {
  /** The whole dial, queueing included. */
  dialMs: 120_000,
  /** One address; also the bound that applies when the caller passes its own AbortSignal. */
  addressDialMs: 90_000,
  /** Noise + muxer negotiation of an inbound connection. */
  inboundUpgradeMs: 60_000,
  /** multistream-select for a new stream, both directions. */
  protocolNegotiationMs: 60_000,
  /** Graceful close before a connection is aborted: a few Tor round trips. */
  connectionCloseMs: 10_000,
  /** Graceful close of each connection when the node stops, before it is aborted (which tor passes on too). */
  stopCloseMs: 2_000,
  /**
   * After closing them, how long a stop leaves tor to send the streams' ENDs
   * before the onion service or tor goes (which drops cells still queued).
   * With none, 5 stops of 10 reached the peer only by its ping timeout or its
   * failing sync streams (7–51 s); with 500 ms, 10 of 10 within 0.11 s
   * (private network; docs/performance.md, "Stopping").
   */
  stopFlushMs: 500,
  /**
   * Connection monitor: every minute a stream probes each connection (the
   * remote answering "protocol not supported" counts as alive, so peers need
   * no ping handler) and a connection that stays silent for a minute is
   * aborted. It catches rendezvous circuits that died silently, which yamux's
   * own keep-alive only logs. One Tor round trip per connection per minute.
   */
  pingIntervalMs: 60_000,
  pingTimeoutMs: 60_000,
} as const

/**
 * yamux per-stream receive window: 4 MiB (the default is 256 KiB). Measured
 * on the private network, a 10,000 × 1 KiB catch-up ran at ~2.2 MB/s with the
 * default, ~2.8 MB/s with 2 MiB and ~3.7 MB/s with 4 MiB (raw stream ~4.5).
 * Only allow-listed peers can open streams, which bounds what they can make us buffer.
 * A paused stream (sync pauses while its store catches up) buffers up to one
 * window; libp2p aborts a stream whose read buffer exceeds 4 MiB
 * (`maxReadBufferLength`), so the window must not be larger.
 */
export const YAMUX_STREAM_WINDOW = 4 * 1024 * 1024

/** The neutral name, version and user agent we present; libp2p's default reveals library and Node versions. */
export const NODE_INFO = { name: 'burrow', version: '0', userAgent: 'burrow' } as const

/** Everything {@link createBurrowLibp2p} decides besides its inputs, as libp2p options (for inspection and tests). */
export function burrowLibp2pOptions(init: {
  privateKey: PrivateKey
  transport: ReturnType<typeof onionTransport>
  gater: ReturnType<typeof allowListGater>
  announce: Multiaddr
  listenPath: string
}): Libp2pOptions {
  return {
    privateKey: init.privateKey,
    start: false,
    nodeInfo: { ...NODE_INFO },
    addresses: {
      listen: [unixListenMultiaddr(init.listenPath).toString()],
      // Only the onion: never the local socket, never an observed or interface address.
      announce: [init.announce.toString()],
    },
    transports: [init.transport],
    connectionEncrypters: [noise()],
    // A Tor round trip is tens of milliseconds and yamux only grows its window
    // after measuring the RTT by ping (every 30 s): start with a window that
    // keeps a bulk sync flowing while the receiver validates a batch.
    // Requests (key packages) negotiate their stream's protocol themselves, optimistically (multistream.ts).
    streamMuxers: [withCallerNegotiatedStreams(yamux({ streamOptions: { initialStreamWindowSize: YAMUX_STREAM_WINDOW, maxStreamWindowSize: YAMUX_STREAM_WINDOW } }))],
    // Peers come from contact cards only: no mDNS, bootstrap lists or DHT walks that would dial or query outside tor.
    peerDiscovery: [],
    connectionGater: init.gater,
    connectionManager: {
      // The default dnsaddr resolver would send DNS queries; onion multiaddrs need no resolving.
      resolvers: {},
      dialTimeout: TOR_TIMEOUTS.dialMs,
      addressDialTimeout: TOR_TIMEOUTS.addressDialMs,
      inboundUpgradeTimeout: TOR_TIMEOUTS.inboundUpgradeMs,
      inboundStreamProtocolNegotiationTimeout: TOR_TIMEOUTS.protocolNegotiationMs,
      outboundStreamProtocolNegotiationTimeout: TOR_TIMEOUTS.protocolNegotiationMs,
      connectionCloseTimeout: TOR_TIMEOUTS.connectionCloseMs,
    },
    connectionMonitor: {
      pingInterval: TOR_TIMEOUTS.pingIntervalMs,
      pingTimeout: { minTimeout: TOR_TIMEOUTS.pingTimeoutMs, maxTimeout: TOR_TIMEOUTS.pingTimeoutMs },
    },
    // No services: in particular no identify (it would send our protocol list, agent and listen/observed addresses) and no DHT.
    services: {},
  }
}

/**
 * Creates and starts Burrow's libp2p node: the onion transport only (dials
 * through tor's SOCKS port, listens on a unix socket for our onion service),
 * Noise and yamux, the allow-list gater, no discovery, no DNS, no identify,
 * Tor-sized timeouts ({@link TOR_TIMEOUTS}) and a neutral user agent.
 *
 * Publish the onion service with target `unix:<listenPath>` afterwards;
 * until then peers simply cannot reach us.
 */
export async function createBurrowLibp2p(options: BurrowLibp2pOptions): Promise<BurrowLibp2p> {
  if (typeof options.listenPath !== 'string' || !options.listenPath.startsWith('/')) {
    throw new NetError('NET_INVALID_OPTIONS', 'listenPath must be an absolute path (the unix socket the onion service forwards to)')
  }
  if (!Number.isInteger(options.virtualPort) || options.virtualPort < 1 || options.virtualPort > 65535) {
    throw new NetError('NET_INVALID_OPTIONS', 'virtualPort must be an integer from 1 to 65535')
  }
  if (typeof options.socks !== 'function' || typeof options.allowList?.isAllowed !== 'function') {
    throw new NetError('NET_INVALID_OPTIONS', 'socks must be a function returning the SOCKS endpoint and allowList must have isAllowed(peerId)')
  }
  const onionAddress = parseOnionAddress(options.onionAddress)
  // Checked here as well as by the listener: libp2p would wrap the listener's error in an untyped one.
  await prepareSocketPath(options.listenPath)
  const privateKey = await identityKeyFromSeed(options.identitySeed)
  const logger = options.logger ?? silentLogger

  let transport: OnionTransport | undefined
  const libp2p = await createLibp2p(
    burrowLibp2pOptions({
      privateKey,
      transport: onionTransport({ socks: options.socks, onionAddress, virtualPort: options.virtualPort, logger }, (t) => (transport = t)),
      gater: allowListGater({ allowList: options.allowList, self: peerIdFromPrivateKey(privateKey), logger }),
      announce: onionMultiaddr(onionAddress, options.virtualPort),
      listenPath: options.listenPath,
    }),
  )
  try {
    for (const [protocol, handler] of Object.entries(options.protocols ?? {})) await libp2p.handle(protocol, handler)
    await libp2p.start()
    const [path] = transport?.localPaths() ?? []
    if (path === undefined) throw new NetError('NET_INVALID_OPTIONS', 'the node started without its unix socket listener')
    const multiaddr = onionMultiaddr(onionAddress, options.virtualPort, libp2p.peerId)
    logger.info({ peer: libp2p.peerId.toString() }, 'libp2p node started')
    const refuseInbound = (): void => transport?.refuseInbound()
    return { libp2p, peerId: libp2p.peerId, multiaddr, listenPath: path, closeConnections: () => closeConnections(libp2p, refuseInbound) }
  } catch (err) {
    await libp2p.stop()
    throw err
  }
}

/**
 * Refuses new inbound connections, then closes every open connection
 * gracefully within {@link TOR_TIMEOUTS}.`stopCloseMs` (aborting those that
 * do not finish) and leaves tor {@link TOR_TIMEOUTS}.`stopFlushMs` to pass the
 * streams' ends on: the close reaches the peer while the circuit still
 * exists. Stopping the onion service (DEL_ONION) or tor first cut the
 * circuits without a word to every peer: on the private network 5 stops of
 * 10 were seen only 39–88 s later, when the peer's ping timed out
 * (docs/performance.md, "Stopping").
 */
export async function closeConnections(libp2p: Libp2p, refuseInbound: () => void): Promise<void> {
  refuseInbound()
  const open = libp2p.getConnections()
  if (open.length === 0) return
  await Promise.all(
    open.map(async (connection) => {
      try {
        await connection.close({ signal: AbortSignal.timeout(TOR_TIMEOUTS.stopCloseMs) })
      } catch (err) {
        connection.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }),
  )
  await sleep(TOR_TIMEOUTS.stopFlushMs)
}
