import type { FileProgress, FileView, GroupSummary, MessageView, NodeStatus, PeerView } from '../node/index.js'
import type { LocalApiNodeEvents } from './node.js'
import type { EventData, EventName, FileJson, FileProgressJson, GroupJson, MemberJson, MessageJson, PeerJson, StatusJson } from './protocol.js'

/**
 * The node's views as they travel. Each function builds a fresh plain object
 * field by field, so nothing else a view object might carry leaks onto the wire.
 */

/** A peer as it travels. */
export function peerJson(p: PeerView): PeerJson {
  return {
    peerId: p.peerId,
    ...(p.name !== undefined ? { name: p.name } : {}),
    onion: p.onion,
    identityKey: p.identityKey,
    addedAt: p.addedAt,
    ...(p.lastSeen !== undefined ? { lastSeen: p.lastSeen } : {}),
    ...(p.lastError !== undefined ? { lastError: { code: p.lastError.code, message: p.lastError.message, at: p.lastError.at } } : {}),
    connected: p.connected,
  }
}

/** A group's members as they travel. */
export function membersJson(g: GroupSummary): MemberJson[] {
  return g.members.map((m) => ({
    identityKey: m.identityKey,
    peerId: m.peerId,
    ...(m.name !== undefined ? { name: m.name } : {}),
    owner: m.owner,
    self: m.self,
  }))
}

/** A group as it travels. */
export function groupJson(g: GroupSummary): GroupJson {
  return {
    id: g.id,
    ...(g.name !== null ? { name: g.name } : {}),
    owner: g.owner,
    isOwner: g.isOwner,
    epoch: g.epoch,
    members: membersJson(g),
    active: g.active,
    retentionMs: g.retentionMs,
  }
}

/** A file as it travels. */
export function fileJson(f: FileView): FileJson {
  return {
    id: f.id,
    groupId: f.groupId,
    name: f.name,
    mediaType: f.mediaType,
    size: f.size,
    sha256: f.sha256,
    sender: f.sender,
    senderPeerId: f.senderPeerId,
    ...(f.senderName !== undefined ? { senderName: f.senderName } : {}),
    self: f.self,
    sentAt: f.sentAt,
    chunks: f.chunks,
    chunksHeld: f.chunksHeld,
    complete: f.complete,
  }
}

/** A transfer's progress as it travels. */
export function progressJson(p: FileProgress): FileProgressJson {
  return {
    groupId: p.groupId,
    fileId: p.fileId,
    name: p.name,
    direction: p.direction,
    ...(p.peerId !== undefined ? { peerId: p.peerId } : {}),
    chunks: p.chunks,
    totalChunks: p.totalChunks,
    bytes: p.bytes,
    size: p.size,
  }
}

/** A decrypted message as it travels: always base64 `data`, plus `text` when the bytes are UTF-8. */
export function messageJson(m: MessageView): MessageJson {
  return {
    id: m.id,
    group: m.groupId,
    author: m.author,
    authorPeerId: m.authorPeerId,
    ...(m.authorName !== undefined ? { authorName: m.authorName } : {}),
    self: m.self,
    seq: m.seq,
    epoch: m.epoch,
    receivedAt: m.receivedAt,
    ...(m.text !== undefined ? { text: m.text } : {}),
    data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length).toString('base64'),
    ...(m.file !== undefined ? { file: fileJson(m.file) } : {}),
  }
}

/** The node status as it travels. */
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

/** Turns a node event into the data pushed to subscribers. */
export const EVENT_DATA: { [E in EventName]: (...args: LocalApiNodeEvents[E]) => EventData[E] } = {
  'tor:bootstrap': (p) => ({ progress: p.progress, tag: p.tag, summary: p.summary }),
  'tor:ready': () => ({}),
  'tor:lost': (e) => ({ reason: e.reason }),
  'onion:reachable': (e) => ({ address: e.address, ms: e.ms }),
  'peer:connected': (e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}) }),
  'peer:disconnected': (e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}), reason: e.reason }),
  'sync:progress': (e) => ({ peerId: e.peerId, logId: e.logId, stored: e.stored }),
  'sync:caught-up': (e) => ({ peerId: e.peerId, logId: e.logId }),
  'group:message': (m) => messageJson(m),
  'group:changed': (g) => groupJson(g),
  'file:progress': (p) => progressJson(p),
  'group:deleted': (e) => ({ groupId: e.groupId, author: e.author, seqs: [...e.seqs] }),
}

/** The group an event belongs to (hex id), for subscriptions limited to one group. */
export const EVENT_GROUP: { [E in EventName]?: (...args: LocalApiNodeEvents[E]) => string } = {
  'sync:progress': (e) => e.logId,
  'sync:caught-up': (e) => e.logId,
  'group:message': (m) => m.groupId,
  'group:changed': (g) => g.id,
  'file:progress': (p) => p.groupId,
  'group:deleted': (e) => e.groupId,
}
