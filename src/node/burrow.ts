import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { silentLogger, type Logger } from '../logging.js'
import { listen as on } from '../util/events.js'
import { contactCardQr, createContactCard, decodeContactCard, encodeContactCard, type ContactCard, type NodeKeys } from '../keys/index.js'
import { toHex } from '../log/index.js'
import { KeeperStore, LogStore, PeerStore, PendingInviteStore, type Database, type KeeperDecision } from '../store/index.js'
import type { OnionAddress, Tor } from '../tor/index.js'
import { AddressTable, PeerConnector, SyncManager, createBurrowLibp2p, peerIdOfIdentityKey, type BurrowLibp2p, type PeerRecord } from '../net/index.js'
import { GroupError, GroupManager, KeptGroups, type GroupInfo, type KeeperList, type RotationOutcome } from '../group/index.js'
import { GroupContent } from './content.js'
import { createNodeData, openNodeData } from './data-dir.js'
import { NodeError } from './errors.js'
import { ForkLedger, forwardForkEvents } from './forks.js'
import { InviteQueue, type InviteOptions, type InviteOutcome, type PendingInviteView } from './invite-queue.js'
import { inviteNetwork, serveKeyPackages } from './key-packages.js'
import { KeeperService } from './keepers.js'
import { connectPublishAndIngest, forwardGroupEvents, forwardNetEvents, forwardTorEvents, groupSyncPolicy, recoveryEvents } from './wiring.js'
import { assertPeerLimit, OnionAccess } from './onion-access.js'
import { Recovery } from './recovery.js'
import { nodePaths, type NodePaths } from './paths.js'
import { torFor } from './tor-choice.js'
import type { BurrowEvents, BurrowOptions, KeepersView, KeptGroupStatus, NodeStatus } from './types.js'
import { groupSummary, messageView, namingFrom, nodeStatus, peerView, type GroupSummary, type MessageView, type Naming, type PeerView } from './views.js'

/** The parts of a peer's record that a contact card carries (unsigned: what keeping passes on). */
function cardOf(peer: PeerRecord): ContactCard {
  return { version: 1, identityKey: peer.identityKey, onionAddress: peer.onion, clientAuthKey: peer.clientAuthKey, ...(peer.displayName !== undefined ? { displayName: peer.displayName } : {}) }
}

/** The onion service port peers dial. Contact cards carry no port, so every Burrow node uses this one. */
export const BURROW_VIRTUAL_PORT = 443

/** The parts that exist only while the node runs. */
interface Running {
  tor: Tor
  net: BurrowLibp2p
  sync: SyncManager
  connector: PeerConnector
  access: OnionAccess
  recovery: Recovery
}

/**
 * A Burrow node: its own tor, an onion service with client authorization,
 * libp2p over onion connections to allow-listed peers only, signed logs in
 * SQLite replicated by `/burrow/sync/1`, and MLS-encrypted groups.
 *
 * This class only composes: the group layer encrypts and orders
 * (`GroupManager`), sync replicates (`SyncManager`), the connector keeps
 * peers connected (`PeerConnector`), tor and the onion service are `tor/`'s,
 * and `Recovery` brings it all back after a sleep or a network outage.
 * The two paths through it:
 * - publish: {@link send} → `groups.send` (MLS encrypt, sign, store in one
 *   transaction) → its `appended` operations → `sync.offer` (pushed live).
 * - ingest: a sync session stores validated operations → `groups.processSoon`
 *   (MLS in epoch order, plaintext into the local view) → `group:message`.
 *
 * ```ts
 * await Burrow.init('/path/to/data')
 * const node = await Burrow.open({ dataDir: '/path/to/data' })
 * node.on('group:message', (m) => console.log(m.text))
 * await node.start()
 * ```
 */
export class Burrow extends EventEmitter<BurrowEvents> {
  readonly keys: NodeKeys
  readonly paths: NodePaths
  readonly peerId: string
  /** Files, deletion and retention in our groups. */
  readonly content: GroupContent
  /** Fork proofs this node holds: list them, export one to give to others. */
  readonly forks: ForkLedger
  /** Our invitations waiting for their invitees: list, cancel. */
  readonly invites: InviteQueue
  readonly #options: BurrowOptions
  readonly #log: Logger
  readonly #db: Database
  readonly #logs: LogStore
  readonly #table: AddressTable
  readonly #groups: GroupManager
  readonly #naming: Naming
  readonly #kept: KeptGroups
  readonly #keepers: KeeperService
  #state: NodeStatus['state'] = 'stopped'
  /** What has been started so far; complete while the state is `running`. */
  #running: Partial<Running> | undefined
  #reachable = false
  readonly #detach: (() => void)[] = []

