/**
 * Log replication over real onion services on the private Tor network.
 * The leak guard watches the whole file: Burrow's process opens no socket to
 * anything but loopback and makes no DNS query.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex, type LogId } from '../../src/log/index.js'
import { SYNC_PROTOCOL, encodeFrame, findOnionDialError } from '../../src/net/index.js'
import { installLeakGuard, type LeakGuard } from '../helpers/leak-guard.js'
import { TestAuthor } from '../helpers/logs.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'

function hashes(stack: NetStack, topic: LogId): string[] {
  const out: string[] = []
  for (const [author] of stack.logs.heights(topic)) {
    for (const op of stack.logs.operationsAfter(Buffer.from(author, 'hex'), topic, -1, 1_000_000)) out.push(toHex(op.hash))
  }
  return out.sort()
}

function connected(a: NetStack, b: NetStack): boolean {
  return a.net.libp2p.getConnections().some((c) => c.remotePeer.toString() === b.peerId && c.status === 'open')
}

describe('sync over onion services', () => {
  const topic = randomBytes(32)
  let guard: LeakGuard
  let a: NetStack
  let b: NetStack
  let c: NetStack

  beforeAll(async () => {
    guard = installLeakGuard()
    ;[a, b, c] = await Promise.all([startNetStack('a', [topic]), startNetStack('b', [topic]), startNetStack('c', [topic])])
  })

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop(), c?.stop()])
    guard?.restore()
  })

  it('replicates 1,000 operations in both directions, then pushes new ones live', async () => {
    a.append(topic, 1_000)
    b.append(topic, 1_000)
    await Promise.all([a.allow(b), b.allow(a)])
    await until(() => a.logs.counts().operations === 2_000 && b.logs.counts().operations === 2_000, 120_000, 'both sides to hold 2,000 operations')
    expect(hashes(a, topic)).toEqual(hashes(b, topic))

    const started = Date.now()
    const fresh = a.append(topic, 3)
    await until(() => b.logs.getByHash(fresh[2]!.hash) !== undefined, 30_000, 'the live push')
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(b.table.get(a.peerId)?.lastSeen).toBeGreaterThan(0)
  })

  it('reopens sync on a connection that stays up after its session ended', async () => {
    const connections = a.net.libp2p.getConnections().filter((c) => c.remotePeer.toString() === b.peerId)
    expect(connections.length).toBeGreaterThan(0)
    // A reset stream, or the peer ending the session, leaves the connection up: the dialer must open sync again.
    for (const c of connections) for (const s of c.streams) if (s.protocol === SYNC_PROTOCOL) s.abort(new Error('a stream reset'))
    await until(() => a.net.libp2p.getConnections().every((c) => c.remotePeer.toString() !== b.peerId || c.streams.every((s) => s.protocol !== SYNC_PROTOCOL)), 5_000, 'the sync streams to end')
    const fresh = a.append(topic, 2)
    await until(() => b.logs.getByHash(fresh[1]!.hash) !== undefined, 30_000, 'sync to resume on the open connection')
    expect(connections.some((c) => c.status === 'open')).toBe(true)
  })

  it('refuses a node that is not on the list: first tor (client auth), then the gater', async () => {
    // C knows A's card, but A has not authorized C's client-auth key: tor refuses.
    await c.allow(a)
    await until(() => c.table.get(a.peerId)?.lastError !== undefined, 60_000, "C's failed dial to be recorded")
    expect(c.table.get(a.peerId)?.lastError?.code).toBe('onion-client-auth-missing')

    // Now A's onion service lets C's key in at the tor level, but C is still not on A's allow-list:
    // the connection reaches libp2p and A's gater refuses it after the Noise handshake.
    c.append(topic, 5)
    const asked: string[] = []
    const isAllowed = a.table.isAllowed.bind(a.table)
    a.table.isAllowed = (peer: string) => {
      asked.push(peer)
      return isAllowed(peer)
    }
    await a.onion.setAuthorizedClients([...a.table.list().map((p) => p.clientAuthKey), c.keys.clientAuth.publicKey])
    c.connector.dialSoon(a.peerId)
    await until(() => asked.includes(c.peerId), 90_000, "A's gater to be asked about C")
    await new Promise((r) => setTimeout(r, 2_000))
    expect(connected(a, c)).toBe(false)
    expect(a.logs.heights(topic).has(toHex(c.keys.identity.publicKey))).toBe(false)
    a.table.isAllowed = isAllowed
    await a.onion.setAuthorizedClients(a.table.list().map((p) => p.clientAuthKey))
  })

  it('cuts off a peer that sends malformed frames or forged operations, keeping the good data', async () => {
    const count = a.logs.counts().operations
    await until(() => connected(b, a), 60_000, 'B connected to A')
    // A peer holds at most two sync sessions: B's own end their sessions first, so that its raw stream is one A accepts.
    await b.sync.stop()
    await until(() => a.sync.sessionsWith(b.peerId) === 0, 30_000, "A's sessions with B to end")
    const toA = b.net.libp2p.getConnections().find((x) => x.remotePeer.toString() === a.peerId)!
    const stream = await toA.newStream(SYNC_PROTOCOL)
    // A validly framed `ops` frame whose operation (by an author nobody has
    // seen, never stored anywhere) has a broken signature.
    const forger = new TestAuthor()
    const forged = forger.next(topic)
    const bad = forged.headerBytes.slice()
    bad[bad.length - 1]! ^= 0x01
    stream.send(encodeFrame({ type: 'ops', logId: topic, ops: [{ header: bad, payload: forged.payload ?? null }] }))
    await until(() => a.table.get(b.peerId)?.lastError?.code === 'SYNC_PROTOCOL', 30_000, "A to record B's protocol error")
    expect(a.logs.heights(topic).has(toHex(forger.publicKey))).toBe(false)
    expect(a.logs.counts().operations).toBeGreaterThanOrEqual(count)
    expect(hashes(a, topic)).toContain(hashes(b, topic)[0])
    await b.sync.start()
  })

  it('a removed peer can no longer connect', async () => {
    await until(() => connected(a, b) || connected(b, a), 90_000, 'A and B to reconnect')
    await a.forbid(b)
    await until(() => !connected(a, b) && !connected(b, a), 30_000, 'the connection to close')
    b.connector.dialSoon(a.peerId)
    const before = b.table.get(a.peerId)?.lastError?.at ?? 0
    await until(() => (b.table.get(a.peerId)?.lastError?.at ?? 0) > before, 90_000, "B's dial to fail")
    const err = b.table.get(a.peerId)?.lastError
    // 0xF4 or 0xF5 depending on whether B still holds A's previous descriptor.
    expect(['onion-client-auth-missing', 'onion-client-auth-wrong']).toContain(err?.code)
    expect(connected(a, b)).toBe(false)
  })

  it('opened no socket to anything but loopback and made no DNS query', () => {
    expect(guard.nonLoopback()).toEqual([])
    expect(guard.dnsLookups()).toEqual([])
    expect(findOnionDialError(undefined)).toBeUndefined()
  })
})
