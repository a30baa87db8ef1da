/**
 * A node with 1,000 allow-listed peers on the private Tor network: more
 * client-auth keys than one onion descriptor holds, spread over onion shards.
 * Three real peers hold keys at positions 0, 500 and 999 of the allow-list
 * (shards 0, 1 and 3); each reaches the node by itself (the node cannot dial
 * them: their own services do not carry its key). Prints the figures
 * docs/performance.md quotes.
 */
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createContactCard, deriveNodeKeys, encodeContactCard } from '../../src/keys/index.js'
import { createLogger } from '../../src/logging.js'
import { PeerConnector, type PeerRecord } from '../../src/net/index.js'
import { Burrow, MAX_PEERS } from '../../src/node/index.js'
import { onionShardAddress, serviceIdOf } from '../../src/tor/index.js'
import { startNetStack, TEST_PORT, type NetStack } from '../helpers/net-stack.js'
import { tempDir } from '../helpers/tor.js'

function fakeCards(count: number): string[] {
  return Array.from({ length: count }, () => {
    const keys = deriveNodeKeys(randomBytes(32))
    return encodeContactCard(createContactCard(keys), keys)
  })
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('1,000 allow-listed peers', () => {
  let hub: Burrow
  let cleanup: () => void
  const peers: NetStack[] = []
  const logLines: { msg?: string; services?: number; changed?: number }[] = []

  beforeAll(async () => {
    const dir = tempDir('node-hub')
    cleanup = dir.cleanup
    await Burrow.init(dir.dir)
    const capture = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line) as (typeof logLines)[number])
        done()
      },
    })
    hub = await Burrow.open({ dataDir: dir.dir, displayName: 'hub', tor: { mode: 'managed', testnet: inject('testnetDir') }, logger: createLogger({ level: 'info' }, capture) })
    peers.push(...(await Promise.all(['p0', 'p500', 'p999'].map((name) => startNetStack(name, [])))))
    for (const p of peers) p.connector.stop()
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled([hub?.stop(), ...peers.map((p) => p.stop())])
    cleanup?.()
  })

  it('publishes 4 onion services for 1,000 keys, and peers at the start, middle and end each reach the node', async () => {
    const [p0, p500, p999] = peers as [NetStack, NetStack, NetStack]
    const card = (p: NetStack): string => encodeContactCard(p.card, p.keys)
    // Separate calls at separate milliseconds: the allow-list's order is the order of addition.
    await hub.addPeers([card(p0)])
    await pause(5)
    await hub.addPeers(fakeCards(499))
    await pause(5)
    await hub.addPeers([card(p500)])
    await pause(5)
    await hub.addPeers(fakeCards(498))
    await pause(5)
    await hub.addPeers([card(p999)])
    expect(hub.peers()).toHaveLength(1_000)

    const started = Date.now()
    await hub.start()
    const startMs = Date.now() - started
    const sync = logLines.find((l) => l.msg === 'onion services in step with the allow-list')
    expect(sync?.services).toBe(4)
    console.log(`[many-peers] start with 1,000 peers to our onion reachable: ${startMs} ms, ${sync?.services} onion services published`)

    const hubCard = createContactCard(hub.keys, 'hub')
    const expected: [NetStack, number][] = [[p0, 0], [p500, 1], [p999, 3]]
    for (const [p, shard] of expected) {
      // The peer knows the hub's card only; its own service does not carry the hub's key.
      const record: PeerRecord = p.table.add(hubCard)
      await p.clientAuth.add(hubCard.onionAddress, p.keys.clientAuth.privateKey)
      const connector = new PeerConnector({
        libp2p: p.net.libp2p,
        table: p.table,
        virtualPort: TEST_PORT,
        authorizeShard: (onion) => p.clientAuth.add(onion, p.keys.clientAuth.privateKey),
      })
      const dialStarted = Date.now()
      const connection = await connector.connect(record, { budgetMs: 90_000 })
      expect(connection.direction).toBe('outbound')
      expect(connection.status).toBe('open')
      expect(connection.remoteAddr.toString()).toContain(serviceIdOf(onionShardAddress(hub.onionAddress, shard)))
      console.log(`[many-peers] ${p.name} reached the hub on shard ${shard} in ${Date.now() - dialStarted} ms`)
    }
  }, 600_000)

  it('adds 100 cards in one batch with one re-publication of the last shard, and refuses to pass the limit up front', async () => {
    const before = logLines.length
    const started = Date.now()
    await hub.addPeers(fakeCards(100))
    const batchMs = Date.now() - started
    const syncs = logLines.slice(before).filter((l) => l.msg === 'onion services in step with the allow-list')
    expect(syncs).toHaveLength(1)
    expect(syncs[0]?.changed).toBe(1)
    expect(syncs[0]?.services).toBe(4)
    expect(logLines.slice(before).filter((l) => l.msg === 'onion service published')).toHaveLength(1)
    console.log(`[many-peers] batch add of 100 cards (1,100 peers): ${batchMs} ms, ${syncs[0]?.changed} service re-published`)

    const over = fakeCards(MAX_PEERS - 1_100 + 1)
    await expect(hub.addPeers(over)).rejects.toMatchObject({ code: 'NODE_PEER_LIMIT' })
    expect(hub.peers()).toHaveLength(1_100)
  }, 300_000)
})