  private constructor(options: BurrowOptions, keys: NodeKeys, db: Database) {
    super()
    this.#options = options
    this.#log = options.logger ?? silentLogger
    this.keys = keys
    this.paths = nodePaths(options.dataDir)
    this.peerId = peerIdOfIdentityKey(keys.identity.publicKey)
    this.#db = db
    this.#logs = new LogStore(db)
    this.#table = new AddressTable(new PeerStore(db), this.peerId)
    this.#naming = namingFrom(this.#table, keys.identity.publicKey, () => this.#logs.forkedAuthors(), (logId) => this.#groups.fileByLog(logId))
    this.#groups = new GroupManager({
      db,
      logs: this.#logs,
      identity: { seed: keys.identity.seed, publicKey: keys.identity.publicKey },
      logger: this.#log,
    })
    this.content = new GroupContent(this.#groups, this.#naming, this, this.#log)
    this.forks = new ForkLedger(this.#logs, this.#naming)
    this.invites = new InviteQueue({ groups: this.#groups, table: this.#table, store: new PendingInviteStore(db), logger: this.#log })
    this.invites.on('invite', (e) => this.emit('group:invite', e))
    const keeperStore = new KeeperStore(db)
    this.#kept = new KeptGroups(keeperStore, this.#logs, { ...(options.keeperQuota !== undefined ? { quota: options.keeperQuota } : {}) })
    this.#keepers = new KeeperService({
      groups: this.#groups,
      kept: this.#kept,
      table: this.#table,
      store: keeperStore,
      allow: async (cards) => void (await this.#admit(cards)),
      disallow: async (peerId) => void (await this.#dropPeer(peerId)),
      logger: this.#log,
    })
    this.#keepers.on('question', (list) => this.emit('group:keepers', this.#keepersView(list)))
    this.#keepers.on('full', ({ groupId, error }) => this.emit('keeper:full', { groupId: toHex(groupId), code: error.code, message: error.message }))
  }

  /**
   * Creates a node in `dataDir`: a new identity (optionally sealed with a
   * passphrase) and an empty database. Refuses to overwrite an existing node.
   */
  static async init(dataDir: string, options: { passphrase?: string } = {}): Promise<{ peerId: string; onion: OnionAddress }> {
    const keys = await createNodeData(dataDir, options.passphrase)
    return { peerId: peerIdOfIdentityKey(keys.identity.publicKey), onion: keys.onionAddress }
  }

  /** Opens an existing node (keys and database) without starting anything. */
  static async open(options: BurrowOptions): Promise<Burrow> {
    const { keys, db } = await openNodeData(options.dataDir, options.passphrase)
    return new Burrow(options, keys, db)
  }

  get onionAddress(): OnionAddress {
    return this.keys.onionAddress
  }

  get state(): NodeStatus['state'] {
    return this.#state
  }

  /** Our contact card: one line to give to the people we want to talk to. */
  contactCard(): string {
    return encodeContactCard(createContactCard(this.keys, this.#options.displayName), this.keys)
  }

  /** Our contact card as a QR code for a terminal. */
  contactCardQr(): string {
    return contactCardQr(this.contactCard())
  }

  /**
   * Starts tor (or attaches to it), libp2p behind our onion service, sync,
   * the onion service itself (resolves only once it passed its self-check),
   * and reconnection to every allow-listed peer.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'stopped') throw new NodeError('NODE_STATE', `cannot start a node that is ${this.#state}`)
    this.#state = 'starting'
    try {
      const running = await this.#startParts(signal)
      // Protocols are served before the onion is published: a peer that
      // reaches us at once must find them (else its sync stream is refused).
      await this.#publish(running, signal)
      running.connector.start()
      this.invites.start(inviteNetwork(running.net.libp2p, running.connector))
      running.recovery = new Recovery(running, recoveryEvents(this, this.onionAddress, (r) => (this.#reachable = r)), this.#log)
      running.recovery.start()
      await this.#keepers.start({ libp2p: running.net.libp2p, sync: running.sync, connector: running.connector })
      this.#state = 'running'
      void this.#groups.processSoon()
    } catch (err) {
      await this.#shutdown()
      this.#state = 'stopped'
      throw err
    }
  }

  /** Stops everything this node started and closes its database. The object cannot be started again. */
  async stop(): Promise<void> {
    if (this.#state === 'stopping') return
    this.#state = 'stopping'
    await this.#shutdown()
    await this.#groups.settled()
    this.#db.close()
    this.#state = 'stopped'
  }

  // ---- peers -------------------------------------------------------------

  /**
   * Adds a peer from its contact card. When the node runs, this resolves once
   * our onion service was re-published with the peer's client-auth key (it can
   * reach us) and our key for its onion is registered (we can reach it, once
   * it has added us too).
   */
  async addPeer(card: string): Promise<PeerView> {
    const [view] = await this.addPeers([card])
    return view as PeerView
  }

  /**
   * Adds peers from their contact cards at once (an import): every card is
   * checked first, and one bad card, or an allow-list that would grow past
   * `MAX_PEERS`, adds none of them. When the node runs, our onion services
   * are re-published once for the whole batch, not once per card (each
   * re-publication makes every peer holding our old descriptor redial).
   *
   * @throws KeysError `INVALID_CONTACT_CARD`, NodeError `NODE_PEER_LIMIT`, NetError `PEER_REJECTED`
   */
  async addPeers(cards: readonly string[]): Promise<PeerView[]> {
    const records = await this.#admit(cards.map((card) => decodeContactCard(card)))
    for (const r of records) this.#keepers.userAdded(r.peerId)
    return records.map((r) => this.#peerView(r))
  }

  /** Allow-lists decoded cards (see {@link addPeers}); also how keeping adds the peers it needs. */
  async #admit(decoded: readonly ContactCard[]): Promise<PeerRecord[]> {
    const newcomers = new Set(decoded.map((c) => peerIdOfIdentityKey(c.identityKey)).filter((id) => !this.#table.isAllowed(id)))
    assertPeerLimit(this.#table.size + newcomers.size)
    const records = this.#table.addAll(decoded)
    const running = this.#live()
    if (running !== undefined) {
      await running.access.admit(records, () => records.forEach((r) => running.connector.dialSoon(r.peerId)))
    }
    return records
  }

  /** Removes a peer (by PeerId, .onion or display name): its connections close and it can no longer reach us. */
  async removePeer(what: string): Promise<PeerView> {
    const record = await this.#dropPeer(this.#table.resolve(what).peerId)
    this.#keepers.userRemoved(record.peerId)
    return this.#peerView(record)
  }

  async #dropPeer(peerId: string): Promise<PeerRecord> {
    const record = this.#table.remove(peerId)
    const running = this.#live()
    if (running !== undefined) {
      await Promise.resolve(running.net.libp2p.hangUp(peerIdFromString(record.peerId))).catch(() => {})
      await running.access.revoke(record)
    }
    return record
  }

  /** The allow-list, most recently seen first, with connection state. */
  peers(): PeerView[] {
    return this.#table.list().map((p) => this.#peerView(p))
  }

  // ---- groups ------------------------------------------------------------

  /** Creates a group we own. Its name (unique here) and description reach the members we invite, encrypted for the group. */
  async createGroup(name?: string, description?: string): Promise<GroupSummary> {
    return this.#summary(await this.#groups.create({ ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) }))
  }

  /** Renames a group: for every member when we own it (and describes it, if asked), else our local name only (see `GroupManager.rename`). */
  async renameGroup(groupWhat: string, name: string | null, options: { description?: string | null } = {}): Promise<GroupSummary> {
    return this.#summary(await this.#groups.rename(this.#groups.resolve(groupWhat).id, name, options))
  }

  /** Our groups, with members named from the allow-list. */
  groups(): GroupSummary[] {
    return this.#groups.list().map((g) => this.#summary(g))
  }

  /** A group by id (hex), unique id prefix, or local name. Throws `GROUP_NOT_FOUND` / `GROUP_AMBIGUOUS`. */
  group(what: string): GroupSummary {
    return this.#summary(this.#groups.resolve(what))
  }

  /** Invites an allow-listed peer into a group we own; one that cannot be reached is queued until it connects (see {@link InviteQueue.invite}). */
  async invite(groupWhat: string, peerWhat: string, options: InviteOptions = {}): Promise<InviteOutcome> {
    const group = this.#groups.resolve(groupWhat)
    this.#groups.ownershipNonce(group.id) // only the owner of a bound group id invites: refused before anything is queued
    const peer = this.#table.resolve(peerWhat)
    const state = await this.invites.invite(group.id, peer, options)
    const queued = this.invites.list(group.id).find((i) => i.identityKey === toHex(peer.identityKey))
    return { state, group: this.#summary(this.#groups.get(group.id) ?? group), ...(state === 'queued' && queued !== undefined ? { invite: queued } : {}) }
  }

  /** Cancels a queued invitation of `peerWhat` into a group we own. */
  cancelInvite(groupWhat: string, peerWhat: string): PendingInviteView {
    return this.invites.cancel(this.#groups.resolve(groupWhat).id, this.#table.resolve(peerWhat))
  }

  /** Removes a member (peer name, PeerId, .onion or identity key hex) from a group we own: it cannot read anything sent afterwards. */
  async removeMember(groupWhat: string, memberWhat: string): Promise<GroupSummary> {
    const group = this.#groups.resolve(groupWhat)
    const wanted = memberWhat.trim().toLowerCase()
    const identityKey = group.members.find((m) => toHex(m) === wanted) ?? this.#table.resolve(memberWhat).identityKey
    return this.#summary(await this.#groups.remove(group.id, identityKey))
  }

  /** Rotates our key material in a group: the owner commits at once; a member proposes, and the owner commits when it processes it. */
  async rotateKeys(groupWhat: string): Promise<RotationOutcome> {
    return this.#groups.rotate(this.#groups.resolve(groupWhat).id)
  }

  /** Leaves a group we do not own: a proposal the owner commits (the group is `leaving`, then `left`). */
  async leave(groupWhat: string): Promise<GroupSummary> {
    const group = this.#groups.resolve(groupWhat)
    await this.#groups.leave(group.id)
    return this.#summary(this.#groups.get(group.id) ?? group)
  }

  /** Encrypts and sends a message to a group. Returns it as it appears in our local view. */
  async send(groupWhat: string, data: Uint8Array | string): Promise<MessageView> {
    const group = this.#groups.resolve(groupWhat)
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    return messageView(await this.#groups.send(group.id, bytes), this.#naming)
  }

  /** Decrypted messages of a group from our local view (never replicated), oldest first. */
  messages(groupWhat: string, options: { afterId?: number; limit?: number } = {}): MessageView[] {
    return this.#groups.messages(this.#groups.resolve(groupWhat).id, options).map((m) => messageView(m, this.#naming))
  }

  /** Sends a short message to the currently connected members of a group; never stored. Returns how many peers got it. */
  async sendEphemeral(groupWhat: string, data: Uint8Array): Promise<number> {
    return (await this.#live()?.sync.sendEphemeral(this.#groups.resolve(groupWhat).id, data)) ?? 0
  }

  // ---- keepers -------------------------------------------------------------

  /**
   * Owner: makes an allow-listed peer a keeper of a group we own: it stores
   * and serves the group's logs (ciphertext only) for members who allow it.
   * The list reaches the members inside the group's encrypted data; the
   * keeper gets an order naming the members (re-sent until it answers).
   *
   * @throws GroupError `GROUP_NOT_OWNER`, `GROUP_INVALID_ARGUMENT` (more than 8 keepers, a member); NetError `PEER_UNKNOWN`
   */
  async addKeeper(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#groups.resolve(groupWhat)
    const peer = this.#table.resolve(peerWhat)
    const current = this.#groups.keepers(group.id)?.keepers ?? []
    if (current.some((k) => toHex(k.identityKey) === toHex(peer.identityKey))) return this.#keepersView(this.#groups.keepers(group.id)!)
    return this.#keepersView(await this.#groups.setKeepers(group.id, [...current, cardOf(peer)]))
  }

  /** Owner: a keeper of our group keeps it no more (it gets a release; nothing new is shared with it). @throws GroupError `KEEPER_NOT_FOUND` */
  async removeKeeper(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#groups.resolve(groupWhat)
    const current = this.#groups.keepers(group.id)?.keepers ?? []
    const wanted = peerWhat.trim().toLowerCase()
    const byTable = (() => {
      try {
        return toHex(this.#table.resolve(peerWhat).identityKey)
      } catch {
        return undefined
      }
    })()
    const next = current.filter((k) => toHex(k.identityKey) !== wanted && toHex(k.identityKey) !== byTable && k.displayName !== peerWhat)
    if (next.length === current.length) throw new GroupError('KEEPER_NOT_FOUND', `${peerWhat.slice(0, 80)} is not a keeper of this group`)
    const view = this.#keepersView(await this.#groups.setKeepers(group.id, next))
    for (const gone of current.filter((k) => !next.includes(k))) this.#keepers.release(group.id, gone.identityKey)
    return view
  }

  /** A group's keepers and our answer to them (an empty list before its owner named any). */
  keepers(groupWhat: string): KeepersView {
    const group = this.#groups.resolve(groupWhat)
    return this.#keepersView(this.#groups.keepers(group.id) ?? { groupId: group.id, keepers: [], decision: group.isOwner ? 'allow' : 'ask' })
  }

  /**
   * Member: allows (`allow`) or refuses (`deny`) the keepers its owner names
   * for a group, now and later. Allowed keepers join the allow-list (marked
   * `keeper of <group>`), get the group's logs and our files' ids; refused
   * or dropped ones lose them at once, and leave the allow-list unless the
   * user added them.
   */
  async decideKeepers(groupWhat: string, decision: KeeperDecision): Promise<KeepersView> {
    return this.#keepersView(await this.#groups.decideKeepers(this.#groups.resolve(groupWhat).id, decision))
  }

  /** As a keeper: the groups kept here for their owners, with sizes against the quota. */
  keptGroups(): KeptGroupStatus[] {
    return this.#kept.list().map((k) => {
      const owner = this.#table.get(peerIdOfIdentityKey(k.owner))?.displayName
      return {
        groupId: toHex(k.groupId),
        owner: toHex(k.owner),
        ...(owner !== undefined ? { ownerName: owner } : {}),
        members: k.members.length + 1,
        keepers: k.keepers.length,
        retentionMs: k.retentionMs,
        operations: k.operations,
        bytes: k.bytes,
        quotaBytes: this.#kept.quota.perGroupBytes,
        full: k.full,
      }
    })
  }

  /** As a keeper: applies each kept group's retention period (the node does it every minute while it runs). */
  sweepKept(): { expired: number } {
    return this.#keepers.sweep()
  }

  status(): NodeStatus {
    const counts = { groups: this.#groups.list().length, operations: this.#logs.counts().operations }
    const keeping = { kept: this.keptGroups(), keeperQuestions: this.#keepers.questions().map((l) => this.#keepersView(l)) }
    return nodeStatus({ state: this.#state, peerId: this.peerId, keys: this.keys, tor: this.#running?.tor, reachable: this.#reachable, peers: this.peers(), ...counts, ...keeping })
  }

  #keepersView(list: KeeperList): KeepersView {
    const info = this.#groups.get(list.groupId)
    const owner = info?.owner
    const ownerName = owner === undefined ? undefined : this.#table.get(peerIdOfIdentityKey(owner))?.displayName
    return {
      groupId: toHex(list.groupId),
      ...(info?.name != null ? { group: info.name } : {}),
      owner: owner === undefined ? '' : toHex(owner),
      ...(ownerName !== undefined ? { ownerName } : {}),
      keepers: list.keepers.map((k) => ({
        identityKey: toHex(k.identityKey),
        peerId: peerIdOfIdentityKey(k.identityKey),
        onion: k.onionAddress,
        ...(k.displayName !== undefined ? { name: k.displayName } : {}),
      })),
      decision: list.decision,
    }
  }

  // ---- internals ---------------------------------------------------------

  #summary(info: GroupInfo): GroupSummary {
    return groupSummary(info, this.#naming)
  }

  #peerView(record: PeerRecord): PeerView {
    return peerView(record, this.#isConnected(record.peerId), this.#logs.forkedAuthors().has(toHex(record.identityKey)), this.#keepers.reasonsOf(record.peerId))
  }

  #isConnected(peerId: string): boolean {
    return this.#running?.net?.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId) ?? false
  }

  /** The running parts, or undefined unless the node runs. */
  #live(): Running | undefined {
    return this.#state === 'running' ? (this.#running as Running) : undefined
  }

  /** Starts tor, libp2p, the key-package endpoint, sync and the connector, and connects their events. */
  async #startParts(signal?: AbortSignal): Promise<Running> {
    const tor = torFor(this.#options.tor ?? { mode: 'managed' }, this.paths.torDir, {
      bootstrapStallMs: this.#options.bootstrapStallMs ?? 120_000,
      logger: this.#log,
    })
    this.#detach.push(forwardTorEvents(tor, this, (reachable) => (this.#reachable = reachable)))
    // Kept before tor starts, so that a failed start still stops it.
    const parts: Partial<Running> = { tor }
    this.#running = parts
    await tor.start(signal)
    const net = await createBurrowLibp2p({
      identitySeed: this.keys.identity.seed,
      onionAddress: this.onionAddress,
      virtualPort: BURROW_VIRTUAL_PORT,
      listenPath: this.paths.onionSocket,
      socks: () => tor.socksEndpoint,
      allowList: this.#table,
      logger: this.#log,
    })
    parts.net = net
    await serveKeyPackages(net.libp2p, this.#groups, this.#table, (groupId) => parts.sync?.share(groupId), this.#log)
    const sync = new SyncManager({ libp2p: net.libp2p, store: this.#logs, table: this.#table, policy: groupSyncPolicy(this.#table, this.#groups, this.#kept), logger: this.#log })
    parts.sync = sync
    await sync.start()
    parts.connector = new PeerConnector({
      libp2p: net.libp2p,
      table: this.#table,
      virtualPort: BURROW_VIRTUAL_PORT,
      // Our key for the peer again and its descriptor afresh (before our onion is published, the descriptor only).
      refreshDescriptor: (onion, peer) => parts.access?.refresh(onion, peer) ?? tor.refetchDescriptor(onion),
      authorizeShard: async (onion, peer) => parts.access?.authorizeShard(onion, peer),
      logger: this.#log,
    })
    this.#detach.push(
      forwardNetEvents(net.libp2p, sync, this.#table, this),
      forwardGroupEvents(this.#groups, this.#naming, this),
      this.content.attach(sync),
      forwardForkEvents(sync, this.forks, this.#table, this, this.#log),
      on(this, 'peer:connected', ({ peerId }) => this.invites.peerConnected(peerId)),
      connectPublishAndIngest(this.#groups, this.#kept, sync),
    )
    return parts as Running
  }

  /** Publishes our onion service and resolves once we reach ourselves through Tor. */
  async #publish(running: Running, signal?: AbortSignal): Promise<void> {
    const target = { path: running.net.listenPath }
    running.access = new OnionAccess(running.tor, { keys: this.keys, table: this.#table, virtualPort: BURROW_VIRTUAL_PORT, target, logger: this.#log })
    const started = Date.now()
    await running.access.publish(signal)
    this.#reachable = true
    this.emit('onion:reachable', { address: this.onionAddress, ms: Date.now() - started })
    this.#detach.push(on(running.access.service, 'published', () => (this.#reachable = true)))
  }

  async #shutdown(): Promise<void> {
    // From here on a lost tor is not brought back (a Ctrl-C reaches tor too when it shares our terminal).
    this.#running?.tor?.stopSupervising()
    this.invites.stop()
    this.#keepers.stop()
    for (const detach of this.#detach.splice(0)) detach()
    const running = this.#running
    this.#running = undefined
    this.#reachable = false
    if (running === undefined) return
    await running.recovery?.stop()
    running.connector?.stop()
    await running.sync?.stop().catch(() => {})
    await running.access?.close()
    await Promise.resolve(running.net?.libp2p.stop()).catch(() => {})
    await running.tor?.stop().catch(() => {})
  }
}
