/**
 * libp2p over Tor onion services: the onion transport (dials through tor's
 * SOCKS port, listens on a unix socket behind our onion service), onion
 * multiaddrs, the allow-list connection gater and the node factory.
 *
 * Importing this module installs the `Promise.withResolvers` polyfill that
 * libp2p 3 needs on Node 20.
 * @module
 */
import './polyfill.js'

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
  AmbiguousPeerError,
  PeerRejectedError,
  UnknownPeerError,
  peerIdOfIdentityKey,
  type AddressTableEvents,
  type PeerRecord,
} from './address-table.js'
export { PeerConnector, dialFailure, type PeerConnectorOptions } from './peer-connector.js'
export { SyncManager, type SyncManagerEvents, type SyncManagerOptions } from './sync-manager.js'
export { request, serveRequests, RequestError, type RequestOptions } from './request-response.js'
export * from './sync/index.js'
