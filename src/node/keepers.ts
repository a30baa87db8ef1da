import { EventEmitter } from 'node:events'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging.js'
import { BurrowError } from '../errors.js'
import type { ContactCard } from '../keys/index.js'
import { bytesEqual, fromHex, toHex } from '../log/index.js'
import {
  GroupError,
  KEEPER_PROTOCOL,
  MAX_KEEPER_REQUEST_BYTES,
  MAX_KEEPER_RESPONSE_BYTES,
  decodeKeeperRequest,
  decodeKeeperResponse,
  encodeKeeperRequest,
  encodeKeeperResponse,
  type GroupManager,
  type KeeperList,
  type KeeperRequest,
  type KeptGroups,
  type KeptPeersChange,
} from '../group/index.js'
import { peerIdOfIdentityKey, request, serveRequests, type AddressTable, type PeerConnector, type SyncManager } from '../net/index.js'
import type { KeeperStore } from '../store/index.js'
import { listen } from '../util/events.js'
import { assertPeerLimit } from './onion-access.js'

/**
 * Keepers (group/keeper-wire.ts, group/kept.ts) on the network, all three
 * roles of a node at once:
 * - owner: sends each keeper of its groups an order (members, co-keepers,
 *   retention) when it is named and after every change, a release when it
 *   is dropped; each is re-sent until the keeper acknowledges it;
 * - member: once it allowed its group's keepers, allow-lists them, shares
 *   the group with them (the group layer's sharing index) and claims its
 *   files' logs; asks the user first (`question`) while its answer is `ask`;
 * - keeper: answers `/burrow/keeper/1` for the peers its user allowed to
 *   order it (`decide`; the others are asked about once, `asked`),
 *   allow-lists the members and co-keepers of the groups it keeps.
 *
 * A peer put on the allow-list for a keeper's sake carries the reason
 * (`peer_reasons`), and leaves the list when its last reason goes, unless
 * the user added it.
 */

/** Delays between attempts to deliver one message to a keeper; after the last, it waits for the keeper to connect. */
const RETRY_MS = [2_000, 10_000, 30_000, 120_000]

/** How often kept groups' retention periods are applied and their sizes measured again. */
const SWEEP_MS = 60_000

/** Answer time allowed to a keeper (a stream over Tor, a database write). */
const REQUEST_TIMEOUT_MS = 60_000

/** What the keeper service needs from the node. */
export interface KeeperServiceOptions {
  readonly groups: GroupManager
  readonly kept: KeptGroups
  readonly table: AddressTable
  readonly store: KeeperStore
  /** Adds peers to the allow-list (and our onion service's clients). */
  readonly allow: (cards: readonly ContactCard[]) => Promise<void>
  /** Removes a peer from the allow-list. */
  readonly disallow: (peerId: string) => Promise<void>
  readonly logger: Logger
}

/** The running parts it sends through. */
export interface KeeperNetwork {
  readonly libp2p: Libp2p
  readonly sync: SyncManager
  readonly connector: PeerConnector
}

/** Events of {@link KeeperService}. */
export interface KeeperServiceEvents {
  /** A group's keepers list waits for the user's answer (`burrow group keepers allow|deny <group>`). */
  question: [KeeperList]
  /** A kept group is full: new operations of it are refused (`KEEPER_QUOTA_FULL`). */
  full: [{ groupId: Uint8Array; error: GroupError }]
  /** A peer the user has not answered wants groups kept here (`burrow kept allow|deny <peer>`): at its first order, and at every start while unanswered. */
  asked: [Uint8Array]
}

interface Outgoing {
  readonly groupId: Uint8Array
  readonly keeper: Uint8Array
  readonly kind: string
  readonly body: Uint8Array
  attempts: number
  timer?: NodeJS.Timeout
  sending?: boolean
}

export class KeeperService extends EventEmitter<KeeperServiceEvents> {
  readonly #o: KeeperServiceOptions
  #net: KeeperNetwork | undefined
  /** Messages to keepers not yet acknowledged, by `<kind>:<group>:<keeper>` (a newer one of a kind replaces the older). */
  readonly #outbox = new Map<string, Outgoing>()
  /** The retention each keeper of our groups was last ordered with, by group. */
  readonly #orderedRetention = new Map<string, number | null>()
  readonly #detach: (() => void)[] = []

