/**
 * The connector's probing of a peer's onion shards and its schedule, over a
 * real allow-list (SQLite) and a libp2p double whose dials answer as tor
 * would for each address.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it, vi } from 'vitest'
import { createContactCard, deriveNodeKeys } from '../../src/keys/index.js'
import { AddressTable, OnionDialError, PeerConnector, peerIdOfIdentityKey, type PeerRecord } from '../../src/net/index.js'
import { openDatabase, PeerStore } from '../../src/store/index.js'
import { onionShardAddresses, serviceIdOf, type SocksFailureReason } from '../../src/tor/index.js'

function allowList(): AddressTable {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'burrow-connector-')), 'burrow.db'))
  let now = 1_000
  return new AddressTable(new PeerStore(db), peerIdOfIdentityKey(deriveNodeKeys(randomBytes(32)).identity.publicKey), () => now++)
}

function addPeers(table: AddressTable, count: number): PeerRecord[] {
  return table.addAll(Array.from({ length: count }, () => createContactCard(deriveNodeKeys(randomBytes(32)))))
}

/** A libp2p whose dial to a service ID answers `answer(serviceId)`: a tor failure reason, or 'ok'. */
function libp2pDouble(answer: (serviceId: string) => SocksFailureReason | 'ok') {
  const dialed: string[] = []
  const libp2p = {
    getConnections: () => [],
    dial: async (ma: Multiaddr) => {
      const serviceId = /\/onion3\/([a-z2-7]{56}):/.exec(ma.toString())?.[1] ?? ''
      dialed.push(serviceId)
      const outcome = answer(serviceId)
      if (outcome === 'ok') return { status: 'open', remotePeer: { toString: () => 'peer' } } as unknown as Connection
      throw new OnionDialError(outcome, false, `tor said ${outcome}`)
    },
  } as unknown as Libp2p
  return { libp2p, dialed }
}

function shardIds(peer: PeerRecord): string[] {
  return onionShardAddresses(peer.onion).map(serviceIdOf)
}

describe('peer connector', () => {
  it('asks an ordinary node (only its own address published) for one shard more, and reports what its own address said', async () => {
    const table = allowList()
    const [peer] = addPeers(table, 1) as [PeerRecord]
    const [own, first] = shardIds(peer)
    const { libp2p, dialed } = libp2pDouble((id) => (id === own ? 'onion-client-auth-wrong' : 'onion-descriptor-not-found'))
    const connector = new PeerConnector({ libp2p, table, virtualPort: 443 })
    await expect(connector.dial(peer)).rejects.toMatchObject({ reason: 'onion-client-auth-wrong' })
    expect(dialed).toEqual([own, first])
  })

  it('gives up on an offline peer after its own address', async () => {
    const table = allowList()
    const [peer] = addPeers(table, 1) as [PeerRecord]
    const { libp2p, dialed } = libp2pDouble(() => 'onion-descriptor-not-found')
    const connector = new PeerConnector({ libp2p, table, virtualPort: 443 })
    await expect(connector.dial(peer)).rejects.toMatchObject({ reason: 'onion-descriptor-not-found' })
    expect(dialed).toEqual([shardIds(peer)[0]])
  })

  it('finds the shard that carries our key, registers our key for it first, and tries it first next time', async () => {
    const table = allowList()
    const [peer] = addPeers(table, 1) as [PeerRecord]
    const ids = shardIds(peer)
    const { libp2p, dialed } = libp2pDouble((id) => (id === ids[2] ? 'ok' : 'onion-client-auth-wrong'))
    const authorized: string[] = []
    const connector = new PeerConnector({ libp2p, table, virtualPort: 443, authorizeShard: async (onion) => void authorized.push(serviceIdOf(onion)) })
    await connector.dial(peer)
    expect(dialed).toEqual([ids[0], ids[1], ids[2]])
    expect(authorized).toEqual([ids[1], ids[2]])
    dialed.length = 0
    await connector.dial(peer)
    expect(dialed).toEqual([ids[2]])
  })

  it('looks at the allow-list once for a burst of dialSoon (a batch add), and dials no more than its concurrency', async () => {
    const table = allowList()
    const peers = addPeers(table, 50)
    const { libp2p, dialed } = libp2pDouble(() => 'onion-descriptor-not-found')
    const connector = new PeerConnector({ libp2p, table, virtualPort: 443, concurrency: 2, tickMs: 60_000 })
    connector.start()
    try {
      await new Promise((resolve) => setImmediate(resolve))
      const list = vi.spyOn(table, 'list')
      dialed.length = 0
      for (const peer of peers) connector.dialSoon(peer.peerId)
      await new Promise((resolve) => setImmediate(resolve))
      expect(list).toHaveBeenCalledTimes(1)
      expect(dialed.length).toBeLessThanOrEqual(2)
    } finally {
      connector.stop()
    }
  })
})
