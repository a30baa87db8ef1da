import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { silentLogger, type Logger } from '../logging.js'
import { contactCardQr, createContactCard, decodeContactCard, encodeContactCard, type ContactCard, type NodeKeys } from '../keys/index.js'
import { toHex } from '../log/index.js'
import { KeeperStore, LogStore, PeerStore, PendingInviteStore, type Database, type KeeperDecision } from '../store/index.js'
import type { OnionAddress } from '../tor/index.js'
import { AddressTable, peerIdOfIdentityKey, type PeerRecord } from '../net/index.js'
import { GroupManager, KeptGroups, type GroupInfo, type RotationOutcome } from '../group/index.js'
import { GroupContent } from './content.js'
import { createNodeData, openNodeData } from './data-dir.js'
import type { DataDirLock } from './data-dir-lock.js'
import { NodeError } from './errors.js'
import { ForkLedger } from './forks.js'
import { InviteQueue, type InviteOptions, type InviteOutcome, type PendingInviteView } from './invite-queue.js'
import { inviteNetwork } from './key-packages.js'
import { KeeperService } from './keepers.js'
import { KeeperControls } from './keeper-controls.js'
import { recoveryEvents } from './wiring.js'
import { publishOnion, startRunning, stopRunning, type NodeParts, type Running } from './running.js'
import { assertPeerLimit } from './onion-access.js'
import { Recovery } from './recovery.js'
import { nodePaths, type NodePaths } from './paths.js'
import type { BurrowEvents, BurrowOptions, KeepersView, KeepingOrdererView, KeptGroupStatus, NodeStatus } from './types.js'
import { groupSummary, messageView, namingFrom, nodeStatus, peerView, type GroupSummary, type MessageView, type Naming, type PeerView } from './views.js'

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
  readonly #keeperControls: KeeperControls
  /** What the running parts are made from (running.ts). */
  readonly #parts: NodeParts
  #state: NodeStatus['state'] = 'stopped'
  /** What has been started so far; complete while the state is `running`. */
  #running: Partial<Running> | undefined
  #reachable = false
  readonly #detach: (() => void)[] = []
  /** The data directory's lock, released when the node stops; `stop` also closes the database for good. */
  readonly #lock: DataDirLock
  #closed = false

  private constructor(options: BurrowOptions, keys: NodeKeys, db: Database, lock: DataDirLock) {
    super()
    this.#lock = lock
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
    this.content = new GroupContent(this.#groups, this.#naming, this, this.#log, () => this.#usable())
    this.forks = new ForkLedger(this.#logs, this.#naming, () => this.#usable())
    this.invites = new InviteQueue({ groups: this.#groups, table: this.#table, store: new PendingInviteStore(db), logger: this.#log })
    this.invites.on('invite', (e) => this.emit('group:invite', e))
    const keeperStore = new KeeperStore(db)
    this.#kept = new KeptGroups(keeperStore, this.#logs, {
      self: keys.identity.publicKey,
      // Created, joined, or waiting for its Welcome: a member's node never keeps the group.
      isOwnGroup: (groupId) => this.#groups.get(groupId) !== undefined || this.#groups.invitations().some((i) => toHex(i.groupId) === toHex(groupId)),
      ...(options.keeperQuota !== undefined ? { quota: options.keeperQuota } : {}),
    })
    this.#keepers = new KeeperService({
      groups: this.#groups,
      kept: this.#kept,
      table: this.#table,
      store: keeperStore,
      allow: async (cards) => void (await this.#admit(cards)),
      disallow: async (peerId) => void (await this.#dropPeer(peerId)),
      logger: this.#log,
    })
    this.#keeperControls = new KeeperControls({ groups: this.#groups, kept: this.#kept, table: this.#table, service: this.#keepers })
    this.#keepers.on('question', (list) => this.emit('group:keepers', this.#keeperControls.view(list)))
    this.#keepers.on('full', ({ groupId, error }) => this.emit('keeper:full', { groupId: toHex(groupId), code: error.code, message: error.message }))
    this.#keepers.on('asked', (orderer) => this.emit('kept:asked', this.#keeperControls.ordererView(orderer)))
    const lasting = { options, paths: this.paths, keys, log: this.#log, db, logs: this.#logs, table: this.#table, groups: this.#groups, kept: this.#kept, naming: this.#naming }
    this.#parts = { ...lasting, content: this.content, forks: this.forks, invites: this.invites, node: this, detach: this.#detach, setReachable: (r) => (this.#reachable = r) }
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
    const { keys, db, lock } = await openNodeData(options.dataDir, options.passphrase)
    try {
      return new Burrow(options, keys, db, lock)
    } catch (err) {
      db.close()
      lock.release()
      throw err
    }
  }

  get onionAddress(): OnionAddress {
    return this.keys.onionAddress
  }

  get state(): NodeStatus['state'] {
    return this.#state
  }

  /** Our contact card: one line to give to the people we want to talk to. */
  contactCard(): string {
    this.#usable()
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
    this.#usable()
    if (this.#state !== 'stopped') throw new NodeError('NODE_STATE', `cannot start a node that is ${this.#state}`)
    this.#state = 'starting'
    try {
      const running = await startRunning(this.#parts, (parts) => (this.#running = parts), signal)
      // Protocols are served before the onion is published: a peer that
      // reaches us at once must find them (else its sync stream is refused).
      await publishOnion(this.#parts, running, signal)
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
    if (this.#state === 'stopping' || this.#closed) return
    this.#state = 'stopping'
    await this.#shutdown()
    await this.#groups.settled()
    this.#db.close()
    this.#closed = true
    this.#lock.release()
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
    this.#usable()
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
    this.#usable()
    const record = await this.#dropPeer(this.#table.resolve(what).peerId)
    await this.#keepers.userRemoved(record.peerId, record.identityKey)
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
    this.#usable()
    return this.#table.list().map((p) => this.#peerView(p))
  }

  // ---- groups ------------------------------------------------------------

  /** Creates a group we own. Its name (unique here) and description reach the members we invite, encrypted for the group. */
  async createGroup(name?: string, description?: string): Promise<GroupSummary> {
    this.#usable()
    return this.#summary(await this.#groups.create({ ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) }))
  }

  /** Renames a group: for every member when we own it (and describes it, if asked), else our local name only (see `GroupManager.rename`). */
  async renameGroup(groupWhat: string, name: string | null, options: { description?: string | null } = {}): Promise<GroupSummary> {
    this.#usable()
    return this.#summary(await this.#groups.rename(this.#groups.resolve(groupWhat).id, name, options))
  }

  /** Our groups, with members named from the allow-list. */
  groups(): GroupSummary[] {
    this.#usable()
    return this.#groups.list().map((g) => this.#summary(g))
  }

  /** A group by id (hex), unique id prefix, or local name. Throws `GROUP_NOT_FOUND` / `GROUP_AMBIGUOUS`. */
  group(what: string): GroupSummary {
    this.#usable()
    return this.#summary(this.#groups.resolve(what))
  }

  /** Invites an allow-listed peer into a group we own; one that cannot be reached is queued until it connects (see {@link InviteQueue.invite}). */
  async invite(groupWhat: string, peerWhat: string, options: InviteOptions = {}): Promise<InviteOutcome> {
    this.#usable()
    const group = this.#groups.resolve(groupWhat)
    this.#groups.ownershipNonce(group.id) // only the owner of a bound group id invites: refused before anything is queued
    const peer = this.#table.resolve(peerWhat)
    const state = await this.invites.invite(group.id, peer, options)
    const queued = this.invites.list(group.id).find((i) => i.identityKey === toHex(peer.identityKey))
    return { state, group: this.#summary(this.#groups.get(group.id) ?? group), ...(state === 'queued' && queued !== undefined ? { invite: queued } : {}) }
  }

  /** Cancels a queued invitation of `peerWhat` into a group we own. */
  cancelInvite(groupWhat: string, peerWhat: string): PendingInviteView {
    this.#usable()
    return this.invites.cancel(this.#groups.resolve(groupWhat).id, this.#table.resolve(peerWhat))
  }

  /** Removes a member (peer name, PeerId, .onion or identity key hex) from a group we own: it cannot read anything sent afterwards. */
  async removeMember(groupWhat: string, memberWhat: string): Promise<GroupSummary> {
    this.#usable()
    const group = this.#groups.resolve(groupWhat)
    const wanted = memberWhat.trim().toLowerCase()
    const identityKey = group.members.find((m) => toHex(m) === wanted) ?? this.#table.resolve(memberWhat).identityKey
    return this.#summary(await this.#groups.remove(group.id, identityKey))
  }

  /** Rotates our key material in a group: the owner commits at once; a member proposes, and the owner commits when it processes it. */
  async rotateKeys(groupWhat: string): Promise<RotationOutcome> {
    this.#usable()
    return this.#groups.rotate(this.#groups.resolve(groupWhat).id)
  }

  /** Leaves a group we do not own: a proposal the owner commits (the group is `leaving`, then `left`). */
  async leave(groupWhat: string): Promise<GroupSummary> {
    this.#usable()
    const group = this.#groups.resolve(groupWhat)
    await this.#groups.leave(group.id)
    return this.#summary(this.#groups.get(group.id) ?? group)
  }

  /** Encrypts and sends a message to a group. Returns it as it appears in our local view. */
  async send(groupWhat: string, data: Uint8Array | string): Promise<MessageView> {
    this.#usable()
    const group = this.#groups.resolve(groupWhat)
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    return messageView(await this.#groups.send(group.id, bytes), this.#naming)
  }

  /** Decrypted messages of a group from our local view (never replicated), oldest first. */
  messages(groupWhat: string, options: { afterId?: number; limit?: number } = {}): MessageView[] {
    this.#usable()
    return this.#groups.messages(this.#groups.resolve(groupWhat).id, options).map((m) => messageView(m, this.#naming))
  }

  /** Sends a short message to the currently connected members of a group; never stored. Returns how many peers got it. */
  async sendEphemeral(groupWhat: string, data: Uint8Array): Promise<number> {
    this.#usable()
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
    this.#usable()
    return this.#keeperControls.add(groupWhat, peerWhat)
  }

  /** Owner: a keeper of our group keeps it no more (it gets a release; nothing new is shared with it). @throws GroupError `KEEPER_NOT_FOUND` */
  async removeKeeper(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    this.#usable()
    return this.#keeperControls.remove(groupWhat, peerWhat)
  }

  /** A group's keepers and our answer to them (an empty list before its owner named any). */
  keepers(groupWhat: string): KeepersView {
    this.#usable()
    return this.#keeperControls.list(groupWhat)
  }

  /**
   * Member: allows or refuses the keepers its owner names for a group, now and later (docs/keepers.md):
   * allowed ones join the allow-list and get the group's logs; refused or dropped ones lose them at once.
   */
  async decideKeepers(groupWhat: string, decision: KeeperDecision): Promise<KeepersView> {
    this.#usable()
    return this.#keeperControls.decide(groupWhat, decision)
  }

  /** As a keeper: the groups kept here for their owners, with sizes against the quota. */
  keptGroups(): KeptGroupStatus[] {
    this.#usable()
    return this.#keeperControls.kept()
  }

  /**
   * As a keeper: whether this node keeps groups for an allow-listed peer
   * (docs/keepers.md). Until allowed, its orders are refused
   * (`KEEPER_NOT_ALLOWED`) and the latest ones held; `allow` carries them
   * out, `deny` refuses them and drops the groups kept for it.
   *
   * @throws NetError `PEER_UNKNOWN`
   */
  async decideKeeping(peerWhat: string, decision: 'allow' | 'deny'): Promise<KeepingOrdererView> {
    this.#usable()
    return this.#keeperControls.decideKeeping(peerWhat, decision)
  }

  /** As a keeper: the peers that asked it to keep their groups, with the user's answers. */
  keepingOrderers(): KeepingOrdererView[] {
    this.#usable()
    return this.#keeperControls.orderers()
  }

  /** As a keeper: applies each kept group's retention period (the node does it every minute while it runs). */
  sweepKept(): { expired: number } {
    this.#usable()
    return this.#keepers.sweep()
  }

  status(): NodeStatus {
    this.#usable()
    const counts = { groups: this.#groups.list().length, operations: this.#logs.operationCount() }
    const keeping = {
      kept: this.keptGroups(),
      keeperQuestions: this.#keepers.questions().map((l) => this.#keeperControls.view(l)),
      keepingQuestions: this.#keepers.askers().map((k) => this.#keeperControls.ordererView(k)),
    }
    return nodeStatus({ state: this.#state, peerId: this.peerId, keys: this.keys, tor: this.#running?.tor, reachable: this.#reachable, peers: this.peers(), ...counts, diskFull: this.#running?.diskRoom?.full ?? false, ...keeping })
  }

  // ---- internals ---------------------------------------------------------

  /** Throws once `stop` closed the database: the object is done (open the node again with {@link Burrow.open}). */
  #usable(): void {
    if (this.#closed) throw new NodeError('NODE_STATE', 'this node was stopped and its database closed: open it again with Burrow.open')
  }

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

  async #shutdown(): Promise<void> {
    // From here on a lost tor is not brought back (a Ctrl-C reaches tor too when it shares our terminal).
    this.#running?.tor?.stopSupervising()
    this.invites.stop()
    this.#keepers.stop()
    for (const detach of this.#detach.splice(0)) detach()
    const running = this.#running
    this.#running = undefined
    this.#reachable = false
    if (running !== undefined) await stopRunning(running)
  }
}