  constructor(options: KeeperServiceOptions) {
    super()
    this.#o = options
    options.kept.onFull = (groupId, error) => {
      options.logger.error({ code: error.code, group: toHex(groupId) }, error.message)
      this.emit('full', { groupId, error })
    }
    options.kept.onAsked = (orderer) => {
      options.logger.info({ peer: peerIdOfIdentityKey(orderer) }, 'a peer asks this node to keep its groups')
      this.emit('asked', orderer)
    }
    // Checked before an order is written, and the room taken (#grant) before anything else runs: an order is carried out whole or not at all.
    options.kept.checkRoom = (peers) => {
      const newcomers = this.#newcomers(peers)
      options.table.checkAll(newcomers)
      assertPeerLimit(options.table.size + newcomers.length)
    }
  }

  /** Serves the protocol and starts the owner's and members' sides on a running node. */
  async start(net: KeeperNetwork): Promise<void> {
    this.#net = net
    await serveRequests(net.libp2p, KEEPER_PROTOCOL, (peer, body) => this.#answer(peer, body), { maxRequestBytes: MAX_KEEPER_REQUEST_BYTES, logger: this.#o.logger })
    const { groups } = this.#o
    this.#detach.push(
      listen(groups, 'keepers', (list) => void this.#listChanged(list)),
      listen(groups, 'changed', ({ groupId }) => this.#orderAll(groupId)),
      listen(groups, 'file', ({ groupId, logId }) => this.#claimFile(groupId, logId)),
      listen(groups, 'removed', ({ groupId }) => {
        const list = groups.keepers(groupId)
        if (list !== undefined) void this.#listChanged(list)
      }),
      listen(groups, 'appended', (ops) => {
        const groupId = ops[0]?.header.logId
        if (groupId !== undefined && this.#orderedRetention.has(toHex(groupId))) this.#retentionMaybeChanged(groupId)
      }),
      // A kept group's quota counts what was stored, not what headers state: a group back under it asks again at once.
      listen(net.sync, 'ingested', ({ operations }) => this.#reopen(this.#o.kept.stored(operations))),
      listen(net.sync, 'session', ({ peer, state }) => {
        if (state === 'ended') this.#reopen(this.#o.kept.ended(peer))
      }),
    )
    // Each kept group's retention period, applied every minute like a member's.
    const sweep = setInterval(() => {
      try {
        this.sweep()
      } catch (err) {
        this.#o.logger.warn({ code: (err as { code?: unknown }).code }, 'kept groups sweep failed')
      }
    }, SWEEP_MS).unref()
    this.#detach.push(() => clearInterval(sweep))
    const onConnect = (evt: CustomEvent<{ toString(): string }>): void => this.#flush(evt.detail.toString())
    net.libp2p.addEventListener('peer:connect', onConnect)
    this.#detach.push(() => net.libp2p.removeEventListener('peer:connect', onConnect))
    // Each start goes over every list again: orders and claims lost to a crash are sent again, and
    // what changed while the node was stopped (an answer given through the library) takes effect.
    for (const list of groups.keeperLists()) void this.#listChanged(list)
    for (const { groupId, keeper } of this.#o.store.releases()) {
      if (groups.keepers(groupId)?.keepers.some((k) => bytesEqual(k.identityKey, keeper)) === true) this.#o.store.dropRelease(groupId, keeper)
      else this.#send('release', groupId, keeper, { type: 'release', groupId })
    }
    await this.#pruneKeptPeers()
    for (const asker of this.askers()) this.emit('asked', asker)
  }

  /**
   * Owner: `keeper` keeps `groupId` no more (call it as the keeper leaves the
   * list): its release is recorded, and sent (again at every start) until the
   * keeper acknowledges it.
   */
  release(groupId: Uint8Array, keeper: Uint8Array): void {
    this.#o.store.addRelease(groupId, keeper)
    this.#send('release', groupId, keeper, { type: 'release', groupId })
  }

  stop(): void {
    for (const d of this.#detach.splice(0)) d()
    for (const out of this.#outbox.values()) clearTimeout(out.timer)
    this.#outbox.clear()
    this.#net = undefined
  }

  /** Applies kept groups' retention periods; a group back under its quota asks its members again for what it refused. */
  sweep(): { expired: number } {
    const { expired, reopened } = this.#o.kept.sweep()
    this.#reopen(reopened)
    return { expired }
  }

  /** Kept groups back under their quota ask their members again for what they refused, in each of their logs (a session asks per log). */
  #reopen(groupIds: readonly Uint8Array[]): void {
    for (const groupId of groupIds) for (const logId of this.#o.kept.logsOf(groupId)) this.#net?.sync.share(logId)
  }

  /** Groups whose keepers list waits for the user's answer. */
  questions(): KeeperList[] {
    return this.#o.groups.keeperLists().filter((l) => l.decision === 'ask' && l.keepers.length > 0 && this.#o.groups.get(l.groupId)?.active === true)
  }

  /** Why a peer is on the allow-list besides the user's choice: `keeper of <group>`, `member of kept group <id>`. */
  reasonsOf(peerId: string): string[] {
    return this.#o.store
      .peerReasons()
      .filter((r) => r.peerId === peerId && r.reason !== 'user')
      .map((r) => {
        const [kind, group] = r.reason.split(':') as [string, string]
        const name = this.#o.groups.get(Buffer.from(group, 'hex'))?.name
        return kind === 'keeper' ? `keeper of ${name ?? group.slice(0, 12)}` : `member of kept group ${group.slice(0, 12)}`
      })
  }

  /** The user added `peerId` themselves: it stays when its keeping reasons go. */
  userAdded(peerId: string): void {
    if (this.#o.store.peerReasons().some((r) => r.peerId === peerId)) this.#o.store.addPeerReason(peerId, 'user')
  }

  /** The user removed a peer: its reasons go with it, and so do its answer as an orderer and the groups kept for it. */
  async userRemoved(peerId: string, identityKey: Uint8Array): Promise<void> {
    this.#o.store.forgetPeer(peerId)
    await this.#peersChanged(this.#o.kept.forget(identityKey))
  }

  /**
   * The user's answer to a peer that orders this node to keep its groups:
   * `allow` carries out its orders (those waiting now, and later ones);
   * `deny` refuses them and drops the groups kept for it.
   */
  async decide(orderer: Uint8Array, decision: 'allow' | 'deny'): Promise<void> {
    const changes = this.#o.kept.decide(orderer, decision)
    await this.#peersChanged(changes)
    for (const change of changes) this.#shareKept(change)
  }

  /** Peers that asked this node to keep groups and wait for the user's answer. */
  askers(): Uint8Array[] {
    return this.#o.kept
      .orderers()
      .filter((o) => o.decision === 'ask')
      .map((o) => o.identityKey)
  }

  // ---- keeper side ------------------------------------------------------------

  async #answer(peerId: string, body: Uint8Array): Promise<Uint8Array> {
    const from = this.#o.table.identityKeyOf(peerId)
    if (from === undefined) return encodeKeeperResponse('PEER_NOT_ALLOWED')
    let req: KeeperRequest
    try {
      req = decodeKeeperRequest(body)
    } catch (err) {
      return encodeKeeperResponse(err instanceof BurrowError ? err.code : 'KEEPER_MALFORMED')
    }
    try {
      const { kept } = this.#o
      if (req.type === 'claim') {
        for (const logId of kept.claim(from, req.groupId, req.fileIds)) this.#net?.sync.share(logId)
      } else {
        const change = req.type === 'order' ? kept.order(from, req) : kept.release(from, req.groupId)
        await this.#peersChanged([change])
        this.#shareKept(change)
      }
      this.#o.logger.info({ peer: peerId, request: req.type, group: toHex(req.groupId).slice(0, 12) }, 'keeper request accepted')
      return encodeKeeperResponse()
    } catch (err) {
      if (!(err instanceof BurrowError)) throw err
      this.#o.logger.warn({ peer: peerId, request: req.type, code: err.code, reason: err.message }, 'keeper request refused')
      return encodeKeeperResponse(err.code)
    }
  }

  /** Offers a kept group's logs, with the file logs claimed before its order, to the peers it is shared with now. */
  #shareKept(change: KeptPeersChange): void {
    for (const logId of [change.groupId, ...change.claimed]) this.#net?.sync.share(logId)
  }

  /** Allow-lists who kept groups are shared with now, in one change of the allow-list, and lets go of those they no longer name. */
  async #peersChanged(changes: readonly KeptPeersChange[]): Promise<void> {
    const reason = (change: KeptPeersChange): string => `kept:${toHex(change.groupId)}`
    await this.#grant(changes.map((change) => ({ cards: change.peers, reason: reason(change) })))
    for (const change of changes) await this.#revoke(change.dropped, reason(change))
  }

  /**
   * Lets go of peers allow-listed for a kept group that no order names any
   * more (a group dropped, or a peer left out, while a crash cut the change
   * short): at every start, so that keeping's entries stay what the orders say.
   */
  async #pruneKeptPeers(): Promise<void> {
    const named = new Set<string>()
    for (const [peer, groups] of this.#o.kept.peers()) for (const groupId of groups) named.add(`${peerIdOfIdentityKey(fromHex(peer))}:kept:${toHex(groupId)}`)
    for (const { peerId, reason } of this.#o.store.peerReasons()) {
      if (!reason.startsWith('kept:') || named.has(`${peerId}:${reason}`)) continue
      const key = this.#o.table.identityKeyOf(peerId)
      if (key !== undefined) await this.#revoke([key], reason)
      else this.#o.store.dropPeerReason(peerId, reason)
    }
  }

  // ---- owner and member side ----------------------------------------------------

  async #listChanged(list: KeeperList): Promise<void> {
    const info = this.#o.groups.get(list.groupId)
    if (info === undefined) return
    const reason = `keeper:${toHex(list.groupId)}`
    const keys = new Set(list.keepers.map((k) => toHex(k.identityKey)))
    const held = this.#o.store.peerReasons().filter((r) => r.reason === reason)
    const gone = held.map((r) => this.#o.table.identityKeyOf(r.peerId)).filter((k): k is Uint8Array => k !== undefined && !keys.has(toHex(k)))
    const allowed = list.decision === 'allow' && info.active
    try {
      if (info.isOwner) {
        // Our own keepers are on our allow-list already (the owner names only peers it has); dropped ones get their `release`.
        this.#orderAll(list.groupId)
      } else if (allowed) {
        await this.#grant([{ cards: list.keepers, reason }])
        this.#claimAll(list)
      } else if (list.decision === 'ask' && list.keepers.length > 0) {
        this.emit('question', list)
      }
      await this.#revoke(allowed ? gone : held.map((r) => this.#o.table.identityKeyOf(r.peerId)).filter((k): k is Uint8Array => k !== undefined), reason)
      this.#net?.sync.share(list.groupId)
    } catch (err) {
      this.#o.logger.warn({ group: toHex(list.groupId).slice(0, 12), code: (err as { code?: unknown }).code }, 'keepers change not applied')
    }
  }

  /** Owner: (re-)sends the current order to every keeper of the group. */
  #orderAll(groupId: Uint8Array): void {
    const { groups, table } = this.#o
    const info = groups.get(groupId)
    const list = groups.keepers(groupId)
    if (info === undefined || !info.isOwner || !info.active || list === undefined) return
    const members = info.members
      .filter((m) => !bytesEqual(m, groups.identityKey))
      .map((m) => table.get(peerIdOfIdentityKey(m)))
      .filter((r) => r !== undefined)
      .map((r) => ({ version: 1 as const, identityKey: r.identityKey, onionAddress: r.onion, clientAuthKey: r.clientAuthKey, ...(r.displayName !== undefined ? { displayName: r.displayName } : {}) }))
    const order: KeeperRequest = { type: 'order', groupId, nonce: groups.ownershipNonce(groupId), members, keepers: list.keepers, retentionMs: info.retentionMs }
    this.#orderedRetention.set(toHex(groupId), info.retentionMs)
    for (const keeper of list.keepers) {
      // Named again: a release still on its way is void.
      this.#o.store.dropRelease(groupId, keeper.identityKey)
      this.#outbox.delete(`release:${toHex(groupId)}:${toHex(keeper.identityKey)}`)
      this.#send('order', groupId, keeper.identityKey, order)
    }
    // The owner's own files are claimed like a member's.
    this.#claimAll(list)
  }

  #retentionMaybeChanged(groupId: Uint8Array): void {
    const retention = this.#o.groups.get(groupId)?.retentionMs ?? null
    if (retention !== this.#orderedRetention.get(toHex(groupId))) this.#orderAll(groupId)
  }

  /** Claims every file of the group known here with each keeper we share it with. */
  #claimAll(list: KeeperList): void {
    if (list.decision !== 'allow') return
    const fileIds = this.#o.groups.fileIds(list.groupId)
    for (let i = 0; i < fileIds.length; i += 512) {
      for (const keeper of list.keepers) this.#send(`claim${i}`, list.groupId, keeper.identityKey, { type: 'claim', groupId: list.groupId, fileIds: fileIds.slice(i, i + 512) })
    }
  }

  #claimFile(groupId: Uint8Array, logId: Uint8Array): void {
    const list = this.#o.groups.keepers(groupId)
    if (list === undefined || list.decision !== 'allow') return
    const file = this.#o.groups.fileByLog(logId)
    if (file === undefined) return
    for (const keeper of list.keepers) this.#send(`file-${toHex(logId)}`, groupId, keeper.identityKey, { type: 'claim', groupId, fileIds: [file.fileId] })
  }

  // ---- delivery ------------------------------------------------------------------

  #send(kind: string, groupId: Uint8Array, keeper: Uint8Array, req: KeeperRequest): void {
    const key = `${kind}:${toHex(groupId)}:${toHex(keeper)}`
    clearTimeout(this.#outbox.get(key)?.timer)
    const out: Outgoing = { groupId: groupId.slice(), keeper: keeper.slice(), kind, body: encodeKeeperRequest(req), attempts: 0 }
    this.#outbox.set(key, out)
    void this.#deliver(key, out)
  }

  /** Sends what waits for a keeper that just connected. */
  #flush(peerId: string): void {
    for (const [key, out] of this.#outbox) {
      if (peerIdOfIdentityKey(out.keeper) !== peerId || out.sending === true) continue
      clearTimeout(out.timer)
      out.attempts = 0
      void this.#deliver(key, out)
    }
  }

  async #deliver(key: string, out: Outgoing): Promise<void> {
    const net = this.#net
    const record = this.#o.table.get(peerIdOfIdentityKey(out.keeper))
    if (net === undefined || record === undefined || this.#outbox.get(key) !== out) return
    out.sending = true
    try {
      await net.connector.connect(record, { budgetMs: 60_000 })
      decodeKeeperResponse(await request(net.libp2p, peerIdFromString(record.peerId), KEEPER_PROTOCOL, out.body, { maxResponseBytes: MAX_KEEPER_RESPONSE_BYTES, timeoutMs: REQUEST_TIMEOUT_MS }))
      this.#done(key, out)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      this.#o.logger.warn({ keeper: record.peerId, request: key.split(':')[0], code, attempt: out.attempts + 1 }, 'keeper request not delivered')
      // A refusal is the keeper's answer: asking again changes nothing until the next change or start. Not allowed
      // (yet) is the keeper's user's to answer: asked again on the retry schedule, then whenever the keeper connects.
      if (code === 'KEEPER_REFUSED' || code === 'KEEPER_MALFORMED') {
        this.#done(key, out)
        return
      }
      const delay = RETRY_MS[out.attempts++]
      if (delay !== undefined && this.#outbox.get(key) === out) out.timer = setTimeout(() => void this.#deliver(key, out), delay).unref()
    } finally {
      out.sending = false
    }
  }

  /** A message the keeper answered: it leaves the outbox (a release, the database too). */
  #done(key: string, out: Outgoing): void {
    if (this.#outbox.get(key) !== out) return
    this.#outbox.delete(key)
    if (out.kind === 'release') this.#o.store.dropRelease(out.groupId, out.keeper)
  }

  // ---- the allow-list ----------------------------------------------------------

  /**
   * Allow-lists each grant's cards for its reason, all in one change of the
   * allow-list (whose limit it checks before it awaits anything: the room an
   * order found is still there); a peer the user had added before is marked
   * the user's, so that it stays.
   */
  async #grant(grants: readonly { cards: readonly ContactCard[]; reason: string }[]): Promise<void> {
    const { store, table } = this.#o
    const newcomers = this.#newcomers(grants.flatMap((g) => g.cards))
    // Read once, not per card: an order names up to 1,008 peers.
    const withReasons = new Set(store.peerReasons().map((r) => r.peerId))
    for (const { cards, reason } of grants) {
      for (const card of cards) {
        if (bytesEqual(card.identityKey, this.#o.groups.identityKey)) continue
        const peerId = peerIdOfIdentityKey(card.identityKey)
        if (table.isAllowed(peerId) && !withReasons.has(peerId)) store.addPeerReason(peerId, 'user')
        store.addPeerReason(peerId, reason)
        withReasons.add(peerId)
      }
    }
    if (newcomers.length > 0) await this.#o.allow(newcomers)
  }

  /** The peers among `cards` not on the allow-list yet (this node aside), once each. */
  #newcomers(cards: readonly ContactCard[]): ContactCard[] {
    const out = new Map<string, ContactCard>()
    for (const card of cards) {
      const peerId = peerIdOfIdentityKey(card.identityKey)
      if (!bytesEqual(card.identityKey, this.#o.groups.identityKey) && !this.#o.table.isAllowed(peerId) && !out.has(peerId)) out.set(peerId, card)
    }
    return [...out.values()]
  }

  /** Drops `reason` from each peer; one left with no reason and not added by the user leaves the allow-list. */
  async #revoke(peers: readonly Uint8Array[], reason: string): Promise<void> {
    const { store } = this.#o
    for (const key of peers) {
      const peerId = peerIdOfIdentityKey(key)
      const reasons = store.peerReasons().filter((r) => r.peerId === peerId)
      if (!reasons.some((r) => r.reason === reason)) continue
      store.dropPeerReason(peerId, reason)
      if (reasons.length > 1) continue
      if (this.#o.table.isAllowed(peerId)) await this.#o.disallow(peerId)
    }
  }
}
