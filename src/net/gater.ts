import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { isOnionMultiaddr, parseOnionMultiaddr } from './onion-multiaddr.js'

/** Which peers may connect to us and be dialed by us. The table behind it lives elsewhere; this is all the gater needs. */
export interface AllowList {
  /** True when the peer (its base58 `12D3Koo…` id) may connect. Must be fast: it runs on every connection. */
  isAllowed(peerId: string): boolean
}

/** Options of {@link allowListGater}. */
export interface AllowListGaterInit {
  allowList: AllowList
  /** Our own peer id: the peer store keeps our own (onion) addresses although we are not on our allow-list. */
  self: PeerId
  logger?: Logger
}

/**
 * A libp2p `ConnectionGater` that lets in and out only peers on the
 * allow-list, over onion multiaddrs only, and refuses every relay.
 *
 * Inbound connections reach us anonymously through tor, so the first point
 * where the caller is known is after Noise: `denyInboundEncryptedConnection`
 * is the inbound check. The caller's stream handlers never run when it
 * refuses. Outbound, the peer is checked before dialing when the id is known
 * and again after Noise (a dial to a bare onion multiaddr learns the id only
 * then). An allow-list that throws counts as "not allowed": the gater fails
 * closed.
 */
export function allowListGater(init: AllowListGaterInit): ConnectionGater {
  const log = init.logger ?? silentLogger
  const denied = (peerId: PeerId | string, where: string): boolean => {
    const peer = peerId.toString()
    let allowed: boolean
    try {
      allowed = init.allowList.isAllowed(peer) === true
    } catch (err) {
      log.warn({ peer, where, error: err instanceof Error ? err.message : String(err) }, 'allow-list lookup failed; refusing the peer')
      allowed = false
    }
    if (!allowed) log.debug({ peer, where }, 'peer refused by the allow-list')
    return !allowed
  }

  return {
    denyDialPeer: (peerId: PeerId) => denied(peerId, 'dial'),
    denyDialMultiaddr: (ma: Multiaddr) => {
      if (!isOnionMultiaddr(ma)) return true
      const peerId = parseOnionMultiaddr(ma).peerId
      // A bare onion multiaddr is checked after Noise, when the peer id is known.
      return peerId !== undefined && denied(peerId, 'dial-multiaddr')
    },
    denyOutboundConnection: (peerId: PeerId, _maConn: MultiaddrConnection) => denied(peerId, 'outbound'),
    denyInboundEncryptedConnection: (peerId: PeerId, _maConn: MultiaddrConnection) => denied(peerId, 'inbound-encrypted'),
    denyOutboundEncryptedConnection: (peerId: PeerId, _maConn: MultiaddrConnection) => denied(peerId, 'outbound-encrypted'),
    // The list may change while a connection upgrades: look again once it is complete.
    denyInboundUpgradedConnection: (peerId: PeerId, _maConn: MultiaddrConnection) => denied(peerId, 'inbound-upgraded'),
    denyOutboundUpgradedConnection: (peerId: PeerId, _maConn: MultiaddrConnection) => denied(peerId, 'outbound-upgraded'),
    denyInboundRelayReservation: () => true,
    denyOutboundRelayedConnection: () => true,
    denyInboundRelayedConnection: () => true,
    filterMultiaddrForPeer: (peer: PeerId, ma: Multiaddr) => isOnionMultiaddr(ma) && (peer.equals(init.self) || !denied(peer, 'peer-store')),
  }
}

