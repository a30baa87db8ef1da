/**
 * The node's local API: its face to other processes. Newline-delimited JSON
 * over a unix socket (mode 0600, never TCP) in the data directory; `burrow
 * start` serves it, every other `burrow` command is a client.
 *
 * - `protocol.ts`: the wire contract: methods, params, results, events,
 *   limits. Results are the node's views (node/views.ts) as JSON.
 * - `validate.ts`: one request line in, a typed request or `API_BAD_REQUEST` out.
 * - `server.ts`: serves a `LocalApiNode` (node.ts; `Burrow` is one): framing,
 *   per-connection limits, subscriptions. `wire.ts` turns views into JSON.
 * - `client.ts`: the client the CLI uses; `socket-file.ts` finds stale sockets.
 * - `errors.ts`: `LocalApiError` and its codes; a node's own errors pass
 *   through with their codes (`NodeCallError` on the client side).
 *
 * ```
 * → {"id":1,"method":"send","params":{"group":"friends","text":"hi"}}
 * ← {"id":1,"result":{"id":7,"group":"3fa4…","author":"9b1c…","self":true,"seq":4,"epoch":2,"text":"hi","data":"aGk=",…}}
 * → {"id":2,"method":"subscribe","params":{"events":["group:message"]}}
 * ← {"event":"group:message","data":{…}}
 * ```
 * @module
 */export { startLocalApi, type LocalApiServer, type LocalApiServerOptions } from './server.js'
export { LocalApiClient, type CallOptions, type LocalApiClientOptions } from './client.js'
export { API_ERRORS, LocalApiError, NodeCallError, type LocalApiErrorCode } from './errors.js'
export { socketAnswers } from './socket-file.js'
export type { LocalApiNode, LocalApiNodeEvents } from './node.js'
export * from './protocol.js'
