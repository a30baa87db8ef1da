import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { BurrowError } from '../../errors.js'
import { NotAMemberError, NotGroupOwnerError } from '../../group/errors.js'
import type { GroupInfo, GroupMessage } from '../../group/index.js'
import { contactCardQr, createContactCard, decodeContactCard, deriveNodeKeys, encodeContactCard, generateMasterSeed, type NodeKeys } from '../../keys/index.js'
import { PeerRejectedError, UnknownPeerError, peerIdOfIdentityKey } from '../../net/address-table.js'
import type { NodeStatus } from '../burrow.js'
import { groupSummary, messageView, resolveGroup, type GroupSummary, type MessageView, type Naming } from '../views.js'
import type { LocalApiNode, LocalApiNodeEvents, PeerView } from './node.js'

type MemoryGroup = { -readonly [K in keyof GroupInfo]: GroupInfo[K] }

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/**
 * An in-memory {@link LocalApiNode}: real keys and contact cards, groups and
 * messages in plain maps, no Tor, no network, no MLS. For tests of the local
 * API and the CLI, and for developing API clients. It mimics Burrow's rules
 * and error codes where an API client can see them (owner-only invitations,
 * unknown peers and groups, own card refused).
 */
export class MemoryNode extends EventEmitter<LocalApiNodeEvents> implements LocalApiNode {
  readonly keys: NodeKeys
  readonly peerId: string
  readonly displayName: string | undefined
  /** How often `stop()` was called. */
  stopCalls = 0
  #state: NodeStatus['state'] = 'running'
  readonly #peers = new Map<string, PeerView & { connected: boolean }>()
  readonly #groups: MemoryGroup[] = []
  readonly #messages: GroupMessage[] = []
  #nextMessageId = 1
  #now: () => number

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
      tor: { state: 'ready', bootstrap: 100 },
      reachable: this.#state === 'running',
      peers: { total: peers.length, connected: peers.filter((p) => p.connected).length },
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
    const decoded = decodeContactCard(card)
    const peerId = peerIdOfIdentityKey(decoded.identityKey)
    if (peerId === this.peerId) throw new PeerRejectedError("that is this node's own contact card")
    const peer = {
      peerId,
      identityKey: decoded.identityKey,
      onion: decoded.onionAddress,
      ...(decoded.displayName !== undefined ? { displayName: decoded.displayName } : {}),
      addedAt: this.#now(),
      connected: false,
    }
    this.#peers.set(peerId, peer)
    return peer
  }

  async removePeer(what: string): Promise<PeerView> {
    const peer = this.#resolvePeer(what)
    this.#peers.delete(peer.peerId)
    return peer
  }

  peers(): (PeerView & { connected: boolean })[] {
    return [...this.#peers.values()].map((p) => ({ ...p }))
  }

  /** Marks a peer connected or not and emits the matching event, as a real connection would. */
  setConnected(what: string, connected: boolean, reason = 'connection closed'): void {
    const peer = this.#resolvePeer(what)
    this.#peers.set(peer.peerId, { ...peer, connected, ...(connected ? { lastSeen: this.#now() } : {}) })
    const name = peer.displayName !== undefined ? { name: peer.displayName } : {}
    if (connected) this.emit('peer:connected', { peerId: peer.peerId, ...name })
    else this.emit('peer:disconnected', { peerId: peer.peerId, ...name, reason })
  }

  async createGroup(name?: string): Promise<GroupSummary> {
    const group: MemoryGroup = { id: randomBytes(32), name: name ?? null, owner: this.keys.identity.publicKey, isOwner: true, epoch: 0, members: [this.keys.identity.publicKey], active: true }
    this.#groups.push(group)
    return this.#view(group)
  }

  groups(): GroupSummary[] {
    return this.#groups.map((g) => this.#view(g))
  }

  group(what: string): GroupSummary {
    return this.#view(this.#resolveGroup(what))
  }

  async invite(groupWhat: string, peerWhat: string, signal?: AbortSignal): Promise<GroupSummary> {
    const group = this.#ownedGroup(groupWhat, 'invite')
    const peer = this.#resolvePeer(peerWhat)
    signal?.throwIfAborted()
    if (group.members.some((m) => hex(m) === hex(peer.identityKey))) throw new BurrowError('GROUP_ALREADY_A_MEMBER', 'identity already is a member of the group')
    group.members.push(peer.identityKey)
    return this.#changed(group)
  }

  async removeMember(groupWhat: string, peerWhat: string): Promise<GroupSummary> {
    const group = this.#ownedGroup(groupWhat, 'remove members')
    const key = group.members.find((m) => hex(m) === peerWhat.toLowerCase())?.slice() ?? this.#resolvePeer(peerWhat).identityKey
    const index = group.members.findIndex((m) => hex(m) === hex(key))
    if (index === -1) throw new NotAMemberError()
    group.members.splice(index, 1)
    return this.#changed(group)
  }

  async rotateKeys(groupWhat: string): Promise<void> {
    this.#changed(this.#resolveGroup(groupWhat))
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
      peers: [...this.#peers.values()].map((p) => ({ ...p, identityKey: hex(p.identityKey) })),
      groups: this.#groups.map((g) => this.#view(g)),
      messages: this.#messages.map((m) => ({ ...m, groupId: hex(m.groupId), author: hex(m.author), plaintext: hex(m.plaintext) })),
      stopCalls: this.stopCalls,
    })
  }

  #naming(): Naming {
    const names = new Map([...this.#peers.values()].map((p) => [hex(p.identityKey), p.displayName]))
    return { self: hex(this.keys.identity.publicKey), nameOf: (key) => names.get(key) }
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
    if (hex(group.owner) !== hex(this.keys.identity.publicKey)) throw new NotGroupOwnerError(action)
    return group
  }

  #resolveGroup(what: string): MemoryGroup {
    return resolveGroup(this.#groups, what) as MemoryGroup
  }

  #resolvePeer(what: string): PeerView & { connected: boolean } {
    const direct = this.#peers.get(what)
    if (direct !== undefined) return direct
    const lower = what.toLowerCase()
    const match = [...this.#peers.values()].find((p) => p.onion === lower || p.onion === `${lower}.onion` || p.displayName === what)
    if (match === undefined) throw new UnknownPeerError(what)
    return match
  }
}
