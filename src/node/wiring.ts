import type { EventEmitter } from 'node:events'
import type { Connection, Libp2p } from '@libp2p/interface'
import { bytesEqual, toHex } from '../log/index.js'
import { withoutFsync, type Database, type LogStore } from '../store/index.js'
import { listen } from '../util/events.js'
import type { GroupManager, KeptGroups } from '../group/index.js'
import type { AddressTable, SharePolicy, SyncManager, SyncStore } from '../net/index.js'
import type { OnionAddress, Tor } from '../tor/index.js'
import type { RecoveryHooks } from './recovery.js'
import type { BurrowEvents } from './types.js'
import { groupSummary, messageView, type Naming } from './views.js'
import type { DiskRoom } from './disk-room.js'

/**
 * How the node's parts are joined where no call says it: their own events
 * become the node's public events (names and plain views, no bytes but
 * message data; each function returns the removal of what it attached), and
 * the group layer answers sync's questions about peers.
 */
type NodeEmitter = EventEmitter<BurrowEvents>

/**
 * The log store as sync writes to it. Operations received from peers commit
 * without waiting for an fsync (`withoutFsync`: atomic, and they survive a
 * crash of the process): after a power loss the last of them are fetched
 * again, and the receiver's fsync per frame was what held a catch-up back
 * (a million operations over 1,000 authors: 0.22–0.46 of a raw stream at
 * FULL, 0.65 at NORMAL, measured at 100,000). A frame holding an operation
 * of our own (a restored node getting its log back) stays at FULL: once
 * peers hold our operations we must never lose them (database.ts).
 */
export function syncStore(logs: LogStore, db: Database, self: Uint8Array): SyncStore {
  return {
    heights: (logId) => logs.heights(logId),
    heightOf: (logId, author) => logs.heightOf(logId, author),
    wireOperationsAfter: (author, logId, afterSeq, limit, maxBytes) => logs.wireOperationsAfter(author, logId, afterSeq, limit, maxBytes),
    ingest: (ops) => (ops.some((op) => bytesEqual(op.header.author, self)) ? logs.ingest(ops) : withoutFsync(db, () => logs.ingest(ops))),
  }
}

/**
 * The two paths between the group layer and sync:
 * - publish: what the group layer wrote goes to connected members at once;
 *   a group that becomes shared with someone (created, joined, a member
 *   added) is announced to them;
 * - ingest: what sync stored is processed into the groups (a file's chunks
 *   need no group pass: they are read when the file is saved; a log kept
 *   for others none at all).
 */
export function connectPublishAndIngest(groups: GroupManager, kept: KeptGroups, sync: SyncManager): () => void {
  const detach = [
    listen(groups, 'appended', (ops) => sync.offer(ops)),
    listen(groups, 'changed', ({ groupId }) => sync.share(groupId)),
    listen(groups, 'joined', (info) => sync.share(info.id)),
    // A log kept for others is nobody's business here but sync's.
    listen(sync, 'ingested', ({ logId }) => void (groups.isFileLog(logId) || kept.ownerOf(logId) !== undefined || groups.processSoon())),
  ]
  return () => detach.forEach((d) => d())
}

/**
 * Which group logs each peer may have, asked by sync for every frame (keyed
 * by PeerId; answered from memory and indexes), and the part a departed
 * member still gets (`GroupManager.shareLimit`). Logs this node keeps for
 * others (`KeptGroups`) are answered by their order. Below the disk floor
 * (disk-room.ts) nothing received is taken.
 */
export function groupSyncPolicy(table: AddressTable, groups: GroupManager, kept: KeptGroups, room: DiskRoom): SharePolicy {
  return {
    sharedLogs: (peerId) => {
      const identity = table.identityKeyOf(peerId)
      return identity === undefined ? [] : [...groups.sharedLogs(identity), ...kept.sharedLogs(identity)]
    },
    mayShare: (peerId, logId) => {
      const identity = table.identityKeyOf(peerId)
      return identity !== undefined && (kept.mayShare(identity, logId) ?? groups.mayShare(identity, logId))
    },
    // A kept log takes its members' operations within its quota; the rest is the group layer's; and nothing below the
    // disk floor (asked last: what the policy refuses must not use up the room it counts).
    accepts: (peerId, header) => (kept.accepts(header, peerId) ?? groups.acceptsOperation(header)) && room.hasRoomFor(header.payloadSize),
    limit: (peerId, logId) => {
      const identity = table.identityKeyOf(peerId)
      return identity === undefined ? undefined : groups.shareLimit(identity, logId)
    },
    lastAuthor: (logId) => kept.ownerOf(logId) ?? groups.committerOf(logId),
  }
}

