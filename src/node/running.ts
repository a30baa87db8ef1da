import type { EventEmitter } from 'node:events'
import type { Logger } from '../logging.js'
import type { NodeKeys } from '../keys/index.js'
import type { GroupManager, KeptGroups } from '../group/index.js'
import { AddressTable, PeerConnector, SyncManager, createBurrowLibp2p, type BurrowLibp2p } from '../net/index.js'
import type { Database, LogStore } from '../store/index.js'
import type { Tor } from '../tor/index.js'
import { listen as on } from '../util/events.js'
import type { GroupContent } from './content.js'
import { forwardForkEvents, type ForkLedger } from './forks.js'
import type { InviteQueue } from './invite-queue.js'
import { serveKeyPackages } from './key-packages.js'
import { OnionAccess } from './onion-access.js'
import type { NodePaths } from './paths.js'
import type { Recovery } from './recovery.js'
import { torFor } from './tor-choice.js'
import type { BurrowEvents, BurrowOptions } from './types.js'
import type { Naming } from './views.js'
import { DiskRoom } from './disk-room.js'
import { connectPublishAndIngest, forwardGroupEvents, forwardNetEvents, forwardTorEvents, groupSyncPolicy, syncStore } from './wiring.js'

/** The onion service port peers dial. Contact cards carry no port, so every Burrow node uses this one. */
export const BURROW_VIRTUAL_PORT = 443

/** The parts of a node that exist only while it runs. */
export interface Running {
  tor: Tor
  net: BurrowLibp2p
  sync: SyncManager
  connector: PeerConnector
  access: OnionAccess
  recovery: Recovery
  /** The disk floor for what peers send (disk-room.ts). */
  diskRoom: DiskRoom
}

/** What the running parts are made from: the node's lasting parts, and where their events and detach functions go. */
export interface NodeParts {
  readonly options: BurrowOptions
  readonly paths: NodePaths
  readonly keys: NodeKeys
  readonly log: Logger
  readonly db: Database
  readonly logs: LogStore
  readonly table: AddressTable
  readonly groups: GroupManager
  readonly kept: KeptGroups
  readonly naming: Naming
  readonly content: GroupContent
  readonly forks: ForkLedger
  readonly invites: InviteQueue
  /** The node, which re-emits its parts' events. */
  readonly node: EventEmitter<BurrowEvents>
  /** Detach functions of the event wiring, called on shutdown. */
  readonly detach: (() => void)[]
  setReachable(reachable: boolean): void
}

/**
 * Starts tor, libp2p, the key-package endpoint, sync and the connector, and
 * connects their events. `hold` gets the parts as they start, so that a
 * start that fails half-way still stops what it started ({@link stopRunning}).
 */
export async function startRunning(p: NodeParts, hold: (parts: Partial<Running>) => void, signal?: AbortSignal): Promise<Running> {
  const tor = torFor(p.options.tor ?? { mode: 'managed' }, p.paths.torDir, { bootstrapStallMs: p.options.bootstrapStallMs ?? 120_000, logger: p.log })
  p.detach.push(forwardTorEvents(tor, p.node, (reachable) => p.setReachable(reachable)))
  const parts: Partial<Running> = { tor }
  hold(parts)
  await tor.start(signal)
  const net = await createBurrowLibp2p({
    identitySeed: p.keys.identity.seed,
    onionAddress: p.keys.onionAddress,
    virtualPort: BURROW_VIRTUAL_PORT,
    listenPath: p.paths.onionSocket,
    socks: () => tor.socksEndpoint,
    allowList: p.table,
    logger: p.log,
  })
  parts.net = net
  await serveKeyPackages(net.libp2p, p.groups, p.table, (groupId) => parts.sync?.share(groupId), p.log)
  const diskRoom = (parts.diskRoom = new DiskRoom(p.paths.dataDir, p.log, () => parts.sync?.askRefused()))
  const sync = new SyncManager({ libp2p: net.libp2p, store: syncStore(p.logs, p.db, p.keys.identity.publicKey), table: p.table, policy: groupSyncPolicy(p.table, p.groups, p.kept, diskRoom), logger: p.log })
  parts.sync = sync
  await sync.start()
  parts.connector = new PeerConnector({
    libp2p: net.libp2p,
    table: p.table,
    virtualPort: BURROW_VIRTUAL_PORT,
    // Our key for the peer again and its descriptor afresh (before our onion is published, the descriptor only).
    refreshDescriptor: (onion, peer) => parts.access?.refresh(onion, peer) ?? tor.refetchDescriptor(onion),
    authorizeShard: async (onion, peer) => parts.access?.authorizeShard(onion, peer),
    logger: p.log,
  })
  p.detach.push(
    forwardNetEvents(net.libp2p, sync, p.table, p.node),
    forwardGroupEvents(p.groups, p.naming, p.node),
    p.content.attach(sync),
    forwardForkEvents(sync, p.forks, p.table, p.node, p.log),
    on(p.node, 'peer:connected', ({ peerId }) => p.invites.peerConnected(peerId)),
    connectPublishAndIngest(p.groups, p.kept, sync),
  )
  return parts as Running
}

/** Publishes our onion service and resolves once we reach ourselves through Tor. */
export async function publishOnion(p: NodeParts, running: Running, signal?: AbortSignal): Promise<void> {
  const target = { path: running.net.listenPath }
  running.access = new OnionAccess(running.tor, { keys: p.keys, table: p.table, virtualPort: BURROW_VIRTUAL_PORT, target, logger: p.log })
  const started = Date.now()
  await running.access.publish(signal)
  p.setReachable(true)
  p.node.emit('onion:reachable', { address: p.keys.onionAddress, ms: Date.now() - started })
  p.detach.push(on(running.access.service, 'published', () => p.setReachable(true)))
}

/** Stops what has been started of the running parts, last started first. */
export async function stopRunning(running: Partial<Running>): Promise<void> {
  await running.recovery?.stop()
  running.connector?.stop()
  await running.sync?.stop().catch(() => {})
  // Before the onion service and tor go: they carry the goodbye to peers.
  await running.net?.closeConnections().catch(() => {})
  await running.access?.close()
  await Promise.resolve(running.net?.libp2p.stop()).catch(() => {})
  await running.tor?.stop().catch(() => {})
}
