import { toHex } from '../log/index.js'
import type { FileInfo, GroupInfo, GroupMessage } from '../group/index.js'
import { peerIdOfIdentityKey, type AddressTable, type PeerRecord } from '../net/index.js'

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
  /** When it was added, ms since the Unix epoch. */
  addedAt: number
  /** When it was last heard from, ms since the Unix epoch. */
  lastSeen?: number
  /** Why talking to it failed last (a Tor reason such as `onion-client-auth-missing`, or a protocol code). */
  lastError?: { code: string; message: string; at: number }
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
}

/** A group as shown to people and the local API: ids in hex, members named. */
export interface GroupSummary {
  /** 32-byte group id, hex (64 characters). */
  id: string
  /** Local label; never sent anywhere. */
  name: string | null
  /** Identity key of the owner (the only committer), hex. */
  owner: string
  isOwner: boolean
  epoch: number
  members: MemberView[]
  /** False once we were removed or left. */
  active: boolean
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

/** Names of peers by identity key (hex), and our own identity key; the files that entries announce. */
export interface Naming {
  self: string
  nameOf(identityKeyHex: string): string | undefined
  fileOf?(logId: Uint8Array): FileInfo | undefined
}

/** Names members from the allow-list; `fileOf` finds the file an entry announces. */
export function namingFrom(table: AddressTable, selfKey: Uint8Array, fileOf?: (logId: Uint8Array) => FileInfo | undefined): Naming {
  return {
    self: toHex(selfKey),
    ...(fileOf !== undefined ? { fileOf } : {}),
    nameOf: (identityKeyHex) => {
      const peerId = table.peerIdOf(identityKeyHex)
      return peerId === undefined ? undefined : table.get(peerId)?.displayName
    },
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function member(key: Uint8Array, owner: string, naming: Naming): MemberView {
  const identityKey = toHex(key)
  const name = naming.nameOf(identityKey)
  return { identityKey, peerId: peerIdOfIdentityKey(key), ...(name !== undefined ? { name } : {}), owner: identityKey === owner, self: identityKey === naming.self }
}

export function peerView(record: PeerRecord, connected: boolean): PeerView {
  return {
    peerId: record.peerId,
    ...(record.displayName !== undefined ? { name: record.displayName } : {}),
    onion: record.onion,
    identityKey: toHex(record.identityKey),
    addedAt: record.addedAt,
    ...(record.lastSeen !== undefined ? { lastSeen: record.lastSeen } : {}),
    ...(record.lastError !== undefined ? { lastError: { code: record.lastError.code, message: record.lastError.message, at: record.lastError.at } } : {}),
    connected,
  }
}

export function groupSummary(info: GroupInfo, naming: Naming): GroupSummary {
  const owner = toHex(info.owner)
  return {
    id: toHex(info.id),
    name: info.name,
    owner,
    isOwner: info.isOwner,
    epoch: info.epoch,
    members: info.members.map((m) => member(m, owner, naming)),
    active: info.active,
    retentionMs: info.retentionMs,
  }
}

export function fileView(f: FileInfo, naming: Naming): FileView {
  const sender = member(f.author, '', naming)
  return {
    id: toHex(f.fileId),
    groupId: toHex(f.groupId),
    name: f.name,
    mediaType: f.mediaType,
    size: f.size,
    sha256: toHex(f.sha256),
    sender: sender.identityKey,
    senderPeerId: sender.peerId,
    ...(sender.name !== undefined ? { senderName: sender.name } : {}),
    self: sender.self,
    sentAt: f.sentAt,
    chunks: f.chunkCount,
    chunksHeld: f.chunksHeld,
    complete: f.chunksHeld >= f.chunkCount,
  }
}

export function messageView(m: GroupMessage, naming: Naming): MessageView {
  const author = member(m.author, '', naming)
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
    author: author.identityKey,
    authorPeerId: author.peerId,
    ...(author.name !== undefined ? { authorName: author.name } : {}),
    self: author.self,
    seq: m.seq,
    epoch: m.epoch,
    receivedAt: m.receivedAt,
    data: m.plaintext,
    ...(text !== undefined ? { text } : {}),
    ...(file !== undefined ? { file: fileView(file, naming) } : {}),
  }
}
