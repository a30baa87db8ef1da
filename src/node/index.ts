/**
 * The Burrow node: composes tor, net, log, store and group into one object
 * with a lifecycle, and shows their state as plain views.
 *
 * - `burrow.ts`: the `Burrow` class, which only composes: it starts the
 *   parts, hands work to them, and says which paths connect them.
 * - `running.ts`: the parts that exist while the node runs (tor, libp2p,
 *   sync, connector, onion access), started, published and stopped in order.
 * - `wiring.ts`: the publish and ingest paths between groups and sync, the
 *   parts' events as the node's public events, and the sync policy.
 * - `data-dir.ts`: a node's data directory created (identity, database) and opened.
 * - `content.ts`: files (sent from disk, saved to disk, with progress),
 *   deletion and retention; `file-names.ts`: safe names for received files.
 * - `forks.ts`: fork proofs held (list, export) and the `log:fork` event.
 * - `invite-queue.ts`: the owner's invitations, queued until the invitee can be reached.
 * - `onion-access.ts`: our onion services and client-auth keys in step with
 *   the allow-list (299 peers to a service, up to 4 services: `MAX_PEERS`);
 *   the self-check and re-publication after an outage.
 * - `recovery.ts`, `wake-watch.ts`: back after a sleep (the clocks jump) or
 *   a network outage (tor offline, then online): fresh circuits, peers
 *   dialled at once, our onion checked or re-published.
 * - `key-packages.ts`: `/burrow/keypackage/1` on libp2p streams, for both ends.
 * - `keepers.ts`: keepers on the network: the owner's orders and releases,
 *   members' answers and claims, the keeper's end of `/burrow/keeper/1`, and
 *   the allow-list entries keeping needs (docs/keepers.md);
 *   `keeper-controls.ts`: the keepers as the APIs show and change them.
 * - `views.ts`: peers, groups and messages as people and apps see them.
 * - `tor-choice.ts`: managed tor, private test network or the user's tor.
 * - `config.ts`, `paths.ts`: the data directory's layout and `config.json`.
 * - `types.ts`: options, events and status of a node.
 * @module
 */
export { Burrow } from './burrow.js'
export { BURROW_VIRTUAL_PORT } from './running.js'
export { MAX_PEERS, PEERS_PER_SHARD, assertPeerLimit, assignShards } from './onion-access.js'
export { ForkLedger, type ForkDetected, type ForkView } from './forks.js'
export { INVITE_QUEUE_LIMITS, InviteQueue, type InviteEvent, type InviteNetwork, type InviteOptions, type InviteOutcome, type InviteState, type PendingInviteView } from './invite-queue.js'
export type { BurrowOptions, BurrowEvents, FileProgress, TorChoice, NodeStatus, KeepersView, KeepingOrdererView, KeptGroupStatus } from './types.js'
export type { FileView, GroupSummary, MemberView, MessageView, PeerView } from './views.js'
export { GroupContent, type OutgoingFile, type SaveFileOptions, type SendFileOptions } from './content.js'
export { safeFileName, mediaTypeOf } from './file-names.js'
export * from './errors.js'
export { nodePaths, defaultDataDir, type NodePaths } from './paths.js'
export { loadConfig, validateConfig, type NodeConfig } from './config.js'
