import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { base64 } from '@scure/base'
import { describe, expect, it } from 'vitest'
import { assertPeerLimit, assignShards, MAX_PEERS, PEERS_PER_SHARD } from '../../src/node/index.js'
import {
  clientAuthKeyPairFromSeed,
  MAX_CLIENTS_PER_ONION,
  MAX_ONION_SHARDS,
  onionAddressFromPublicKey,
  onionAddressFromSeed,
  OnionService,
  onionServiceKeyBlob,
  onionShardAddress,
  onionShardAddresses,
  onionShardKeyBlob,
  type Tor,
} from '../../src/tor/index.js'

/** The address tor reports for an ADD_ONION key blob: the public key of its scalar (tor reduces it mod ℓ). */
function addressOfBlob(blob: string): string {
  const expanded = base64.decode(blob.slice('ED25519-V3:'.length))
  const scalar = bytesToNumberLE(expanded.subarray(0, 32)) % ed25519.Point.Fn.ORDER
  return onionAddressFromPublicKey(ed25519.Point.BASE.multiply(scalar).toBytes())
}

function peers(count: number, start = 0): { peerId: string; addedAt: number; clientAuthKey: Uint8Array }[] {
  return Array.from({ length: count }, (_, i) => ({ peerId: `peer-${String(start + i).padStart(5, '0')}`, addedAt: 1_000 + start + i, clientAuthKey: randomBytes(32) }))
}

describe('onion shards', () => {
  it('derives shard keys whose addresses anyone holding the card computes, and no two alike', () => {
    const seed = randomBytes(32)
    const own = onionAddressFromSeed(seed)
    expect(onionShardAddress(own, 0)).toBe(own)
    expect(onionShardKeyBlob(seed, 0)).toBe(onionServiceKeyBlob(seed))
    const addresses = onionShardAddresses(own)
    expect(addresses).toHaveLength(MAX_ONION_SHARDS)
    expect(new Set(addresses).size).toBe(MAX_ONION_SHARDS)
    for (let i = 0; i < MAX_ONION_SHARDS; i++) expect(addressOfBlob(onionShardKeyBlob(seed, i))).toBe(addresses[i])
    // Another node's shards have nothing in common with these.
    const other = onionShardAddresses(onionAddressFromSeed(randomBytes(32)))
    expect(other.filter((a) => addresses.includes(a))).toEqual([])
  })

  it('refuses a shard index outside 0..3', () => {
    const seed = randomBytes(32)
    expect(() => onionShardAddress(onionAddressFromSeed(seed), MAX_ONION_SHARDS)).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
    expect(() => onionShardKeyBlob(seed, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
  })

  it('assigns peers in order of addition, 299 to a shard, so an add touches the last shard only', () => {
    const list = peers(1_000)
    const shards = assignShards([...list].reverse())
    expect(shards.map((s) => s.length)).toEqual([299, 299, 299, 103])
    expect(shards[0]?.[0]).toBe(list[0]?.clientAuthKey)
    expect(shards[1]?.[500 - PEERS_PER_SHARD]).toBe(list[500]?.clientAuthKey)
    expect(shards[3]?.at(-1)).toBe(list[999]?.clientAuthKey)

    const grown = assignShards([...list, ...peers(1, 1_000)])
    expect(grown.slice(0, 3)).toEqual(shards.slice(0, 3))
    expect(grown[3]).toHaveLength(104)

    // A removal from shard 0 moves one peer from each later shard one place back.
    const shrunk = assignShards(list.slice(1))
    expect(shrunk.map((s) => s.length)).toEqual([299, 299, 299, 102])
    expect(shrunk[0]?.at(-1)).toBe(list[299]?.clientAuthKey)
    expect(assignShards([])).toEqual([[]])
  })

  it('refuses more peers than the shards carry up front, naming the limit', () => {
    expect(MAX_PEERS).toBe(1_196)
    expect(() => assertPeerLimit(MAX_PEERS)).not.toThrow()
    expect(() => assertPeerLimit(MAX_PEERS + 1)).toThrow(expect.objectContaining({ code: 'NODE_PEER_LIMIT', message: expect.stringContaining('at most 1196 peers') }))
    expect(() => assignShards(peers(MAX_PEERS + 1))).toThrow(expect.objectContaining({ code: 'NODE_PEER_LIMIT' }))
  })

  it('an onion service refuses more client keys than one descriptor holds, before tor is asked', async () => {
    const tor = {} as Tor
    const options = { seed: randomBytes(32), virtualPort: 443, target: { host: '127.0.0.1', port: 9 }, ownClientAuth: clientAuthKeyPairFromSeed(randomBytes(32)) }
    const keys = (n: number): Uint8Array[] => Array.from({ length: n }, () => randomBytes(32))
    expect(() => new OnionService(tor, { ...options, authorizedClients: keys(MAX_CLIENTS_PER_ONION) })).toThrow(
      expect.objectContaining({ code: 'ONION_TOO_MANY_CLIENTS' }),
    )
    const service = new OnionService(tor, { ...options, authorizedClients: keys(MAX_CLIENTS_PER_ONION - 1) })
    await expect(service.setAuthorizedClients(keys(MAX_CLIENTS_PER_ONION))).rejects.toMatchObject({ code: 'ONION_TOO_MANY_CLIENTS' })
  })
})
