/**
 * The networking half of a Burrow node, without groups: tor, onion service
 * with client authorization, libp2p, the allow-list, sync of one shared test
 * topic, and the peer connector. For testing `net/` on the private Tor
 * network with raw logs (the product composes the same parts in `node/`).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { createContactCard, deriveNodeKeys, type ContactCard, type NodeKeys } from '../../src/keys/index.js'
import { createOperation, toHex, type LogId, type Operation } from '../../src/log/index.js'
import { AddressTable, PeerConnector, SyncManager, createBurrowLibp2p, peerIdOfIdentityKey, type BurrowLibp2p } from '../../src/net/index.js'
import { LogStore, PeerStore, openDatabase, type Database } from '../../src/store/index.js'
import { syncStore } from '../../src/node/wiring.js'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { OnionClientAuth, OnionService, Tor } from '../../src/tor/index.js'
import { traceLogger, traceTorrcLines } from './trace.js'

export const TEST_PORT = 443

export interface NetStack {
  name: string
  keys: NodeKeys
  peerId: string
  card: ContactCard
  db: Database
  logs: LogStore
  table: AddressTable
  tor: Tor
  net: BurrowLibp2p
  onion: OnionService
  clientAuth: OnionClientAuth
  sync: SyncManager
  connector: PeerConnector
  /** Appends `count` operations to this node's own log of `topic` and offers them to peers. */
  append(topic: LogId, count: number, payloadBytes?: number): Operation[]
  /** Allow-lists a peer the way Burrow does: table, onion service clients, our key for its onion, dial. */
  allow(other: NetStack | ContactCard): Promise<void>
  /** Removes a peer the way Burrow does. */
  forbid(other: NetStack): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts a stack whose sync shares `topics` with every allow-listed peer.
 * `torLines` join its tor to a private network; by default the test suite's
 * (read through vitest's `inject`, so benchmarks pass their own). `database`
 * names a database file to start from (copied).
 */
export async function startNetStack(name: string, topics: LogId[], options: { torLines?: string[]; database?: string } = {}): Promise<NetStack> {
  const torLines = options.torLines ?? (await import('./tor.js')).testnetLines()
  const dir = mkdtempSync(join(tmpdir(), `burrow-${name}-`))
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true })
  // A copy of a prepared store (a benchmark's fixture), so that the stack starts holding its operations.
  if (options.database !== undefined) copyFileSync(options.database, join(dir, 'burrow.db'))
  const keys = deriveNodeKeys(randomBytes(32))
  const peerId = peerIdOfIdentityKey(keys.identity.publicKey)
  const db = openDatabase(join(dir, 'burrow.db'))
  const logs = new LogStore(db)
  const table = new AddressTable(new PeerStore(db), peerId)
  const tor = Tor.managed({ dataDir: join(dir, 'tor'), extraTorrcLines: [...torLines, ...traceTorrcLines(name)], bootstrap: { stallMs: 60_000, timeoutMs: 120_000 } })
  await tor.start()
  const net = await createBurrowLibp2p({
    identitySeed: keys.identity.seed,
    onionAddress: keys.onionAddress,
    virtualPort: TEST_PORT,
    listenPath: join(dir, 'onion.sock'),
    socks: () => tor.socksEndpoint,
    allowList: table,
  })
  const onion = new OnionService(tor, {
    seed: keys.onionServiceSeed,
    virtualPort: TEST_PORT,
    target: { path: net.listenPath },
    ownClientAuth: keys.clientAuth,
  })
  await onion.publish()
  const clientAuth = new OnionClientAuth(tor)
  const shared = new Set(topics.map(toHex))
  const sync = new SyncManager({
    libp2p: net.libp2p,
    // As the node composes it (node/wiring.ts): peers' operations commit without an fsync.
    store: syncStore(logs, db, keys.identity.publicKey),
    table,
    policy: { sharedLogs: (peer) => (table.isAllowed(peer) ? topics : []), mayShare: (peer, logId) => table.isAllowed(peer) && shared.has(toHex(logId)) },
  })
  await sync.start()
  const trace = traceLogger(name)
  if (trace !== undefined) {
    net.libp2p.addEventListener('connection:open', (e) => trace.info({ direction: e.detail.direction, id: e.detail.id }, 'connection open'))
    net.libp2p.addEventListener('connection:close', (e) => trace.info({ direction: e.detail.direction, id: e.detail.id }, 'connection closed'))
    sync.on('session', ({ state, error }) => trace.info({ state, error: error?.message }, 'sync session'))
  }
  const connector = new PeerConnector({ libp2p: net.libp2p, table, virtualPort: TEST_PORT, backoffBaseMs: 500, backoffMaxMs: 5_000, logger: trace })
  connector.start()
  const signer = { publicKey: keys.identity.publicKey, sign: (m: Uint8Array) => keys.sign(m) }

  const stack: NetStack = {
    name,
    keys,
    peerId,
    card: createContactCard(keys, name),
    db,
    logs,
    table,
    tor,
    net,
    onion,
    clientAuth,
    sync,
    connector,
    append(topic, count, payloadBytes = 100) {
      const height = logs.heights(topic).get(toHex(keys.identity.publicKey))
      let tip = height === undefined ? undefined : logs.operationsAfter(keys.identity.publicKey, topic, height - 1, 1)[0]
      const ops: Operation[] = []
      for (let i = 0; i < count; i++) {
        const op = createOperation({ signer, logId: topic, seq: tip === undefined ? 0 : tip.header.seq + 1, backlink: tip?.hash ?? null, payload: randomBytes(payloadBytes) })
        ops.push(op)
        tip = op
      }
      logs.ingest(ops)
      sync.offer(ops)
      return ops
    },
    async allow(other) {
      const card = 'card' in other ? other.card : other
      const record = table.add(card)
      await onion.setAuthorizedClients(table.list().map((p) => p.clientAuthKey))
      await clientAuth.add(card.onionAddress, keys.clientAuth.privateKey)
      connector.dialSoon(record.peerId)
    },
    async forbid(other) {
      const record = table.remove(other.peerId)
      await net.libp2p.hangUp(peerIdFromString(record.peerId)).catch(() => {})
      await clientAuth.remove(record.onion)
      await onion.setAuthorizedClients(table.list().map((p) => p.clientAuthKey))
    },
    async stop() {
      connector.stop()
      await sync.stop()
      await onion.remove().catch(() => {})
      await clientAuth.close().catch(() => {})
      await net.libp2p.stop()
      await tor.stop()
      db.close()
      cleanup()
    },
  }
  return stack
}

/** Polls `check` every 100 ms until it is true; throws after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
