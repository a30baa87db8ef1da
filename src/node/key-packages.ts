import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging.js'
import {
  KEY_PACKAGE_PROTOCOL,
  MAX_KEY_PACKAGE_REQUEST_BYTES,
  MAX_KEY_PACKAGE_RESPONSE_BYTES,
  answerKeyPackageRequest,
  fetchKeyPackage,
  type GroupManager,
  type KeyPackageRequest,
} from '../group/index.js'
import { request, serveRequests, type AddressTable, type PeerConnector, type PeerRecord } from '../net/index.js'
import type { InviteNetwork } from './invite-queue.js'

/** `/burrow/keypackage/1` over libp2p: the group layer's exchange (group/key-package-exchange.ts) on real streams. */

/** Invitee side: answers allow-listed peers' requests; `onPending` runs for each invitation recorded. */
export async function serveKeyPackages(
  libp2p: Libp2p,
  groups: GroupManager,
  table: AddressTable,
  onPending: (groupId: Uint8Array) => void,
  logger: Logger,
): Promise<void> {
  await serveRequests(libp2p, KEY_PACKAGE_PROTOCOL, (peer, body) => answerKeyPackageRequest(groups, table.identityKeyOf(peer), body, onPending), {
    maxRequestBytes: MAX_KEY_PACKAGE_REQUEST_BYTES,
    logger,
  })
}

/** Owner side: a fresh key package of a connected peer for our group (`wanted.nonce` from `GroupManager.ownershipNonce`). */
export function requestKeyPackage(libp2p: Libp2p, peer: PeerRecord, wanted: KeyPackageRequest, signal?: AbortSignal): Promise<Uint8Array> {
  const ask = (body: Uint8Array): Promise<Uint8Array> =>
    request(libp2p, peerIdFromString(peer.peerId), KEY_PACKAGE_PROTOCOL, body, {
      maxResponseBytes: MAX_KEY_PACKAGE_RESPONSE_BYTES,
      ...(signal ? { signal } : {}),
    })
  return fetchKeyPackage(ask, wanted)
}

/** How the invite queue reaches invitees: the connector (within its budget), then a key-package request on the connection. */
export function inviteNetwork(libp2p: Libp2p, connector: PeerConnector): InviteNetwork {
  return {
    isConnected: (peerId) => libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId),
    fetchKeyPackage: async (peer, wanted, { budgetMs, signal }) => {
      await connector.connect(peer, { budgetMs, ...(signal !== undefined ? { signal } : {}) })
      return requestKeyPackage(libp2p, peer, wanted, signal)
    },
  }
}
