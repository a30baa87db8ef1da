/**
 * libp2p over Tor onion services, for allow-listed peers only.
 *
 * - `onion-transport.ts`, `onion-connection.ts`, `onion-listener.ts`,
 *   `onion-multiaddr.ts`: the only transport: dials `/onion3/…` through tor's
 *   SOCKS port, listens on the unix socket our onion service forwards to
 *   (the node's only listener).
 * - `libp2p-node.ts`: the libp2p node with Tor-sized timeouts, no discovery,
 *   no DNS. `gater.ts`: the allow-list gater (outbound and after Noise).
 * - `address-table.ts`: the allow-list itself, answered from memory.
 * - `peer-connector.ts`: keeps allow-listed peers connected (backoff, tor's
 *   reasons recorded) and connects on demand with a retry budget.
 * - `request-response.ts`: one request per stream (used for key packages).
 * - `multistream.ts`: optimistic multistream-select (a protocol proposed
 *   with the first message, not a round trip before it), for requests and,
 *   in `onion-connection.ts`, for Noise.
 * - `sync/`: `/burrow/sync/1`, log replication.
 * - `errors.ts`: `NetError` and its codes.
 *
 * Importing this module installs the `Promise.withResolvers` polyfill that
 * libp2p 3 needs on Node 20.
 * @module
 */import './polyfill.js'

export * from './errors.js'
export { identityKeyFromSeed, peerIdFromIdentitySeed } from './identity.js'
export {
  onionMultiaddr,
  parseOnionMultiaddr,
  isOnionMultiaddr,
  unixListenPath,
  unixListenMultiaddr,
  UNATTRIBUTED_INBOUND_ADDR,
  type OnionTarget,
} from './onion-multiaddr.js'
export { OnionMultiaddrConnection, type OnionMultiaddrConnectionInit } from './onion-connection.js'
export { OnionListener, type OnionListenerInit } from './onion-listener.js'
export {
  OnionTransport,
  onionTransport,
  DEFAULT_SOCKS_TIMEOUT_MS,
  type OnionTransportInit,
  type OnionTransportComponents,
} from './onion-transport.js'
export { allowListGater, type AllowList, type AllowListGaterInit } from './gater.js'
export {
  createBurrowLibp2p,
  burrowLibp2pOptions,
  TOR_TIMEOUTS,
  NODE_INFO,
  type BurrowLibp2p,
  type BurrowLibp2pOptions,
} from './libp2p-node.js'
export {
  AddressTable,
  peerIdOfIdentityKey,
  type AddressTableEvents,
  type PeerRecord,
} from './address-table.js'
export { PeerConnector, dialFailure, type ConnectOptions, type PeerConnectorOptions } from './peer-connector.js'
export { request, serveRequests, type RequestOptions } from './request-response.js'
export * from './sync/index.js'
