import type { Logger } from '../logging.js'
import type { NodeKeys } from '../keys/index.js'
import type { AddressTable, PeerRecord } from '../net/index.js'
import {
  clientAuthPublicKeyBase32,
  MAX_CLIENTS_PER_ONION,
  MAX_ONION_SHARDS,
  OnionClientAuth,
  OnionService,
  onionShardAddresses,
  type OnionAddress,
  type Tor,
} from '../tor/index.js'
import { NodeError } from './errors.js'

/**
 * The self-check before deciding to re-publish: one dial of at most 8 s. On
 * the live profile a self-dial after NEWNYM (descriptor fetched afresh) took
 * 3–5 s, 5–10 s with the machine loaded. After a wake across two time
 * periods (the descriptor peers look up was never uploaded) the dial did not
 * fail fast: it hung for the whole bound (20 s, then 15 s, in four runs),
 * and only then came the re-publication, which took 10 s to reachable. A
 * needless re-publication costs peers about 5 s of reachability; a hung
 * check costs the whole bound.
 */
const RECHECK = { timeoutMs: 8_000, maxAttempts: 1 }
/**
 * After re-publishing: a fresh descriptor's first dial is 3–10 s on the live
 * profile, up to 30 s on the live network. Attempts of 10, 20, then 30 s:
 * after a 2-minute outage the first dial hung for its whole 30 s while a
 * new one, on fresh circuits, passed (live profile).
 */
const RECHECK_AFTER_REPUBLISH = { timeoutMs: 60_000, attemptTimeoutMs: 10_000 }

/** Peers one onion service carries: our own key takes one place in its descriptor. */
export const PEERS_PER_SHARD = MAX_CLIENTS_PER_ONION - 1

/** The most peers a node allows: every one of them on one of our {@link MAX_ONION_SHARDS} onion services. */
export const MAX_PEERS = MAX_ONION_SHARDS * PEERS_PER_SHARD

/**
 * Refuses an allow-list of `total` peers before anything is stored or published.
 *
 * @throws NodeError `NODE_PEER_LIMIT` naming the limit
 */
export function assertPeerLimit(total: number): void {
  if (total > MAX_PEERS) {
    throw new NodeError(
      'NODE_PEER_LIMIT',
      `a node allows at most ${MAX_PEERS} peers (${MAX_ONION_SHARDS} onion services of ${PEERS_PER_SHARD} client keys each); this would make ${total}: remove some first`,
    )
  }
}

/**
 * Which of our onion services carries each peer's client-auth key: peers in
 * the order they were added (then by PeerId), {@link PEERS_PER_SHARD} to a
 * service, our own address first. So a new peer lands on the last service
 * and an add re-publishes that one only; a removal moves one peer per later
 * service one place back. Peers need not know this: they try our addresses
 * in turn (`PeerConnector`). Always at least one shard, our own address.
 */
