import type { FileProgress, FileView, ForkView, GroupSummary, InviteEvent, KeepersView, MessageView, NodeStatus, PeerView, PendingInviteView } from '../node/index.js'
import type { LocalApiNodeEvents } from './node.js'
import type { EventData, EventName, FileJson, FileProgressJson, ForkJson, GroupJson, KeepersJson, MemberJson, MessageJson, PeerJson, PendingInviteJson, StatusJson } from './protocol.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')
}

/** Bytes as text, when they are valid UTF-8. */
function textOf(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

function errorJson(e: { code: string; message: string; at: number }): { code: string; message: string; at: number } {
  return { code: e.code, message: e.message, at: e.at }
}

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
    fingerprint: p.fingerprint,
    addedAt: p.addedAt,
    ...(p.lastSeen !== undefined ? { lastSeen: p.lastSeen } : {}),
    ...(p.lastError !== undefined ? { lastError: errorJson(p.lastError) } : {}),
    errors: p.errors.map(errorJson),
    ...(p.keeping !== undefined ? { keeping: [...p.keeping] } : {}),
    forked: p.forked,
    connected: p.connected,
  }
}

/** A group's keepers as they travel. */
export function keepersJson(k: KeepersView): KeepersJson {
  return { ...k, keepers: k.keepers.map((x) => ({ ...x })) }
}

/** A group's members as they travel. */
export function membersJson(g: GroupSummary): MemberJson[] {
  return g.members.map((m) => ({
    identityKey: m.identityKey,
    peerId: m.peerId,
    ...(m.name !== undefined ? { name: m.name } : {}),
    owner: m.owner,
    self: m.self,
    forked: m.forked,
  }))
}

/** A group as it travels. */
export function groupJson(g: GroupSummary): GroupJson {
  return {
    id: g.id,
    ...(g.name !== null ? { name: g.name } : {}),
    ...(g.sharedName !== null ? { sharedName: g.sharedName } : {}),
    ...(g.description !== null ? { description: g.description } : {}),
    owner: g.owner,
    isOwner: g.isOwner,
    epoch: g.epoch,
    members: membersJson(g),
    active: g.active,
    status: g.status,
    ...(g.pendingProposal !== null ? { pendingProposal: g.pendingProposal } : {}),
    retentionMs: g.retentionMs,
  }
}

/** A queued invitation as it travels. */
export function pendingInviteJson(i: PendingInviteView): PendingInviteJson {
  return {
    groupId: i.groupId,
    peerId: i.peerId,
    ...(i.name !== undefined ? { name: i.name } : {}),
    identityKey: i.identityKey,
    fingerprint: i.fingerprint,
    since: i.since,
    attempts: i.attempts,
    ...(i.lastAttemptAt !== undefined ? { lastAttemptAt: i.lastAttemptAt } : {}),
    ...(i.lastError !== undefined ? { lastError: { code: i.lastError.code, message: i.lastError.message } } : {}),
  }
}

/** A fork proof's view as it travels. */
export function forkJson(f: ForkView): ForkJson {
  return {
    id: f.id,
    author: f.author,
    authorPeerId: f.authorPeerId,
    ...(f.authorName !== undefined ? { authorName: f.authorName } : {}),
    fingerprint: f.fingerprint,
    self: f.self,
    logId: f.logId,
    seq: f.seq,
    ...(f.detectedAt !== undefined ? { detectedAt: f.detectedAt } : {}),
  }
}

function inviteEventJson(e: InviteEvent): InviteEvent {
  return {
    groupId: e.groupId,
    peerId: e.peerId,
    ...(e.name !== undefined ? { name: e.name } : {}),
    state: e.state,
    ...(e.error !== undefined ? { error: { code: e.error.code, message: e.error.message } } : {}),
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
    data: base64(m.data),
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
    fingerprint: s.fingerprint,
    tor: { state: s.tor.state, bootstrap: s.tor.bootstrap, ...(s.tor.pid !== undefined ? { pid: s.tor.pid } : {}) },
    reachable: s.reachable,
    peers: { total: s.peers.total, connected: s.peers.connected },
    groups: s.groups,
    operations: s.operations,
    diskFull: s.diskFull,
    kept: s.kept.map((k) => ({ ...k })),
    keeperQuestions: s.keeperQuestions.map(keepersJson),
    keepingQuestions: s.keepingQuestions.map((o) => ({ ...o })),
  }
}

/** Turns a node event into the data pushed to subscribers. */
export const EVENT_DATA: { [E in EventName]: (...args: LocalApiNodeEvents[E]) => EventData[E] } = {
  'tor:bootstrap': (p) => ({ progress: p.progress, tag: p.tag, summary: p.summary }),
  'tor:ready': () => ({}),
  'tor:lost': (e) => ({ reason: e.reason }),
  'tor:offline': () => ({}),
  'node:recovering': (e) => ({ reason: e.reason, awayMs: e.awayMs }),
  'onion:reachable': (e) => ({ address: e.address, ms: e.ms }),
  'peer:connected': (e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}) }),
  'peer:disconnected': (e) => ({ peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}), reason: e.reason }),
  'sync:progress': (e) => ({ peerId: e.peerId, logId: e.logId, stored: e.stored }),
  'sync:caught-up': (e) => ({ peerId: e.peerId, logId: e.logId }),
  'group:message': (m) => messageJson(m),
  'group:changed': (g) => groupJson(g),
  'file:progress': (p) => progressJson(p),
  'group:deleted': (e) => ({ groupId: e.groupId, author: e.author, seqs: [...e.seqs] }),
  'group:ephemeral': (e) => {
    const text = textOf(e.data)
    return { group: e.groupId, peerId: e.peerId, ...(e.name !== undefined ? { name: e.name } : {}), data: base64(e.data), ...(text !== undefined ? { text } : {}) }
  },
  'group:invite': (e) => inviteEventJson(e),
  'log:fork': (f) => ({ ...forkJson(f), peerId: f.peerId, ...(f.peerName !== undefined ? { peerName: f.peerName } : {}) }),
  'group:keepers': (k) => keepersJson(k),
  'keeper:full': (e) => ({ groupId: e.groupId, code: e.code, message: e.message }),
  'kept:asked': (o) => ({ ...o }),
}

/** The group an event belongs to (hex id), for subscriptions limited to one group. */
export const EVENT_GROUP: { [E in EventName]?: (...args: LocalApiNodeEvents[E]) => string } = {
  'sync:progress': (e) => e.logId,
  'sync:caught-up': (e) => e.logId,
  'group:message': (m) => m.groupId,
  'group:changed': (g) => g.id,
  'file:progress': (p) => p.groupId,
  'group:deleted': (e) => e.groupId,
  'group:ephemeral': (e) => e.groupId,
  'group:invite': (e) => e.groupId,
  'log:fork': (f) => f.logId,
  'group:keepers': (k) => k.groupId,
  'keeper:full': (e) => e.groupId,
}
