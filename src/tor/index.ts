/**
 * Everything Burrow needs from Tor: a supervised tor daemon (or an attached
 * one), its control port, onion services with client authorization, and a
 * SOCKS dialer that reaches `.onion` addresses only.
 *
 * This layer knows nothing of logs, groups or libp2p.
 * @module
 */
export * from './control/index.js'
export * from './errors.js'
export { findTorBinary } from './binary.js'
export type { BootstrapProgress, BootstrapLimits } from './bootstrap.js'
export { Tor, type TorState, type TorEvents, type ReadyHook, type SupervisionOptions } from './tor.js'
export type { ManagedTorOptions } from './managed.js'
export type { AttachedTorOptions } from './attached.js'
export type { TorLauncher, LaunchedTor, TorExit } from './launcher.js'
export { OnionService, type OnionServiceOptions, type OnionServiceEvents, type SelfCheckResult } from './onion-service.js'
export { OnionClientAuth } from './client-auth.js'
export * from './onion-address.js'
export * from './onion-keys.js'
export * from './socks.js'
export * from './socks-errors.js'
export { buildNodeTorrc, nodeTorPaths, renderTorrc, loadTorrcTemplate, type NodeTorPaths } from './torrc.js'