/** Tor's bootstrap, readiness and losses; a loss also marks the node unreachable until the onion is published again. */
export function forwardTorEvents(tor: Tor, node: NodeEmitter, setReachable: (reachable: boolean) => void): () => void {
  const off = [
    listen(tor, 'bootstrap', (p) => node.emit('tor:bootstrap', p)),
    listen(tor, 'ready', () => node.emit('tor:ready')),
    listen(tor, 'lost', ({ reason }) => {
      setReachable(false)
      node.emit('tor:lost', { reason })
    }),
  ]
  return () => off.forEach((f) => f())
}

/**
 * Why a peer disconnected, from its last connection's close event (never an
 * earlier dial's error): `closed by the peer` (it stopped or hung up; its
 * stream ended), `closed here` (this node hung up), `timed out` (no answer
 * to libp2p's ping for a minute: the peer or its circuit died silently) or
 * `connection failed` (any other error: the connection to tor broke, or the
 * peer broke the protocol).
 */
export type DisconnectReason = 'closed by the peer' | 'closed here' | 'timed out' | 'connection failed' | 'closed'

/** The {@link DisconnectReason} a connection's close event gives; `local` is set by our transport when we closed it. */
export function disconnectReason(evt: { local?: boolean; error?: Error }): DisconnectReason {
  if (evt.error !== undefined) return evt.error.name === 'TimeoutError' || evt.error.name === 'AbortError' ? 'timed out' : 'connection failed'
  return evt.local === true ? 'closed here' : 'closed by the peer'
}

/** Peers connecting and disconnecting (named from the allow-list), and sync's progress and ephemeral messages. */
export function forwardNetEvents(libp2p: Libp2p, sync: SyncManager, table: AddressTable, node: NodeEmitter): () => void {
  const named = (peerId: string): { peerId: string; name?: string } => {
    const name = table.get(peerId)?.displayName
    return name !== undefined ? { peerId, name } : { peerId }
  }
  const onConnect = (evt: CustomEvent<{ toString(): string }>): void => {
    node.emit('peer:connected', named(evt.detail.toString()))
  }
  // How each peer's last connection ended. libp2p announces the disconnect from
  // within the connection's close event, before that event reaches us: the
  // disconnect is emitted a microtask later, once it has.
  const closes = new Map<string, DisconnectReason>()
  let attached = true
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    connection.addEventListener('close', (e) => closes.set(connection.remotePeer.toString(), disconnectReason(e)), { once: true })
  }
  const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peerId = evt.detail.toString()
    queueMicrotask(() => {
      const reason = closes.get(peerId) ?? 'closed'
      closes.delete(peerId)
      if (attached) node.emit('peer:disconnected', { ...named(peerId), reason })
    })
  }
  libp2p.addEventListener('connection:open', onOpen)
  libp2p.addEventListener('peer:connect', onConnect)
  libp2p.addEventListener('peer:disconnect', onDisconnect)
  const off = [
    () => (attached = false),
    () => libp2p.removeEventListener('connection:open', onOpen),
    () => libp2p.removeEventListener('peer:connect', onConnect),
    () => libp2p.removeEventListener('peer:disconnect', onDisconnect),
    listen(sync, 'ingested', ({ peer, logId, stored }) => {
      if (stored > 0) node.emit('sync:progress', { peerId: peer, logId: toHex(logId), stored })
    }),
    listen(sync, 'caught-up', ({ peer, logId }) => node.emit('sync:caught-up', { peerId: peer, logId: toHex(logId) })),
    listen(sync, 'ephemeral', ({ peer, logId, data }) => node.emit('group:ephemeral', { groupId: toHex(logId), ...named(peer), data })),
  ]
  return () => off.forEach((f) => f())
}

/** Decrypted messages and group changes, as views. */
export function forwardGroupEvents(groups: GroupManager, naming: Naming, node: NodeEmitter): () => void {
  const changed = (groupId: Uint8Array): void => {
    const info = groups.get(groupId)
    if (info !== undefined) node.emit('group:changed', groupSummary(info, naming))
  }
  const off = [
    listen(groups, 'message', (m) => node.emit('group:message', messageView(m, naming))),
    listen(groups, 'changed', ({ groupId }) => changed(groupId)),
    listen(groups, 'joined', (info) => changed(info.id)),
  ]
  return () => off.forEach((f) => f())
}

/** A recovery's progress (see `recovery.ts`) as the node's events; reachability is unknown from its start until its self-check passes. */
export function recoveryEvents(node: NodeEmitter, address: OnionAddress, setReachable: (reachable: boolean) => void): RecoveryHooks {
  return {
    started: (e) => {
      setReachable(false)
      node.emit('node:recovering', e)
    },
    reachable: ({ ms }) => {
      setReachable(true)
      node.emit('onion:reachable', { address, ms })
    },
    offline: () => {
      setReachable(false)
      node.emit('tor:offline')
    },
  }
}
