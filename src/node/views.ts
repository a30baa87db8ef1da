import { toHex } from '../log/index.js'
import type { GroupInfo, GroupMessage } from '../group/index.js'
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

/** Names of peers by identity key (hex), and our own identity key. */
export interface Naming {
  self: string
  nameOf(identityKeyHex: string): string | undefined
}

/** Names members from the allow-list. */
export function namingFrom(table: AddressTable, selfKey: Uint8Array): Naming {
  return {
    self: toHex(selfKey),
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
  }
}

export function messageView(m: GroupMessage, naming: Naming): MessageView {
  const author = member(m.author, '', naming)
  let text: string | undefined
  try {
    text = strictUtf8.decode(m.plaintext)
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
  }
}
