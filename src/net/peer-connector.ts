import type { Connection, Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { BurrowError } from '../errors.js'
import { backoffDelay, sleep } from '../util/async.js'
import { MAX_ONION_SHARDS, onionShardAddresses, type OnionAddress } from '../tor/index.js'
import type { AddressTable, PeerRecord } from './address-table.js'
import { findOnionDialError, NetError } from './errors.js'
import { onionMultiaddr } from './onion-multiaddr.js'

/** Options of the {@link PeerConnector}. */
export interface PeerConnectorOptions {
  libp2p: Libp2p
  table: AddressTable
  /** The virtual port peers' onion services listen on. */
  virtualPort: number
  /** First retry delay and cap. Defaults 2 s and 5 min. */
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Dials in flight at once. Default 2 (each one is a Tor rendezvous). */
  concurrency?: number
  /** How often the schedule is looked at. Default 1 s. */
  tickMs?: number
  /**
   * Asks our tor for a peer's onion descriptor afresh. Called after a dial
   * that hung or could not introduce itself: our tor may hold a descriptor
   * from before the peer re-published (a restart, a new allow-list).
   */
  refreshDescriptor?: (onion: OnionAddress, peer: PeerRecord) => Promise<void>
  /** Registers our client-auth key for one of a peer's shard addresses, before it is dialed. */
  authorizeShard?: (onion: OnionAddress, peer: PeerRecord) => Promise<void>
  logger?: Logger
}

/** Options of {@link PeerConnector.connect}. */
export interface ConnectOptions {
  /** How long to keep retrying transient failures. Default 60 s. */
  budgetMs?: number
  signal?: AbortSignal
}

/**
 * Failures that mean our tor may hold a stale descriptor of the peer. The
 * client-auth ones too: tor keeps a descriptor it could not decrypt, and a
 * peer that has just added us re-publishes one with our key within seconds
 * (live profile: retries kept failing with the old one for 20 s and more).
 */
const STALE_DESCRIPTOR_SIGNS = new Set([
  'timeout',
  'onion-introduction-failed',
  'onion-introduction-timeout',
  'onion-rendezvous-failed',
  'onion-client-auth-missing',
  'onion-client-auth-wrong',
])

/**
 * Failures that clear up by themselves within a minute: a peer that has just
 * added us re-publishes its onion service, and our tor may still hold the
 * descriptor from before (client authorization refused); introduction and
 * rendezvous fail now and then on a healthy network.
 */
const TRANSIENT_DIAL_FAILURES = new Set([
  'onion-client-auth-missing',
  'onion-client-auth-wrong',
  'onion-descriptor-not-found',
  'onion-introduction-failed',
  'onion-introduction-timeout',
  'onion-rendezvous-failed',
  'general-failure',
  'timeout',
])

const DEFAULT_CONNECT_BUDGET_MS = 60_000

/**
 * Failures at one of a peer's onion addresses after which its next one is
 * tried: that service does not carry our key (a peer with many peers puts
 * ours on one of its shards). A shard not published also moves on, but
 * only to lower shards (`dial`).
 */
const SHARD_MISSES = new Set(['onion-client-auth-missing', 'onion-client-auth-wrong'])

interface Schedule {
  attempts: number
  nextAt: number
}

/** Why a dial failed, in words a person can act on: Tor's reason when tor gave one. */
export function dialFailure(err: unknown): { code: string; message: string } {
  const onion = findOnionDialError(err)
  if (onion !== undefined) return { code: onion.reason, message: onion.message }
  if (err instanceof BurrowError) return { code: err.code, message: err.message }
  return { code: 'DIAL_FAILED', message: err instanceof Error ? err.message : String(err) }
}

/**
 * Keeps connections to allow-listed peers: dials those not connected,
 * recently seen ones first, with exponential backoff per peer, and records
 * Tor's reason for every failure in the address table.
 */
export class PeerConnector {
  readonly #options: Required<Omit<PeerConnectorOptions, 'logger' | 'refreshDescriptor' | 'authorizeShard'>> &
    Pick<PeerConnectorOptions, 'refreshDescriptor' | 'authorizeShard'>
  readonly #log: Logger
  readonly #schedule = new Map<string, Schedule>()
  /** The connector's own dials in progress, by PeerId, each with its abort. */
  readonly #inFlight = new Map<string, AbortController>()
  /** The shard of each peer that last let us in, tried first next time (absent: its own address). */
  readonly #shardOf = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #tickQueued = false
  #stopped = true

  constructor(options: PeerConnectorOptions) {
    this.#options = {
      backoffBaseMs: 2_000,
      backoffMaxMs: 300_000,
      concurrency: 2,
      tickMs: 1_000,
      ...options,
    }
    this.#log = options.logger ?? silentLogger
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#timer = setInterval(() => this.#tick(), this.#options.tickMs)
    this.#timer.unref()
    this.#tick()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
    for (const dial of this.#inFlight.values()) dial.abort()
  }

  /** Dials `peerId` at the next opportunity, forgetting its backoff (after an add, or on demand). */
  dialSoon(peerId: string): void {
    this.#schedule.set(peerId, { attempts: 0, nextAt: 0 })
    this.#tickSoon()
  }

  /**
   * Forgets every peer's backoff and dials those not connected: after a
   * sleep or a network outage, whose failures said nothing about the peers
   * (after 2 minutes of them a peer's next attempt would be up to 2 more away).
   * With `abandonDials`, dials in progress are given up and begun again:
   * those begun during an outage went with its circuits (after a 2-minute
   * drop they hung until their 30-s SOCKS bound and held back a fresh dial).
   */
  redialAll(options: { abandonDials?: boolean } = {}): void {
    this.#schedule.clear()
    // Each abandoned dial's end starts its replacement.
    if (options.abandonDials === true) for (const dial of this.#inFlight.values()) dial.abort()
    this.#tick()
  }

  /**
   * Dials a peer now and resolves with the connection (an open one, if there
   * was one already). A peer with more peers than one onion descriptor holds
   * carries our key on one of its shards (`tor/onion-shards.ts`), which we
   * compute from its address: the shard that let us in last time is tried
   * first, then its own address and the other shards, moving on only when a
   * service does not carry our key or is not published. Throws what libp2p
   * threw at the peer's own address (or, if that was not tried, first).
   */
  async dial(peer: PeerRecord, signal?: AbortSignal): Promise<Connection> {
    const remembered = this.#shardOf.get(peer.peerId) ?? 0
    const order = [remembered, ...Array.from({ length: MAX_ONION_SHARDS }, (_, i) => i).filter((i) => i !== remembered)]
    const errors = new Map<number, unknown>()
    // A node fills its shards in order: past a shard that is not published, none is (an ordinary node publishes shard 0 only).
    let unpublishedFrom: number = MAX_ONION_SHARDS
    for (const shard of order) {
      if (shard >= unpublishedFrom) continue
      const onion = shard === 0 ? peer.onion : (onionShardAddresses(peer.onion)[shard] as OnionAddress)
      const started = Date.now()
      try {
        if (shard !== 0) await this.#options.authorizeShard?.(onion, peer)
        const connection = await this.#options.libp2p.dial(onionMultiaddr(onion, this.#options.virtualPort, peerIdFromString(peer.peerId)), signal ? { signal } : {})
        if (shard === 0) this.#shardOf.delete(peer.peerId)
        else this.#shardOf.set(peer.peerId, shard)
        return connection
      } catch (err) {
        errors.set(shard, err)
        const code = dialFailure(err).code
        this.#log.debug({ peer: peer.peerId, shard, reason: code, ms: Date.now() - started }, 'dial at one onion address failed')
        this.#afterFailure(peer, onion, code)
        if (signal?.aborted === true) break
        if (shard !== 0 && code === 'onion-descriptor-not-found') unpublishedFrom = shard
        // The peer's own address not found means it is offline: its shards live on the same tor.
        else if (!SHARD_MISSES.has(code)) break
      }
    }
    throw errors.has(0) ? errors.get(0) : errors.values().next().value
  }

  /**
   * Connects to a peer before a request: dials, and within `budgetMs` retries
   * the failures that clear up by themselves (backoff 1, 2, 4, 5, 5 … s).
   * Throws `PEER_UNAVAILABLE` with tor's reason, and a hint when the peer
   * has probably not added our card.
   */
  async connect(peer: PeerRecord, options: ConnectOptions = {}): Promise<Connection> {
    const { signal } = options
    const deadline = Date.now() + (options.budgetMs ?? DEFAULT_CONNECT_BUDGET_MS)
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.dial(peer, signal)
      } catch (err) {
        const failure = dialFailure(err)
        if (!TRANSIENT_DIAL_FAILURES.has(failure.code) || Date.now() > deadline || signal?.aborted === true) {
          const hint = failure.code.startsWith('onion-client-auth') ? ' (has this peer added our contact card?)' : ''
          throw new NetError('PEER_UNAVAILABLE', `cannot reach ${peer.displayName ?? peer.peerId}: ${failure.message}${hint}`, { cause: err })
        }
        await sleep(Math.min(1_000 * 2 ** attempt, 5_000, Math.max(0, deadline - Date.now())), signal)
      }
    }
  }

  #afterFailure(peer: PeerRecord, onion: OnionAddress, code: string): void {
    if (!STALE_DESCRIPTOR_SIGNS.has(code) || this.#options.refreshDescriptor === undefined) return
    this.#options.refreshDescriptor(onion, peer).catch((err: unknown) => {
      this.#log.debug({ peer: peer.peerId, reason: err instanceof Error ? err.message : String(err) }, 'descriptor refetch failed')
    })
  }

  /** One look at the schedule for a burst of calls (a batch add asks for hundreds of dials at once). */
  #tickSoon(): void {
    if (this.#tickQueued) return
    this.#tickQueued = true
    setImmediate(() => {
      this.#tickQueued = false
      this.#tick()
    })
  }

  #tick(): void {
    if (this.#stopped || this.#inFlight.size >= this.#options.concurrency) return
    const now = Date.now()
    const connected = new Set(
      this.#options.libp2p
        .getConnections()
        .filter((c) => c.status === 'open')
        .map((c) => c.remotePeer.toString()),
    )
    const due: { peer: PeerRecord; schedule: Schedule }[] = []
    // list() is ordered most recently seen first.
    for (const peer of this.#options.table.list()) {
      if (this.#inFlight.has(peer.peerId) || connected.has(peer.peerId)) continue
      const schedule = this.#schedule.get(peer.peerId) ?? { attempts: 0, nextAt: 0 }
      if (schedule.nextAt <= now) due.push({ peer, schedule })
    }
    // Fewest failures first (the sort is stable): otherwise the first few of many offline peers, due again after a short backoff, would take every dial slot and the others would wait for them to reach the backoff's cap.
    due.sort((a, b) => a.schedule.attempts - b.schedule.attempts)
    for (const { peer, schedule } of due) {
      if (this.#inFlight.size >= this.#options.concurrency) return
      const abort = new AbortController()
      this.#inFlight.set(peer.peerId, abort)
      void this.#attempt(peer, schedule, abort.signal).finally(() => {
        this.#inFlight.delete(peer.peerId)
        if (abort.signal.aborted) this.#tick()
      })
    }
  }

  async #attempt(peer: PeerRecord, schedule: Schedule, signal: AbortSignal): Promise<void> {
    try {
      this.#log.debug({ peer: peer.peerId, attempt: schedule.attempts + 1 }, 'dialing')
      await this.dial(peer, signal)
      this.#log.debug({ peer: peer.peerId }, 'connected')
      this.#schedule.set(peer.peerId, { attempts: 0, nextAt: 0 })
      this.#options.table.markSeen(peer.peerId)
    } catch (err) {
      if (this.#stopped || signal.aborted || !this.#options.table.isAllowed(peer.peerId)) return
      const failure = dialFailure(err)
      const delay = backoffDelay(schedule.attempts, this.#options.backoffBaseMs, this.#options.backoffMaxMs)
      this.#schedule.set(peer.peerId, { attempts: schedule.attempts + 1, nextAt: Date.now() + delay })
      this.#options.table.recordError(peer.peerId, failure.code, failure.message)
      this.#log.info({ peer: peer.peerId, reason: failure.code, retryInMs: delay }, 'dial failed')
    }
  }
}
