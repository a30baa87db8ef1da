import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { LocalApiNode, LocalApiNodeEvents } from '../../src/api/index.js'
import { GroupError, type GroupInfo, type GroupMessage, type RotationOutcome } from '../../src/group/index.js'
import {
  contactCardQr,
  createContactCard,
  decodeContactCard,
  deriveNodeKeys,
  encodeContactCard,
  generateMasterSeed,
  identityFingerprint,
  type NodeKeys,
} from '../../src/keys/index.js'
import { NetError, peerIdOfIdentityKey } from '../../src/net/index.js'
import { NodeError, type ForkView, type GroupSummary, type InviteOutcome, type KeepersView, type KeepingOrdererView, type KeptGroupStatus, type MessageView, type NodeStatus, type PeerView, type PendingInviteView } from '../../src/node/index.js'
import { groupSummary, messageView, type Naming } from '../../src/node/views.js'

type MemoryGroup = { -readonly [K in keyof GroupInfo]: GroupInfo[K] }

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/**
 * A test double of the node behind the local API: real keys and contact
 * cards, groups and messages in plain maps, no Tor, no network, no MLS. For
 * tests of the local API and the CLI. It mimics Burrow's rules and throws
 * Burrow's own error classes and codes where an API client can see them
 * (owner-only invitations, unknown peers and groups, own card refused).
 */
export class MemoryNode extends EventEmitter<LocalApiNodeEvents> implements LocalApiNode {
  readonly keys: NodeKeys
  readonly peerId: string
  /** What `status().diskFull` says (the real node's disk floor, disk-room.ts). */
  diskFull = false
  readonly displayName: string | undefined
  /** How often `stop()` was called. */
  stopCalls = 0
  #state: NodeStatus['state'] = 'running'
  readonly #peers = new Map<string, PeerView>()
  readonly #groups: MemoryGroup[] = []
  readonly #messages: GroupMessage[] = []
  readonly #pending: PendingInviteView[] = []
  readonly #forks: { view: ForkView; proof: string }[] = []
  #nextMessageId = 1
  #now: () => number
  #failNext: Error | undefined
  /** Files are not modelled here: the local API's file methods are tested against a real node (local-api-files.test.ts). */
  readonly content: LocalApiNode['content'] = new Proxy({} as LocalApiNode['content'], {
    get: () => () => {
      throw new NodeError('NODE_STATE', 'files are not in the memory node')
    },
  })

  constructor(options: { displayName?: string; now?: () => number } = {}) {
    super()
    this.keys = deriveNodeKeys(generateMasterSeed())
    this.peerId = peerIdOfIdentityKey(this.keys.identity.publicKey)
    this.displayName = options.displayName
    this.#now = options.now ?? Date.now
  }

