import { identityFingerprint, type NodeKeys } from '../keys/index.js'
import { toHex } from '../log/index.js'
import type { FileInfo, GroupInfo, GroupMessage, GroupStatus } from '../group/index.js'
import { peerIdOfIdentityKey, type AddressTable, type PeerRecord } from '../net/index.js'
import type { Tor } from '../tor/index.js'
import type { KeepersView, KeepingOrdererView, KeptGroupStatus, NodeStatus } from './types.js'

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
  /** Why keeping put it on the allow-list (`keeper of <group>`, `member of kept group <id>`); absent when only the user did. */
  keeping?: string[]
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
  /** The owner's retention period in ms: every member deletes what is older. Null: kept until deleted. */
  retentionMs: number | null
}

/** A file of a group, as people and the local API see it. */
export interface FileView {
  /** The sender's 16-byte file id, hex: names the file in `get` and `delete` (a unique prefix will do). */
  id: string
  groupId: string
  /** The sender's name for it, as sent: show it (made printable), never use it as a path. */
  name: string
  mediaType: string
  /** Bytes of content. */
  size: number
  /** SHA-256 of the content, hex. */
  sha256: string
  /** The sender's identity key, hex. */
  sender: string
  senderPeerId: string
  senderName?: string
  /** True for a file this node sent. */
  self: boolean
  /** The sender's clock when it announced the file, ms since the Unix epoch. */
  sentAt: number
  /** Chunks of the file, and how many are stored here. */
  chunks: number
  chunksHeld: number
  /** Every chunk is here: it can be saved. */
  complete: boolean
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
  /** The message as text when it is valid UTF-8 (never for a file). */
  text?: string
  /** When the entry announces a file: the file (`data` is then empty). */
  file?: FileView
}

/** Names of peers by identity key (hex), our own identity key, the identities marked forked, and the files that entries announce. */
export interface Naming {
  self: string
  nameOf(identityKeyHex: string): string | undefined
  /** Identity keys (hex) with a stored fork proof, read afresh. */
  forkedAuthors(): Set<string>
  fileOf?(logId: Uint8Array): FileInfo | undefined
}

/** Names members from the allow-list; `forkedAuthors` reads the log store's marks; `fileOf` finds the file an entry announces. */
export function namingFrom(
  table: AddressTable,
  selfKey: Uint8Array,
  forkedAuthors: () => Set<string>,
  fileOf?: (logId: Uint8Array) => FileInfo | undefined,
): Naming {
  return {
    self: toHex(selfKey),
    ...(fileOf !== undefined ? { fileOf } : {}),
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
export function peerView(record: PeerRecord, connected: boolean, forked: boolean, keeping: string[] = []): PeerView {
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
    ...(keeping.length > 0 ? { keeping } : {}),
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
    retentionMs: info.retentionMs,
  }
}

export function fileView(f: FileInfo, naming: Naming): FileView {
  const sender = toHex(f.author)
  const senderName = naming.nameOf(sender)
  return {
    id: toHex(f.fileId),
    groupId: toHex(f.groupId),
    name: f.name,
    mediaType: f.mediaType,
    size: f.size,
    sha256: toHex(f.sha256),
    sender,
    senderPeerId: peerIdOfIdentityKey(f.author),
    ...(senderName !== undefined ? { senderName } : {}),
    self: sender === naming.self,
    sentAt: f.sentAt,
    chunks: f.chunkCount,
    chunksHeld: f.chunksHeld,
    complete: f.chunksHeld >= f.chunkCount,
  }
}

export function messageView(m: GroupMessage, naming: Naming): MessageView {
  const author = toHex(m.author)
  const authorName = naming.nameOf(author)
  const file = m.fileLog === undefined ? undefined : naming.fileOf?.(m.fileLog)
  let text: string | undefined
  try {
    text = m.fileLog === undefined ? strictUtf8.decode(m.plaintext) : undefined
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
    ...(file !== undefined ? { file: fileView(file, naming) } : {}),
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
  diskFull: boolean
  kept: KeptGroupStatus[]
  keeperQuestions: KeepersView[]
  keepingQuestions: KeepingOrdererView[]
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
    diskFull: from.diskFull,
    kept: from.kept,
    keeperQuestions: from.keeperQuestions,
    keepingQuestions: from.keepingQuestions,
  }
}
