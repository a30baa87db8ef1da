import type { Connection, Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { BurrowError } from '../errors.js'
import { backoffDelay } from '../util/async.js'
import type { AddressTable, PeerRecord } from './address-table.js'
import { findOnionDialError } from './errors.js'
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
  /** Told of every failed dial (after it is recorded): where the node can react, e.g. refetch a stale descriptor. */
  onDialFailure?: (peer: PeerRecord, failure: { code: string; message: string }) => void
  logger?: Logger
}

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
  readonly #options: Required<Omit<PeerConnectorOptions, 'logger' | 'onDialFailure'>> & Pick<PeerConnectorOptions, 'onDialFailure'>
  readonly #log: Logger
  readonly #schedule = new Map<string, Schedule>()
  readonly #inFlight = new Set<string>()
  #timer: NodeJS.Timeout | undefined
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
  }

  /** Dials `peerId` at the next opportunity, forgetting its backoff (after an add, or on demand). */
  dialSoon(peerId: string): void {
    this.#schedule.set(peerId, { attempts: 0, nextAt: 0 })
    this.#tick()
  }

  /** Dials a peer now and resolves with the connection (an open one, if there was one already). Throws what libp2p threw. */
  dial(peer: PeerRecord, signal?: AbortSignal): Promise<Connection> {
    const addr = onionMultiaddr(peer.onion, this.#options.virtualPort, peerIdFromString(peer.peerId))
    return this.#options.libp2p.dial(addr, signal ? { signal } : {})
  }

  #connected(peerId: string): boolean {
    return this.#options.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')
  }

  #tick(): void {
    if (this.#stopped) return
    const now = Date.now()
    // list() is ordered most recently seen first.
    for (const peer of this.#options.table.list()) {
      if (this.#inFlight.size >= this.#options.concurrency) return
      if (this.#inFlight.has(peer.peerId) || this.#connected(peer.peerId)) continue
      const schedule = this.#schedule.get(peer.peerId) ?? { attempts: 0, nextAt: 0 }
      if (schedule.nextAt > now) continue
      this.#inFlight.add(peer.peerId)
      void this.#attempt(peer, schedule).finally(() => this.#inFlight.delete(peer.peerId))
    }
  }

  async #attempt(peer: PeerRecord, schedule: Schedule): Promise<void> {
    try {
      this.#log.debug({ peer: peer.peerId, attempt: schedule.attempts + 1 }, 'dialing')
      await this.dial(peer)
      this.#log.debug({ peer: peer.peerId }, 'connected')
      this.#schedule.set(peer.peerId, { attempts: 0, nextAt: 0 })
      this.#options.table.markSeen(peer.peerId)
    } catch (err) {
      if (this.#stopped || !this.#options.table.isAllowed(peer.peerId)) return
      const failure = dialFailure(err)
      const delay = backoffDelay(schedule.attempts, this.#options.backoffBaseMs, this.#options.backoffMaxMs)
      this.#schedule.set(peer.peerId, { attempts: schedule.attempts + 1, nextAt: Date.now() + delay })
      this.#options.table.recordError(peer.peerId, failure.code, failure.message)
      this.#options.onDialFailure?.(peer, failure)
      this.#log.info({ peer: peer.peerId, reason: failure.code, retryInMs: delay }, 'dial failed')
    }
  }
}