  status(): NodeStatus {
    const peers = [...this.#peers.values()]
    return {
      state: this.#state,
      peerId: this.peerId,
      onion: this.keys.onionAddress,
      identityKey: hex(this.keys.identity.publicKey),
      fingerprint: identityFingerprint(this.keys.identity.publicKey),
      tor: { state: 'ready', bootstrap: 100 },
      reachable: this.#state === 'running',
      peers: { total: peers.length, connected: peers.filter((p) => p.connected).length },
      kept: [],
      keeperQuestions: [],
      keepingQuestions: [],
      diskFull: this.diskFull,
      groups: this.#groups.length,
      operations: this.#messages.length,
    }
  }

  contactCard(): string {
    return encodeContactCard(createContactCard(this.keys, this.displayName), this.keys)
  }

  contactCardQr(): string {
    return contactCardQr(this.contactCard())
  }

  async addPeer(card: string): Promise<PeerView> {
    const [peer] = await this.addPeers([card])
    return peer as PeerView
  }

  /** Like the node's: every card checked before any is stored. */
  async addPeers(cards: readonly string[]): Promise<PeerView[]> {
    const peers = cards.map((card) => this.#peerOfCard(card))
    for (const peer of peers) this.#peers.set(peer.peerId, peer)
    return peers
  }

  #peerOfCard(card: string): PeerView {
    const decoded = decodeContactCard(card)
    const peerId = peerIdOfIdentityKey(decoded.identityKey)
    if (peerId === this.peerId) throw new NetError('PEER_REJECTED', "that is this node's own contact card")
    const peer: PeerView = {
      peerId,
      identityKey: hex(decoded.identityKey),
      onion: decoded.onionAddress,
      fingerprint: identityFingerprint(decoded.identityKey),
      ...(decoded.displayName !== undefined ? { name: decoded.displayName } : {}),
      addedAt: this.#now(),
      errors: [],
      forked: false,
      connected: false,
    }
    return peer
  }

  async removePeer(what: string): Promise<PeerView> {
    const peer = this.#resolvePeer(what)
    this.#peers.delete(peer.peerId)
    return peer
  }

  peers(): PeerView[] {
    return [...this.#peers.values()].map((p) => ({ ...p }))
  }

  /**
   * Marks a peer connected or not and emits the matching event, as a real
   * connection would; a connection sends the invitations queued for it.
   */
  setConnected(what: string, connected: boolean, reason = 'connection closed'): void {
    const peer = this.#resolvePeer(what)
    this.#peers.set(peer.peerId, { ...peer, connected, ...(connected ? { lastSeen: this.#now() } : {}) })
    const name = peer.name !== undefined ? { name: peer.name } : {}
    if (connected) this.emit('peer:connected', { peerId: peer.peerId, ...name })
    else this.emit('peer:disconnected', { peerId: peer.peerId, ...name, reason })
    if (!connected) return
    for (const invite of this.#pending.filter((i) => i.peerId === peer.peerId)) {
      this.#pending.splice(this.#pending.indexOf(invite), 1)
      const group = this.#resolveGroup(invite.groupId)
      group.members.push(Buffer.from(peer.identityKey, 'hex'))
      this.#changed(group)
      this.emit('group:invite', { groupId: invite.groupId, peerId: peer.peerId, ...name, state: 'invited' })
    }
  }

  async createGroup(name?: string, description?: string): Promise<GroupSummary> {
    if (name !== undefined && this.#groups.some((g) => g.name === name)) throw new GroupError('GROUP_NAME_TAKEN')
    const group: MemoryGroup = {
      id: randomBytes(32),
      name: name ?? null,
      sharedName: name ?? null,
      description: description ?? null,
      owner: this.keys.identity.publicKey,
      isOwner: true,
      epoch: 0,
      members: [this.keys.identity.publicKey],
      active: true,
      status: 'active',
      pendingProposal: null,
      retentionMs: null,
    }
    this.#groups.push(group)
    return this.#view(group)
  }

  /** A group owned by `owner` that this node is a member of, as if a Welcome had arrived. */
  joined(name: string, owner: Uint8Array): GroupSummary {
    const group: MemoryGroup = {
      id: randomBytes(32),
      name,
      sharedName: name,
      description: null,
      owner,
      isOwner: false,
      epoch: 1,
      members: [owner, this.keys.identity.publicKey],
      active: true,
      status: 'active',
      pendingProposal: null,
      retentionMs: null,
    }
    this.#groups.push(group)
    return this.#view(group)
  }

  async renameGroup(groupWhat: string, name: string | null, options: { description?: string | null } = {}): Promise<GroupSummary> {
    const group = this.#resolveGroup(groupWhat)
    if (name !== null && this.#groups.some((g) => g !== group && g.name === name)) throw new GroupError('GROUP_NAME_TAKEN')
    if (!group.isOwner && options.description !== undefined) throw new GroupError('GROUP_NOT_OWNER')
    group.name = name
    if (group.isOwner) {
      group.sharedName = name
      if (options.description !== undefined) group.description = options.description
    }
    return this.#view(group)
  }

  groups(): GroupSummary[] {
    return this.#groups.map((g) => this.#view(g))
  }

  group(what: string): GroupSummary {
    return this.#view(this.#resolveGroup(what))
  }

  /** Makes the next `invite` fail with `error`, as a node would when the invitee refuses. */
  failNext(error: Error): void {
    this.#failNext = error
  }

  /** Invites at once when the peer is connected; otherwise queues the invitation until {@link setConnected}. */
  async invite(groupWhat: string, peerWhat: string, options: { signal?: AbortSignal } = {}): Promise<InviteOutcome> {
    const failure = this.#failNext
    this.#failNext = undefined
    if (failure !== undefined) throw failure
    const group = this.#ownedGroup(groupWhat, 'invite')
    const peer = this.#resolvePeer(peerWhat)
    options.signal?.throwIfAborted()
    if (group.members.some((m) => hex(m) === peer.identityKey)) throw new GroupError('GROUP_ALREADY_A_MEMBER')
    if (!peer.connected) {
      const queued = this.#pending.find((i) => i.peerId === peer.peerId && i.groupId === hex(group.id)) ?? {
        groupId: hex(group.id),
        peerId: peer.peerId,
        ...(peer.name !== undefined ? { name: peer.name } : {}),
        identityKey: peer.identityKey,
        fingerprint: peer.fingerprint,
        since: this.#now(),
        attempts: 0,
      }
      if (!this.#pending.includes(queued)) this.#pending.push(queued)
      return { state: 'queued', group: this.#view(group), invite: { ...queued } }
    }
    group.members.push(Buffer.from(peer.identityKey, 'hex'))
    return { state: 'invited', group: this.#changed(group) }
  }

  cancelInvite(groupWhat: string, peerWhat: string): PendingInviteView {
    const group = this.#resolveGroup(groupWhat)
    const peer = this.#resolvePeer(peerWhat)
    const index = this.#pending.findIndex((i) => i.peerId === peer.peerId && i.groupId === hex(group.id))
    if (index === -1) throw new NodeError('NODE_INVITE_NOT_QUEUED')
    const [cancelled] = this.#pending.splice(index, 1)
    this.emit('group:invite', { groupId: cancelled!.groupId, peerId: cancelled!.peerId, state: 'cancelled' })
    return cancelled!
  }

  readonly invites = {
    list: (groupId?: Uint8Array): PendingInviteView[] => this.#pending.filter((i) => groupId === undefined || i.groupId === hex(groupId)).map((i) => ({ ...i })),
  }

  readonly forks = {
    list: (): ForkView[] => this.#forks.map((f) => ({ ...f.view })),
    export: (id: string): { id: string; proof: string } => {
      const found = this.#forks.find((f) => id.length >= 4 && f.view.id.startsWith(id))
      if (found === undefined) throw new NodeError('NODE_FORK_NOT_FOUND')
      return { id: found.view.id, proof: found.proof }
    },
  }

  /** Holds a fork proof (its view and text form) as if sync had detected it, and emits `log:fork` from `peerId`. */
  addFork(view: ForkView, proof: string, peerId: string): void {
    this.#forks.push({ view, proof })
    this.emit('log:fork', { ...view, peerId })
  }

  async leave(groupWhat: string): Promise<GroupSummary> {
    const group = this.#resolveGroup(groupWhat)
    if (group.isOwner) throw new GroupError('GROUP_OWNER_CANNOT_LEAVE')
    if (!group.active) throw new GroupError('GROUP_INACTIVE')
    group.status = 'leaving'
    group.pendingProposal = 'leave'
    return this.#view(group)
  }

  async sendEphemeral(groupWhat: string, data: Uint8Array): Promise<number> {
    this.#resolveGroup(groupWhat)
    if (data.length > 16 * 1024) throw new NetError('PEER_REJECTED', 'too large')
    return [...this.#peers.values()].filter((p) => p.connected).length
  }

  async removeMember(groupWhat: string, peerWhat: string): Promise<GroupSummary> {
    const group = this.#ownedGroup(groupWhat, 'remove members')
    const key = group.members.find((m) => hex(m) === peerWhat.toLowerCase()) ?? Buffer.from(this.#resolvePeer(peerWhat).identityKey, 'hex')
    const index = group.members.findIndex((m) => hex(m) === hex(key))
    if (index === -1) throw new GroupError('GROUP_NOT_A_MEMBER')
    group.members.splice(index, 1)
    return this.#changed(group)
  }

  readonly #keepers = new Map<string, { keepers: PeerView[]; decision: 'ask' | 'allow' | 'deny' }>()

  keepers(groupWhat: string): KeepersView {
    const group = this.#resolveGroup(groupWhat)
    const held = this.#keepers.get(hex(group.id)) ?? { keepers: [], decision: group.isOwner ? 'allow' : 'ask' }
    return {
      groupId: hex(group.id),
      ...(group.name !== null ? { group: group.name } : {}),
      owner: hex(group.owner),
      keepers: held.keepers.map((p) => ({ identityKey: p.identityKey, peerId: p.peerId, onion: p.onion, ...(p.name !== undefined ? { name: p.name } : {}) })),
      decision: held.decision,
    }
  }

  async addKeeper(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#ownedGroup(groupWhat, 'choose keepers')
    const peer = this.#resolvePeer(peerWhat)
    const held = this.#keepers.get(hex(group.id)) ?? { keepers: [], decision: 'allow' as const }
    if (!held.keepers.some((k) => k.peerId === peer.peerId)) held.keepers.push(peer)
    this.#keepers.set(hex(group.id), held)
    return this.keepers(groupWhat)
  }

  async removeKeeper(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#ownedGroup(groupWhat, 'choose keepers')
    const held = this.#keepers.get(hex(group.id))
    const index = held?.keepers.findIndex((k) => k.peerId === peerWhat || k.name === peerWhat || k.identityKey === peerWhat) ?? -1
    if (index === -1) throw new GroupError('KEEPER_NOT_FOUND')
    held!.keepers.splice(index, 1)
    return this.keepers(groupWhat)
  }

  async decideKeepers(groupWhat: string, decision: 'ask' | 'allow' | 'deny'): Promise<KeepersView> {
    const group = this.#resolveGroup(groupWhat)
    if (group.isOwner) throw new GroupError('GROUP_INVALID_ARGUMENT', 'the owner chooses its keepers: it has nothing to allow')
    this.#keepers.set(hex(group.id), { keepers: this.#keepers.get(hex(group.id))?.keepers ?? [], decision })
    return this.keepers(groupWhat)
  }

  /** The memory node keeps no group for others. */
  keptGroups(): KeptGroupStatus[] {
    return []
  }

  readonly #orderers = new Map<string, KeepingOrdererView>()

  /** Records the answer; no order ever arrives here. */
  async decideKeeping(peerWhat: string, decision: 'allow' | 'deny'): Promise<KeepingOrdererView> {
    const peer = this.#resolvePeer(peerWhat)
    const view = { identityKey: peer.identityKey, peerId: peer.peerId, ...(peer.name !== undefined ? { name: peer.name } : {}), decision, groups: 0 }
    this.#orderers.set(peer.peerId, view)
    return view
  }

  keepingOrderers(): KeepingOrdererView[] {
    return [...this.#orderers.values()]
  }

  async rotateKeys(groupWhat: string): Promise<RotationOutcome> {
    const group = this.#resolveGroup(groupWhat)
    if (!group.isOwner) {
      group.pendingProposal = 'update'
      return { state: 'proposed' }
    }
    return { state: 'committed', epoch: this.#changed(group).epoch }
  }

  async send(groupWhat: string, data: Uint8Array | string): Promise<MessageView> {
    return this.receive(groupWhat, this.keys.identity.publicKey, data)
  }

  /** Adds a message to a group's local view as if `author` had sent it, and emits `group:message`. */
  receive(groupWhat: string, author: Uint8Array, data: Uint8Array | string): MessageView {
    const group = this.#resolveGroup(groupWhat)
    const plaintext = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice()
    const seq = this.#messages.filter((m) => hex(m.author) === hex(author) && hex(m.groupId) === hex(group.id)).length
    const message: GroupMessage = { id: this.#nextMessageId++, groupId: group.id, author, seq, epoch: group.epoch, plaintext, receivedAt: this.#now() }
    this.#messages.push(message)
    const view = messageView(message, this.#naming())
    this.emit('group:message', view)
    return view
  }

  messages(groupWhat: string, options: { afterId?: number; limit?: number } = {}): MessageView[] {
    const id = hex(this.#resolveGroup(groupWhat).id)
    const after = options.afterId ?? 0
    return this.#messages
      .filter((m) => hex(m.groupId) === id && m.id > after)
      .slice(0, options.limit ?? 100)
      .map((m) => messageView(m, this.#naming()))
  }

  async stop(): Promise<void> {
    this.stopCalls++
    this.#state = 'stopped'
  }

  /** Everything this node holds, as one string: tests compare it before and after to prove a call changed nothing. */
  snapshot(): string {
    return JSON.stringify({
      state: this.#state,
      peers: [...this.#peers.values()],
      groups: this.#groups.map((g) => this.#view(g)),
      messages: this.#messages.map((m) => ({ ...m, groupId: hex(m.groupId), author: hex(m.author), plaintext: hex(m.plaintext) })),
      stopCalls: this.stopCalls,
    })
  }

  #naming(): Naming {
    const names = new Map([...this.#peers.values()].map((p) => [p.identityKey, p.name]))
    return { self: hex(this.keys.identity.publicKey), nameOf: (key) => names.get(key), forkedAuthors: () => new Set(this.#forks.map((f) => f.view.author)) }
  }

  #view(g: MemoryGroup): GroupSummary {
    return groupSummary({ ...g, members: [...g.members] }, this.#naming())
  }

  #changed(group: MemoryGroup): GroupSummary {
    group.epoch++
    const view = this.#view(group)
    this.emit('group:changed', view)
    return view
  }

  #ownedGroup(what: string, action: string): MemoryGroup {
    const group = this.#resolveGroup(what)
    if (hex(group.owner) !== hex(this.keys.identity.publicKey)) throw new GroupError('GROUP_NOT_OWNER', `only the group owner can ${action}`)
    return group
  }

  /** By hex id, unique prefix or name (Burrow's rules, without its ambiguity checks). */
  #resolveGroup(what: string): MemoryGroup {
    const lower = what.toLowerCase()
    const group = this.#groups.find((g) => hex(g.id) === lower || g.name === what) ?? this.#groups.find((g) => lower.length >= 4 && hex(g.id).startsWith(lower))
    if (group === undefined) throw new GroupError('GROUP_NOT_FOUND')
    return group
  }

  #resolvePeer(what: string): PeerView {
    const direct = this.#peers.get(what)
    if (direct !== undefined) return direct
    const lower = what.toLowerCase()
    const match = [...this.#peers.values()].find((p) => p.onion === lower || p.onion === `${lower}.onion` || p.name === what)
    if (match === undefined) throw new NetError('PEER_UNKNOWN', `no allow-listed peer matches "${what.slice(0, 80)}"`)
    return match
  }
}
