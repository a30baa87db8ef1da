import { randomBytes } from 'node:crypto'
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { allowListGater, onionMultiaddr, peerIdFromIdentitySeed, UNATTRIBUTED_INBOUND_ADDR } from '../../src/net/index.js'
import { onionAddressFromSeed } from '../../src/tor/onion-keys.js'

const [self, friend, stranger] = await Promise.all([0, 1, 2].map(async () => peerIdFromIdentitySeed(randomBytes(32))))
const onion = onionAddressFromSeed(randomBytes(32))
// The gater never looks at the connection object, only at the peer.
const maConn = {} as MultiaddrConnection

function gaterAllowing(...peers: PeerId[]): ConnectionGater {
  const allowed = new Set(peers.map(String))
  return allowListGater({ allowList: { isAllowed: (id) => allowed.has(id) }, self: self! })
}

describe('allow-list gater', () => {
  const gater = gaterAllowing(friend!)

  it('denies dialing and connecting with peers not on the list, in every phase', async () => {
    for (const check of [
      gater.denyDialPeer?.(stranger!),
      gater.denyOutboundConnection?.(stranger!, maConn),
      gater.denyInboundEncryptedConnection?.(stranger!, maConn),
      gater.denyOutboundEncryptedConnection?.(stranger!, maConn),
      gater.denyInboundUpgradedConnection?.(stranger!, maConn),
      gater.denyOutboundUpgradedConnection?.(stranger!, maConn),
    ]) {
      expect(await check).toBe(true)
    }
  })

  it('lets listed peers through in every phase', async () => {
    for (const check of [
      gater.denyDialPeer?.(friend!),
      gater.denyOutboundConnection?.(friend!, maConn),
      gater.denyInboundEncryptedConnection?.(friend!, maConn),
      gater.denyOutboundEncryptedConnection?.(friend!, maConn),
      gater.denyInboundUpgradedConnection?.(friend!, maConn),
      gater.denyOutboundUpgradedConnection?.(friend!, maConn),
    ]) {
      expect(await check).toBe(false)
    }
  })

  it('has no opinion before Noise: an inbound connection is anonymous until then', () => {
    expect(gater.denyInboundConnection).toBeUndefined()
  })

  it('dials onion multiaddrs only, and only to listed peers when the address names one', async () => {
    expect(await gater.denyDialMultiaddr?.(onionMultiaddr(onion, 80))).toBe(false)
    expect(await gater.denyDialMultiaddr?.(onionMultiaddr(onion, 80, friend))).toBe(false)
    expect(await gater.denyDialMultiaddr?.(onionMultiaddr(onion, 80, stranger))).toBe(true)
    for (const other of [`/ip4/127.0.0.1/tcp/80/p2p/${friend!.toString()}`, '/ip4/10.0.0.1/tcp/80', '/dns4/example.com/tcp/443', UNATTRIBUTED_INBOUND_ADDR.toString()]) {
      expect(await gater.denyDialMultiaddr?.(multiaddr(other))).toBe(true)
    }
  })

  it('refuses every relay', async () => {
    expect(await gater.denyInboundRelayReservation?.(friend!)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(friend!, friend!)).toBe(true)
    expect(await gater.denyInboundRelayedConnection?.(friend!, friend!)).toBe(true)
  })

  it('keeps onion addresses of listed peers and of the node itself in the peer store, nothing else', async () => {
    const ma = onionMultiaddr(onion, 80)
    expect(await gater.filterMultiaddrForPeer?.(friend!, ma)).toBe(true)
    expect(await gater.filterMultiaddrForPeer?.(self!, ma)).toBe(true)
    expect(await gater.filterMultiaddrForPeer?.(stranger!, ma)).toBe(false)
    expect(await gater.filterMultiaddrForPeer?.(friend!, multiaddr('/ip4/127.0.0.1/tcp/80'))).toBe(false)
    expect(await gater.filterMultiaddrForPeer?.(self!, multiaddr('/ip4/127.0.0.1/tcp/80'))).toBe(false)
  })

  it('follows changes of the list at once', async () => {
    const allowed = new Set<string>()
    const live = allowListGater({ allowList: { isAllowed: (id) => allowed.has(id) }, self: self! })
    expect(await live.denyInboundEncryptedConnection?.(friend!, maConn)).toBe(true)
    allowed.add(friend!.toString())
    expect(await live.denyInboundEncryptedConnection?.(friend!, maConn)).toBe(false)
    allowed.clear()
    expect(await live.denyDialPeer?.(friend!)).toBe(true)
  })

  it('fails closed when the allow-list throws', async () => {
    const broken = allowListGater({
      allowList: {
        isAllowed: () => {
          throw new Error('database is locked')
        },
      },
      self: self!,
    })
    expect(await broken.denyInboundEncryptedConnection?.(friend!, maConn)).toBe(true)
    expect(await broken.denyDialPeer?.(friend!)).toBe(true)
    expect(await broken.denyDialMultiaddr?.(onionMultiaddr(onion, 80, friend))).toBe(true)
  })

  it('asks the allow-list with the base58 peer id string', () => {
    const asked: string[] = []
    const recording = allowListGater({ allowList: { isAllowed: (id) => (asked.push(id), false) }, self: self! })
    recording.denyDialPeer?.(friend!)
    expect(asked).toEqual([friend!.toString()])
    expect(asked[0]).toMatch(/^12D3KooW/)
  })
})
