import { BurrowError } from '../errors.js'
import { toHex } from '../log/index.js'
import type { GroupInfo, GroupMessage } from '../group/index.js'
import { GroupNotFoundError } from '../group/index.js'
import { peerIdOfIdentityKey } from '../net/index.js'

/** A group member as shown to people and the local API. */
export interface MemberView {
  /** Ed25519 identity key, hex. */
  identityKey: string
  peerId: string
  /** Display name from the allow-list, when the member is on it. */
  name?: string
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

/** Several groups match what the user typed. */
export class AmbiguousGroupError extends BurrowError {
  constructor(what: string, count: number) {
    super('GROUP_AMBIGUOUS', `"${what.slice(0, 80)}" matches ${count} groups; use more of the id`)
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function member(key: Uint8Array, naming: Naming): MemberView {
  const identityKey = toHex(key)
  const name = naming.nameOf(identityKey)
  return { identityKey, peerId: peerIdOfIdentityKey(key), ...(name !== undefined ? { name } : {}), self: identityKey === naming.self }
}

export function groupSummary(info: GroupInfo, naming: Naming): GroupSummary {
  return {
    id: toHex(info.id),
    name: info.name,
    owner: toHex(info.owner),
    isOwner: info.isOwner,
    epoch: info.epoch,
    members: info.members.map((m) => member(m, naming)),
    active: info.active,
  }
}

export function messageView(m: GroupMessage, naming: Naming): MessageView {
  const author = member(m.author, naming)
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

/** Finds a group by its hex id, a unique hex prefix (at least 4 characters), or its unique local name. */
export function resolveGroup(groups: readonly GroupInfo[], what: string): GroupInfo {
  const needle = what.trim()
  const lower = needle.toLowerCase()
  const exact = groups.find((g) => toHex(g.id) === lower)
  if (exact !== undefined) return exact
  const named = groups.filter((g) => g.name !== null && g.name === needle)
  if (named.length > 1) throw new AmbiguousGroupError(needle, named.length)
  if (named[0] !== undefined) return named[0]
  if (/^[0-9a-f]{4,64}$/.test(lower)) {
    const prefixed = groups.filter((g) => toHex(g.id).startsWith(lower))
    if (prefixed.length > 1) throw new AmbiguousGroupError(needle, prefixed.length)
    if (prefixed[0] !== undefined) return prefixed[0]
  }
  throw new GroupNotFoundError()
}
