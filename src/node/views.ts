import { identityFingerprint, type NodeKeys } from '../keys/index.js'
import { toHex } from '../log/index.js'
import type { GroupInfo, GroupMessage, GroupStatus } from '../group/index.js'
import { peerIdOfIdentityKey, type AddressTable, type PeerRecord } from '../net/index.js'
import type { Tor } from '../tor/index.js'
import type { NodeStatus } from './types.js'

/**
 * What the node shows of its peers, groups and messages: plain data (ids and
 * keys in hex, no byte arrays but a message's data), the same for the
 * library, the local API and the CLI. The local API's JSON derives from these.
 */

/** A peer on the allow-list, with its live state. */
export interface PeerView {
  peerId: string
  /** Display name from its contact card. */
  name?: string
  /** `<56 characters>.onion` */
  onion: string
  /** Ed25519 identity public key, hex. */
  identityKey: string
  /** The identity key's fingerprint (`1a2b 3c4d 5e6f 7a8b 9c0d`), to compare with the peer over a channel you trust. */
  fingerprint: string
  /** When it was added, ms since the Unix epoch. */
  addedAt: number
  /** When it was last heard from, ms since the Unix epoch. */
  lastSeen?: number
  /**
   * Why talking to it failed last (a Tor reason such as
   * `onion-client-auth-missing`, or a protocol code), unless it was heard
   * from since: a successful connection clears it from this view.
   */
  lastError?: { code: string; message: string; at: number }
  /** Its last few errors, newest first, whether or not it was heard from since. */
  errors: { code: string; message: string; at: number }[]
  /** True when this node holds a proof that the peer's identity signed two different operations at one position of a log (`burrow forks`). */
  forked: boolean
  connected: boolean
}

/** A group member as shown to people and the local API. */
export interface MemberView {
  /** Ed25519 identity key, hex. */
  identityKey: string
  peerId: string
  /** Display name from the allow-list, when the member is on it. */
  name?: string
  /** True for the group's owner (the only committer). */
  owner: boolean
  /** True for this node. */
  self: boolean
  /** True when this node holds a fork proof against the member's identity (`burrow forks`). */
  forked: boolean
}

/** A group as shown to people and the local API: ids in hex, members named. */
export interface GroupSummary {
  /** 32-byte group id, hex (64 characters). */
  id: string
  /** Local name, unique here: chosen here, else the owner's shared name (with a `-2`, `-3`, … suffix if another group has it). */
  name: string | null
  /** The owner's name for the group, shared with every member (encrypted for the group). */
  sharedName: string | null
  /** The owner's description of the group, shared likewise. */
  description: string | null
  /** Identity key of the owner (the only committer), hex. */
  owner: string
  isOwner: boolean
  epoch: number
  members: MemberView[]
  /** False once we were removed or left. */
  active: boolean
  /** `active`, `leaving` (our leave awaits the owner's commit), `left` or `removed`. */
  status: GroupStatus
  /** Our key update or leave, proposed and waiting for the owner's commit. */
  pendingProposal: 'update' | 'leave' | null
}

/** A decrypted group message from the local view. */
export interface MessageView {
  /** Local id, increasing in arrival order: page with `afterId`. */
  id: number
  groupId: string
  /** Author's identity key, hex. */
  author: string
  authorPeerId: string
  authorName?: string
  self: boolean
  seq: number
  epoch: number
  /** When this node decrypted (or sent) it, ms since the Unix epoch. */
  receivedAt: number
  data: Uint8Array
  /** The message as text when it is valid UTF-8. */
  text?: string
}

/** Names of peers by identity key (hex), our own identity key, and the identities marked forked. */
export interface Naming {
  self: string
  nameOf(identityKeyHex: string): string | undefined
  /** Identity keys (hex) with a stored fork proof, read afresh. */
  forkedAuthors(): Set<string>
}

