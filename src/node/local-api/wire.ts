import type { NodeStatus } from '../burrow.js'
import type { GroupView, KeyOrHex, LocalApiNode, LocalApiNodeEvents, MessageView, PeerView } from './node.js'
import type { EventData, EventName, GroupJson, MemberJson, MessageJson, PeerJson, StatusJson } from './protocol.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

/** Lower-case hex of a key or id, whichever form the node gave it in. */
export function hexOf(value: KeyOrHex): string {
  return typeof value === 'string' ? value.toLowerCase() : hex(value)
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')
}

/** Who is who, to name authors and members: our own identity key and the allow-list by identity key (hex). */
export interface Directory {
  readonly selfKey: string
  readonly byKey: ReadonlyMap<string, { peerId: string; name?: string | undefined }>
}

/** Builds the {@link Directory} from the node's allow-list; `selfKey` is our identity key (hex). */
export function directoryOf(node: LocalApiNode, selfKey: string): Directory {
  const byKey = new Map(node.peers().map((p) => [hex(p.identityKey), { peerId: p.peerId, name: p.displayName }]))
  return { selfKey, byKey }
}

/** A peer as it travels. */
export function peerJson(p: PeerView, connected: boolean): PeerJson {
  return {
    peerId: p.peerId,
    ...(p.displayName !== undefined ? { name: p.displayName } : {}),
    onion: p.onion,
    identityKey: hex(p.identityKey),
    addedAt: p.addedAt,
    ...(p.lastSeen !== undefined ? { lastSeen: p.lastSeen } : {}),
    ...(p.lastError !== undefined ? { lastError: { code: p.lastError.code, message: p.lastError.message, at: p.lastError.at } } : {}),
    connected,
  }
}

/** A group as it travels. */
export function groupJson(g: GroupView): GroupJson {
  return {
    id: hexOf(g.id),
    ...(g.name !== undefined && g.name !== null ? { name: g.name } : {}),
    owner: hexOf(g.owner),
    isOwner: g.isOwner,
    epoch: g.epoch,
    members: g.members.map(hexOf),
    active: g.active,
  }
}

/** A group's members, named from the allow-list where possible. */
export function membersJson(g: GroupView, dir: Directory): MemberJson[] {
  const owner = hexOf(g.owner)
  return g.members.map(hexOf).map((key) => {
    const known = dir.byKey.get(key)
    return {
      identityKey: key,
      ...(known !== undefined ? { peerId: known.peerId } : {}),
      ...(known?.name !== undefined ? { name: known.name } : {}),
      owner: key === owner,
      self: key === dir.selfKey,
    }
  })
}

/** A decrypted message as it travels: always base64 `data`, plus `text` when the bytes are UTF-8. */
export function messageJson(m: MessageView, dir: Directory): MessageJson {
  let text: string | undefined
  try {
    text = strictUtf8.decode(m.plaintext)
  } catch {
    text = undefined
  }
  const author = hexOf(m.author)
  const known = dir.byKey.get(author)
  return {
    id: m.id,
    group: hexOf(m.groupId),
    author,
    ...(known !== undefined ? { authorPeerId: known.peerId } : {}),
    ...(known?.name !== undefined ? { authorName: known.name } : {}),
    self: author === dir.selfKey,
    seq: m.seq,
    epoch: m.epoch,
    receivedAt: m.receivedAt,
    ...(text !== undefined ? { text } : {}),
    data: base64(m.plaintext),
  }
}

/** The node status as it travels (a fresh plain object, so nothing else of the node leaks through). */
export function statusJson(s: NodeStatus): StatusJson {
  return {
    state: s.state,
    peerId: s.peerId,
    onion: s.onion,
    identityKey: s.identityKey,
    tor: { state: s.tor.state, bootstrap: s.tor.bootstrap, ...(s.tor.pid !== undefined ? { pid: s.tor.pid } : {}) },
    reachable: s.reachable,
    peers: { total: s.peers.total, connected: s.peers.connected },
    groups: s.groups,
    operations: s.operations,
  }
}

/** Turns a node event into the data pushed to subscribers (fresh plain objects: nothing else of the node leaks through). */
export const EVENT_DATA: { [E in EventName]: (dir: () => Directory, ...args: LocalApiNodeEvents[E]) => EventData[E] } = {
  'tor:bootstrap': (_dir, p) => ({ progress: p.progress, tag: p.tag, summary: p.summary }),
  'tor:ready': () => ({}),
  'tor:lost': (_dir, e) => ({ reason: e.reason }),
  'onion:reachable': (_dir, e) => ({ address: e.address, ms: e.ms }),
  'peer:connected': (_dir, e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}) }),
  'peer:disconnected': (_dir, e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}), reason: e.reason }),
  'sync:progress': (_dir, e) => ({ peerId: e.peerId, logId: e.logId, stored: e.stored }),
  'sync:caught-up': (_dir, e) => ({ peerId: e.peerId, logId: e.logId }),
  'group:message': (dir, m) => messageJson(m, dir()),
  'group:changed': (_dir, g) => groupJson(g),
}

/** The group an event belongs to (hex id), for subscriptions limited to one group. */
export const EVENT_GROUP: { [E in EventName]?: (...args: LocalApiNodeEvents[E]) => string } = {
  'sync:progress': (e) => e.logId,
  'sync:caught-up': (e) => e.logId,
  'group:message': (m) => hexOf(m.groupId),
  'group:changed': (g) => hexOf(g.id),
}