export function assignShards(peers: readonly Pick<PeerRecord, 'peerId' | 'addedAt' | 'clientAuthKey'>[]): Uint8Array[][] {
  assertPeerLimit(peers.length)
  const ordered = [...peers].sort((a, b) => a.addedAt - b.addedAt || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
  const shards: Uint8Array[][] = [[]]
  for (let i = 0; i < ordered.length; i += PEERS_PER_SHARD) shards[i / PEERS_PER_SHARD] = ordered.slice(i, i + PEERS_PER_SHARD).map((p) => p.clientAuthKey)
  return shards
}

/** What a shard's publication carried, to re-publish only the shards whose keys changed. */
function keySetOf(keys: readonly Uint8Array[]): string {
  return keys.map(clientAuthPublicKeyBase32).sort().join(',')
}

/**
 * Who can reach whom over Tor, kept in step with the allow-list: our onion
 * services carry every allow-listed peer's client-auth key (only they can
 * read our descriptors), and our tor holds our client-auth key for every
 * peer's onion (so we can read theirs).
 *
 * One descriptor holds at most {@link PEERS_PER_SHARD} peers' keys, so
 * beyond that the node publishes more onion services (shards, see
 * `tor/onion-shards.ts`), each a persistent key blinded from our own, up to
 * {@link MAX_ONION_SHARDS}; {@link assignShards} says which peer is on which.
 */
export class OnionAccess {
  readonly #tor: Tor
  readonly #options: OnionAccessOptions
  readonly #clientAuth: OnionClientAuth
  readonly #log: Logger
  /** Our services by shard; the first is our own address and always there. */
  readonly #services: OnionService[]
  /** The key set each shard was last published with; absent until it is. */
  readonly #published: (string | undefined)[] = []
  /** Shard addresses of each peer we registered our key for (its own address is always registered). */
  readonly #shardAuth = new Map<string, Set<OnionAddress>>()
  /** Changes of the shards run one after another (two could create one shard twice). */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(tor: Tor, options: OnionAccessOptions) {
    this.#tor = tor
    this.#options = options
    this.#log = options.logger
    this.#clientAuth = new OnionClientAuth(tor)
    this.#services = [this.#newService(0)]
  }

  /** Our own onion service (its `published` event follows every re-publication). */
  get service(): OnionService {
    return this.#services[0] as OnionService
  }

  /** Every onion service we publish, our own first. */
  get services(): readonly OnionService[] {
    return this.#services
  }

  /** Publishes our services, registers our key for every peer's onion, and resolves once we reach ourselves through Tor. */
  async publish(signal?: AbortSignal): Promise<void> {
    await this.#syncShards(signal)
    await this.#clientAuth.add(this.#table.list().map((p) => p.onion), this.#keys.clientAuth.privateKey)
    await this.service.selfCheck(signal ? { signal } : {})
  }

  /**
   * Whether peers can still reach us, after a sleep: a self-check on a fresh
   * circuit and, when it fails, {@link renew}. Resolves with whether it re-published.
   */
  async recheck(signal?: AbortSignal): Promise<{ republished: boolean }> {
    try {
      await this.service.selfCheck({ ...RECHECK, ...(signal ? { signal } : {}) })
      return { republished: false }
    } catch (err) {
      if (signal?.aborted === true) throw err
      this.#log.info({ reason: err instanceof Error ? err.message : String(err) }, 'our onion is not reachable; re-publishing it')
    }
    await this.renew(signal)
    return { republished: true }
  }

  /**
   * Publishes our services again (fresh introduction points and descriptors)
   * and resolves once our own passes a self-check. After a network outage this
   * comes without a check first: the links that carried our introduction
   * circuits were gone, and tor alone left the service unreachable for
   * minutes afterwards (docs/testnet.md).
   */
  async renew(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.#services.map((service) => service.republish(signal)))
    await this.service.selfCheck({ ...RECHECK_AFTER_REPUBLISH, ...(signal ? { signal } : {}) })
  }

  /**
   * Peers were added (one, or a batch such as an import of cards). First our
   * key for their onions is registered, and `reachable` is called: from then
   * on we can reach those that have added us (they re-published with our
   * key), so the caller dials at once. Then each of our services whose keys
   * changed is re-published, once for the whole batch (about 2–3 s on the
   * fast profile, 4–5 s on the live one), after which they can reach us.
   *
   * The other order made the second card of a pair wait for our whole
   * re-publication before the first dial (live profile: 13.2 s from the
   * second card to both connected, 4.6 s of it the re-publication).
   */
  async admit(peers: readonly PeerRecord[], reachable: () => void = () => {}): Promise<void> {
    await this.#clientAuth.add(peers.map((p) => p.onion), this.#keys.clientAuth.privateKey)
    reachable()
    await this.#syncShards()
  }

  /**
   * Registers our key for one of a listed peer's shard addresses, before the
   * connector dials it (computing every peer's shard addresses up front
   * would cost about 7 s for 1,000 peers, and most peers have one address).
   */
  async authorizeShard(onion: OnionAddress, peer: PeerRecord): Promise<void> {
    const current = this.#options.table.get(peer.peerId)
    if (current === undefined || current.onion === onion || !onionShardAddresses(current.onion).includes(onion)) return
    const registered = this.#shardAuth.get(peer.peerId) ?? new Set()
    this.#shardAuth.set(peer.peerId, registered)
    if (registered.has(onion)) return
    registered.add(onion)
    await this.#clientAuth.add(onion, this.#keys.clientAuth.privateKey)
  }

  /**
   * A dial to `peer` at `onion` (its own address or a shard's) failed in a way
   * that says our tor may hold a stale view of it: our key for that onion is
   * registered again (a NEWNYM, ours or anyone's on a shared tor, drops it)
   * and its descriptor fetched afresh.
   */
  async refresh(onion: OnionAddress, peer?: PeerRecord): Promise<void> {
    // Only for a peer still on the list: a removed one's key must stay gone.
    const current = peer === undefined ? this.#table.list().find((p) => p.onion === onion) : this.#table.get(peer.peerId)
    if (current !== undefined && (current.onion === onion || this.#shardAuth.get(current.peerId)?.has(onion) === true)) {
      await this.#clientAuth.add(onion, this.#keys.clientAuth.privateKey)
    }
    await this.#tor.refetchDescriptor(onion)
  }

  /** A peer was removed: our keys for its onions are dropped and our services re-published without its key. */
  async revoke(peer: PeerRecord): Promise<void> {
    await this.#clientAuth.remove([peer.onion, ...(this.#shardAuth.get(peer.peerId) ?? [])])
    this.#shardAuth.delete(peer.peerId)
    await this.#syncShards()
  }

  /** Withdraws our services and our keys from tor. */
  async close(): Promise<void> {
    await Promise.all(this.#services.map((service) => service.remove().catch(() => {})))
    await this.#clientAuth.close().catch(() => {})
  }

  get #table(): AddressTable {
    return this.#options.table
  }

  get #keys(): NodeKeys {
    return this.#options.keys
  }

  #newService(shard: number): OnionService {
    return new OnionService(this.#tor, {
      seed: this.#keys.onionServiceSeed,
      shard,
      virtualPort: this.#options.virtualPort,
      target: this.#options.target,
      ownClientAuth: this.#keys.clientAuth,
      logger: this.#log,
    })
  }

  /**
   * Brings our services in line with the allow-list: publishes a shard that
   * is new or whose keys changed (all of them at once), withdraws one no
   * longer needed. Our own address is always published.
   */
  #syncShards(signal?: AbortSignal): Promise<void> {
    const next = this.#queue.then(() => this.#applyShards(signal))
    this.#queue = next.catch(() => {})
    return next
  }

  async #applyShards(signal?: AbortSignal): Promise<void> {
    const shards = assignShards(this.#table.list())
    const work: Promise<void>[] = []
    for (const [index, service] of this.#services.entries()) {
      if (index >= shards.length) work.push(service.remove())
    }
    this.#services.length = Math.min(this.#services.length, shards.length)
    this.#published.length = this.#services.length
    for (const [index, keys] of shards.entries()) {
      const keySet = keySetOf(keys)
      if (this.#published[index] === keySet) continue
      const service = this.#services[index] ?? this.#newService(index)
      this.#services[index] = service
      this.#published[index] = keySet
      const publication = service.isPublished
        ? service.setAuthorizedClients(keys, signal)
        : service.setAuthorizedClients(keys).then(() => service.publish(signal))
      work.push(
        publication.catch((err: unknown) => {
          // Published again at the next change rather than taken for done.
          if (this.#published[index] === keySet) this.#published[index] = undefined
          throw err
        }),
      )
    }
    const results = await Promise.allSettled(work)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    if (work.length > 0) this.#log.info({ services: this.#services.length, changed: work.length }, 'onion services in step with the allow-list')
  }
}

/** Options of {@link OnionAccess}. */
export interface OnionAccessOptions {
  keys: NodeKeys
  table: AddressTable
  virtualPort: number
  target: { path: string }
  logger: Logger
}