/** Names members from the allow-list; `forkedAuthors` reads the log store's marks. */
export function namingFrom(table: AddressTable, selfKey: Uint8Array, forkedAuthors: () => Set<string>): Naming {
  return {
    self: toHex(selfKey),
    nameOf: (identityKeyHex) => {
      const peerId = table.peerIdOf(identityKeyHex)
      return peerId === undefined ? undefined : table.get(peerId)?.displayName
    },
    forkedAuthors,
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function member(key: Uint8Array, owner: string, naming: Naming, forked: ReadonlySet<string>): MemberView {
  const identityKey = toHex(key)
  const name = naming.nameOf(identityKey)
  return {
    identityKey,
    peerId: peerIdOfIdentityKey(key),
    ...(name !== undefined ? { name } : {}),
    owner: identityKey === owner,
    self: identityKey === naming.self,
    forked: forked.has(identityKey),
  }
}

/** A peer as shown; `forked` from the log store's marks. */
export function peerView(record: PeerRecord, connected: boolean, forked: boolean): PeerView {
  const error = record.lastError
  // Heard from since it failed: the failure is history, not the peer's state now.
  const current = error !== undefined && (record.lastSeen === undefined || error.at > record.lastSeen)
  return {
    peerId: record.peerId,
    ...(record.displayName !== undefined ? { name: record.displayName } : {}),
    onion: record.onion,
    identityKey: toHex(record.identityKey),
    fingerprint: identityFingerprint(record.identityKey),
    addedAt: record.addedAt,
    ...(record.lastSeen !== undefined ? { lastSeen: record.lastSeen } : {}),
    ...(current ? { lastError: { code: error.code, message: error.message, at: error.at } } : {}),
    errors: record.recentErrors.map((e) => ({ code: e.code, message: e.message, at: e.at })),
    forked,
    connected,
  }
}

export function groupSummary(info: GroupInfo, naming: Naming): GroupSummary {
  const owner = toHex(info.owner)
  const forked = naming.forkedAuthors()
  return {
    id: toHex(info.id),
    name: info.name,
    sharedName: info.sharedName,
    description: info.description,
    owner,
    isOwner: info.isOwner,
    epoch: info.epoch,
    members: info.members.map((m) => member(m, owner, naming, forked)),
    active: info.active,
    status: info.status,
    pendingProposal: info.pendingProposal,
  }
}

export function messageView(m: GroupMessage, naming: Naming): MessageView {
  const author = toHex(m.author)
  const authorName = naming.nameOf(author)
  let text: string | undefined
  try {
    text = strictUtf8.decode(m.plaintext)
  } catch {
    text = undefined
  }
  return {
    id: m.id,
    groupId: toHex(m.groupId),
    author,
    authorPeerId: peerIdOfIdentityKey(m.author),
    ...(authorName !== undefined ? { authorName } : {}),
    self: author === naming.self,
    seq: m.seq,
    epoch: m.epoch,
    receivedAt: m.receivedAt,
    data: m.plaintext,
    ...(text !== undefined ? { text } : {}),
  }
}

/** The node's status from its parts (`tor` while it runs). */
export function nodeStatus(from: {
  state: NodeStatus['state']
  peerId: string
  keys: NodeKeys
  tor: Tor | undefined
  reachable: boolean
  peers: readonly PeerView[]
  groups: number
  operations: number
}): NodeStatus {
  const { tor } = from
  return {
    state: from.state,
    peerId: from.peerId,
    onion: from.keys.onionAddress,
    identityKey: toHex(from.keys.identity.publicKey),
    fingerprint: identityFingerprint(from.keys.identity.publicKey),
    tor: { state: tor?.state ?? 'idle', bootstrap: tor?.bootstrapProgress.progress ?? 0, ...(tor?.pid !== undefined ? { pid: tor.pid } : {}) },
    reachable: from.reachable,
    peers: { total: from.peers.length, connected: from.peers.filter((p) => p.connected).length },
    groups: from.groups,
    operations: from.operations,
  }
}
