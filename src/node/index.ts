/** The Burrow node: composes tor, net, log, store and group. @module */
export { Burrow, BURROW_VIRTUAL_PORT, KEY_PACKAGE_PROTOCOL, type BurrowOptions, type BurrowEvents, type TorChoice, type NodeStatus, type PeerStatus } from './burrow.js'
export type { GroupSummary, MemberView, MessageView } from './views.js'
export { AmbiguousGroupError } from './views.js'
export * from './errors.js'
export { nodePaths, defaultDataDir, type NodePaths } from './paths.js'
export { loadConfig, validateConfig, ConfigError, type NodeConfig } from './config.js'
