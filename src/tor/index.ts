/**
 * Everything Burrow needs from Tor: a supervised tor daemon (or the user's
 * own), its control connection, onion services with client authorization,
 * and a SOCKS dialer that reaches `.onion` addresses only. This layer knows
 * nothing of logs, groups or libp2p, and nothing of ours but `util/`.
 *
 * Who uses what: `node/` makes a {@link Tor} (managed or attached), an
 * {@link OnionService} for its own onion and an {@link OnionClientAuth} for
 * its keys to peers' onions; `net/` dials with {@link dialOnion} and reads
 * SOCKS failure reasons; `keys/` derives onion addresses and client-auth keys
 * with `onion-keys` and `onion-address`; `testnet/` renders its torrc files.
 *
 * The daemon
 * - `tor.ts`: {@link Tor}, the supervisor: launch, authenticate, bootstrap
 *   (with a watchdog), restart with backoff after a loss, ready hooks that
 *   re-create onion services; `stopSupervising()` before a shutdown;
 *   `freshStart()` after a sleep or an outage.
 * - `network-watch.ts`: {@link NetworkWatch}, whether tor reaches the Tor
 *   network, from its circuit and relay-connection events.
 * - `launcher.ts`: what a launcher hands the supervisor ({@link LaunchedTor}).
 * - `managed.ts`: Burrow's own tor: generated torrc, its own process group, an
 *   environment of HOME only, control and SOCKS on unix sockets in its 0700 folder.
 * - `attached.ts`: the user's tor, reached with the credential the user configured.
 * - `bridges.ts`: bridge lines (plain and obfs4 through obfs4proxy) checked
 *   and turned into the managed tor's `UseBridges` / `Bridge` lines.
 * - `torrc.ts`: torrc templates (`tor/*.torrc`) and quoting; `binary.ts`
 *   finds the tor executable; `bootstrap.ts` waits for 100 % and a circuit;
 *   `socket-path.ts` checks unix socket paths (107 bytes at most).
 *
 * Onion services
 * - `onion-service.ts`: {@link OnionService}: ADD_ONION with our persistent
 *   key, forwarding to a unix socket; waits for the descriptor uploads;
 *   self-check; takes everything back on `remove()`.
 * - `client-auth.ts`: {@link OnionClientAuth}: our keys for peers' onions,
 *   replayed after restarts, all removed from tor on `close()`.
 * - `onion-keys.ts`, `onion-address.ts`: seeds to tor's key blobs and
 *   `.onion` addresses; parsing and checking addresses.
 * - `onion-shards.ts`: a node's extra onion services (shards), whose keys
 *   are blinded from its own so that a peer computes their addresses from
 *   its card; the per-descriptor client limit.
 *
 * Reaching peers
 * - `socks.ts`: {@link dialOnion}, a SOCKS5 client that sends only `.onion`
 *   names and isolates circuits by username.
 * - `socks-errors.ts`: what each CONNECT reply code means and whether to retry.
 *
 * The control protocol lives in `control/` (see its index). Every error of the
 * folder is a {@link TorError} whose `code` is a key of {@link TOR_ERRORS}
 * (`errors.ts`).
 * @module
 */
export * from './control/index.js'
export * from './errors.js'
export { findTorBinary } from './binary.js'
export type { BootstrapProgress, BootstrapLimits } from './bootstrap.js'
export { Tor, type TorState, type TorEvents, type ReadyHook, type SupervisionOptions } from './tor.js'
export type { ManagedTorOptions } from './managed.js'
export { parseBridgeLine, bridgeTorrcLines, findObfs4proxy, type BridgeLine } from './bridges.js'
export type { AttachedTorOptions } from './attached.js'
export type { TorLauncher, LaunchedTor, TorExit } from './launcher.js'
export { NetworkWatch, OFFLINE_AFTER_MS, STALLED_AFTER_MS, type NetworkWatchEvents, type OfflineReason } from './network-watch.js'
export { OnionService, type OnionServiceOptions, type OnionServiceEvents, type SelfCheckResult } from './onion-service.js'
export { OnionClientAuth } from './client-auth.js'
export * from './onion-address.js'
export * from './onion-keys.js'
export { MAX_CLIENTS_PER_ONION, MAX_ONION_SHARDS, onionShardAddress, onionShardAddresses, onionShardKeyBlob } from './onion-shards.js'
export * from './socks.js'
export * from './socks-errors.js'
export { assertOnionTargetPath, assertUnixSocketPath, MAX_UNIX_SOCKET_PATH_BYTES } from './socket-path.js'
export { buildNodeTorrc, nodeTorPaths, renderTorrc, torrcQuote, loadTorrcTemplate, type NodeTorPaths } from './torrc.js'
