import type { Logger } from '../logging.js'
import type { NodeKeys } from '../keys/index.js'
import type { AddressTable, PeerRecord } from '../net/index.js'
import { OnionClientAuth, OnionService, type OnionAddress, type Tor } from '../tor/index.js'

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
/** After re-publishing: a fresh descriptor's first dial is 3–10 s on the live profile, up to 30 s on the live network. */
const RECHECK_AFTER_REPUBLISH_MS = 60_000

/**
 * Who can reach whom over Tor, kept in step with the allow-list: our onion
 * service carries every allow-listed peer's client-auth key (only they can
 * read our descriptor), and our tor holds our client-auth key for every
 * peer's onion (so we can read theirs).
 */
export class OnionAccess {
  readonly #tor: Tor
  readonly #keys: NodeKeys
  readonly #table: AddressTable
  readonly #clientAuth: OnionClientAuth
  readonly #service: OnionService
  readonly #log: Logger

  constructor(tor: Tor, options: { keys: NodeKeys; table: AddressTable; virtualPort: number; target: { path: string }; logger: Logger }) {
    this.#tor = tor
    this.#keys = options.keys
    this.#table = options.table
    this.#log = options.logger
    this.#clientAuth = new OnionClientAuth(tor)
    this.#service = new OnionService(tor, {
      seed: options.keys.onionServiceSeed,
      virtualPort: options.virtualPort,
      target: options.target,
      ownClientAuth: options.keys.clientAuth,
      authorizedClients: this.#authorizedClients(),
      logger: options.logger,
    })
  }

  /** Our onion service (its `published` event follows every re-publication). */
  get service(): OnionService {
    return this.#service
  }

  /** Publishes our service, registers our key for every peer's onion, and resolves once we reach ourselves through Tor. */
  async publish(signal?: AbortSignal): Promise<void> {
    await this.#service.publish(signal)
    for (const peer of this.#table.list()) await this.#clientAuth.add(peer.onion, this.#keys.clientAuth.privateKey)
    await this.#service.selfCheck(signal ? { signal } : {})
  }

  /**
   * Whether peers can still reach us, after a sleep: a self-check on a fresh
   * circuit and, when it fails, {@link renew}. Resolves with whether it re-published.
   */
  async recheck(signal?: AbortSignal): Promise<{ republished: boolean }> {
    try {
      await this.#service.selfCheck({ ...RECHECK, ...(signal ? { signal } : {}) })
      return { republished: false }
    } catch (err) {
      if (signal?.aborted === true) throw err
      this.#log.info({ reason: err instanceof Error ? err.message : String(err) }, 'our onion is not reachable; re-publishing it')
    }
    await this.renew(signal)
    return { republished: true }
  }

  /**
   * Publishes our service again (fresh introduction points and descriptors)
   * and resolves once it passes a self-check. After a network outage this
   * comes without a check first: the links that carried our introduction
   * circuits were gone, and tor alone left the service unreachable for
   * minutes afterwards (docs/testnet.md).
   */
  async renew(signal?: AbortSignal): Promise<void> {
    await this.#service.republish(signal)
    await this.#service.selfCheck({ timeoutMs: RECHECK_AFTER_REPUBLISH_MS, ...(signal ? { signal } : {}) })
  }

  /**
   * A peer was added. First our key for its onion is registered, and
   * `reachable` is called: from then on we can reach it if it has added us
   * (it re-published with our key), so the caller dials at once. Then our
   * service is re-published with its key (about 2–3 s on the fast profile,
   * 4–5 s on the live one), after which it can reach us.
   *
   * The other order made the second card of a pair wait for our whole
   * re-publication before the first dial (live profile: 13.2 s from the
   * second card to both connected, 4.6 s of it the re-publication).
   */
  async admit(peer: PeerRecord, reachable: () => void = () => {}): Promise<void> {
    await this.#clientAuth.add(peer.onion, this.#keys.clientAuth.privateKey)
    reachable()
    await this.#service.setAuthorizedClients(this.#authorizedClients())
  }

  /**
   * A dial to the peer at `onion` failed in a way that says our tor may hold a stale view
   * of it: our key for its onion is registered again (a NEWNYM, ours or
   * anyone's on a shared tor, drops it) and its descriptor fetched afresh.
   */
  async refresh(onion: OnionAddress): Promise<void> {
    // Only for a peer still on the list: a removed one's key must stay gone.
    if (this.#table.list().some((p) => p.onion === onion)) await this.#clientAuth.add(onion, this.#keys.clientAuth.privateKey)
    await this.#tor.refetchDescriptor(onion)
  }

  /** A peer was removed: our key for its onion is dropped and our service re-published without its key. */
  async revoke(peer: PeerRecord): Promise<void> {
    await this.#clientAuth.remove(peer.onion)
    await this.#service.setAuthorizedClients(this.#authorizedClients())
  }

  /** Withdraws our service and our keys from tor. */
  async close(): Promise<void> {
    await this.#service.remove().catch(() => {})
    await this.#clientAuth.close().catch(() => {})
  }

  #authorizedClients(): Uint8Array[] {
    return this.#table.list().map((p) => p.clientAuthKey)
  }
}
