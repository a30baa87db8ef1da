/**
 * The node's local API: newline-delimited JSON over a unix socket (0600) in
 * the data directory. `burrow start` serves it; every other `burrow` command
 * is a client.
 */
export { startLocalApi, type LocalApiServer, type LocalApiServerOptions } from './server.js'
export { LocalApiClient, type CallOptions, type LocalApiClientOptions } from './client.js'
export { API_ERRORS, LocalApiError, NodeCallError, type LocalApiErrorCode } from './errors.js'
export { socketAnswers } from './socket-file.js'
export type { LocalApiNode, LocalApiNodeEvents } from './node.js'
export * from './protocol.js'
