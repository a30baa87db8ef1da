/**
 * libp2p over real onion services on the suite's private Tor network: three
 * nodes, each with its own tor, identity and client-auth keys.
 *
 * - A and B publish onion services with client authorization and authorize
 *   each other (and A also authorizes C's key); each registers its own key
 *   for the other's onion.
 * - A's allow-list holds B only; B's holds A; C's holds A and B.
 * The leak guard watches the whole file: no DNS query, no connection to
 * anything but loopback.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Connection, Stream, StreamHandler } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBurrowLibp2p, findOnionDialError, type BurrowLibp2p } from '../../src/net/index.js'
import { OnionClientAuth, OnionService, clientAuthKeyPairFromSeed, onionAddressFromSeed, type ClientAuthKeyPair, type Tor } from '../../src/tor/index.js'
import { installLeakGuard, type LeakGuard } from '../helpers/leak-guard.js'
import { networkProtocolsOf } from '../helpers/multiaddr.js'
import { listeningTcpSockets } from '../helpers/proc-net.js'
import { tempDir, testTor } from '../helpers/tor.js'

const ECHO = '/burrow/test-echo/1'
const VIRTUAL_PORT = 9735
const DIAL_BUDGET_MS = 90_000
const STREAM_WAIT_MS = 30_000

interface Peer {
  name: string
  tor: Tor
  onionSeed: Uint8Array
  clientAuth: ClientAuthKeyPair
  node: BurrowLibp2p
  /** Peer ids this node allows; filled once every node exists. */
  allowed: Set<string>
  /** Peer ids its allow-list was asked about. */
  asked: string[]
  /** Connections its echo handler served. */
  served: Connection[]
  service?: OnionService
  clientAuthRegistry: OnionClientAuth
}

/** Dials `target` for `protocol`, retrying what tor calls transient (e.g. a descriptor not yet fetched), within a bounded budget. */
async function dialProtocolWithRetry(from: BurrowLibp2p, target: Multiaddr, protocol: string): Promise<Stream> {
  const deadline = Date.now() + DIAL_BUDGET_MS
  for (let attempt = 1; ; attempt++) {
    try {
      return await from.libp2p.dialProtocol(target, protocol, { signal: AbortSignal.timeout(Math.max(1_000, deadline - Date.now())) })
    } catch (err) {
      const failure = findOnionDialError(err)
      if (failure?.retryable !== true || Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * attempt, 4_000)))
    }
  }
}

/** Sends `text` on a fresh echo stream, half-closes, and reads everything back. */
async function echoOnce(stream: Stream, text: string): Promise<string> {
  stream.send(new TextEncoder().encode(text))
  await stream.close({ signal: AbortSignal.timeout(STREAM_WAIT_MS) })
  let received = ''
  const reading = (async () => {
    for await (const chunk of stream) received += Buffer.from(chunk.subarray()).toString('utf8')
  })()
  await Promise.race([reading, rejectAfter(STREAM_WAIT_MS, 'echo reply')])
  return received
}

/** Round trips of one byte on an open echo stream; returns each RTT in ms. */
async function pingPong(stream: Stream, rounds: number): Promise<number[]> {
  const replies = stream[Symbol.asyncIterator]()
  const rtts: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    stream.send(Uint8Array.of(i))
    const next = await Promise.race([replies.next(), rejectAfter(STREAM_WAIT_MS, 'echo byte')])
    if (next.done === true) throw new Error('the echo stream ended early')
    rtts.push(performance.now() - started)
  }
  await stream.close({ signal: AbortSignal.timeout(STREAM_WAIT_MS) })
  return rtts
}

function rejectAfter(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms).unref())
}

async function eventually(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

describe('libp2p over onion services on the private Tor network', () => {
  let guard: LeakGuard
  const cleanups: (() => void)[] = []
  const peers: Peer[] = []
  let a: Peer
  let b: Peer
  let c: Peer

  async function peer(name: string): Promise<Peer> {
    const { dir, cleanup } = tempDir(`net-${name}`)
    cleanups.push(cleanup)
    const tor = testTor(dir)
    await tor.start()
    const onionSeed = randomBytes(32)
    const allowed = new Set<string>()
    const asked: string[] = []
    const served: Connection[] = []
    const echo: StreamHandler = async (stream, connection) => {
      served.push(connection)
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }
    const node = await createBurrowLibp2p({
      identitySeed: randomBytes(32),
      onionAddress: onionAddressFromSeed(onionSeed),
      virtualPort: VIRTUAL_PORT,
      listenPath: join(dir, 'onion.sock'),
      socks: () => tor.socksEndpoint,
      allowList: {
        isAllowed: (peerId) => {
          asked.push(peerId)
          return allowed.has(peerId)
        },
      },
      protocols: { [ECHO]: echo },
    })
    const created: Peer = {
      name,
      tor,
      onionSeed,
      clientAuth: clientAuthKeyPairFromSeed(randomBytes(32)),
      node,
      allowed,
      asked,
      served,
      clientAuthRegistry: new OnionClientAuth(tor),
    }
    peers.push(created)
    return created
  }

  /** Publishes `p`'s onion service (client auth on) for the given clients and waits until it answers. */
  async function publish(p: Peer, clients: Peer[]): Promise<void> {
    p.service = new OnionService(p.tor, {
      seed: p.onionSeed,
      virtualPort: VIRTUAL_PORT,
      target: { path: p.node.listenPath },
      ownClientAuth: p.clientAuth,
      authorizedClients: clients.map((client) => client.clientAuth.publicKey),
    })
    await p.service.publish()
    await p.service.selfCheck({ timeoutMs: 60_000 })
  }

  beforeAll(async () => {
    guard = installLeakGuard()
    ;[a, b, c] = await Promise.all([peer('a'), peer('b'), peer('c')])
    a.allowed.add(b.node.peerId.toString())
    b.allowed.add(a.node.peerId.toString())
    c.allowed.add(a.node.peerId.toString())
    c.allowed.add(b.node.peerId.toString())
    // C holds a valid client-auth key for A (tor lets it in), but A's allow-list does not know C.
    await Promise.all([publish(a, [b, c]), publish(b, [a])])
    await a.clientAuthRegistry.add(onionAddressFromSeed(b.onionSeed), a.clientAuth.privateKey)
    await b.clientAuthRegistry.add(onionAddressFromSeed(a.onionSeed), b.clientAuth.privateKey)
    await c.clientAuthRegistry.add(onionAddressFromSeed(a.onionSeed), c.clientAuth.privateKey)
  })

  afterAll(async () => {
    await Promise.allSettled(peers.map((p) => p.node.libp2p.stop()))
    await Promise.allSettled(peers.map((p) => p.service?.remove()))
    await Promise.allSettled(peers.map((p) => p.clientAuthRegistry.close()))
    await Promise.allSettled(peers.map((p) => p.tor.stop()))
    for (const cleanup of cleanups) cleanup()
    guard?.restore()
  })

  it('A dials B by /onion3/…/p2p/<B> and they exchange bytes on a custom protocol', async () => {
    const started = performance.now()
    const stream = await dialProtocolWithRetry(a.node, b.node.multiaddr, ECHO)
    const firstStreamMs = performance.now() - started
    const rtts = await pingPong(stream, 20)
    expect(await echoOnce(await a.node.libp2p.dialProtocol(b.node.multiaddr, ECHO), 'hello B, from A')).toBe('hello B, from A')

    const conn = a.node.libp2p.getConnections(b.node.peerId)[0]
    expect(conn?.remoteAddr.toString()).toBe(b.node.multiaddr.toString())
    // B never sees 127.0.0.1 for A: only the fixed "unknown onion" placeholder and A's peer id.
    const served = b.served.find((s) => s.remotePeer.equals(a.node.peerId))
    expect(served && networkProtocolsOf(served.remoteAddr)).toEqual([])
    // Issue 19 item 6: the onion service forwards to a unix socket; nothing here listens on TCP.
    expect(listeningTcpSockets(process.pid)).toEqual([])
    console.log(`[net] A→B: dial to first stream open ${firstStreamMs.toFixed(0)} ms; echo RTT median ${median(rtts).toFixed(1)} ms, max ${Math.max(...rtts).toFixed(1)} ms (20 rounds)`)
  })

  it('B dials A through tor too (after both hang up) and bytes flow both ways', async () => {
    await a.node.libp2p.hangUp(b.node.peerId)
    await eventually(() => b.node.libp2p.getConnections(a.node.peerId).length === 0, 30_000, 'B notices the hang-up')
    const started = performance.now()
    const stream = await dialProtocolWithRetry(b.node, a.node.multiaddr, ECHO)
    const firstStreamMs = performance.now() - started
    expect(await echoOnce(stream, 'hello A, from B')).toBe('hello A, from B')
    expect(b.node.libp2p.getConnections(a.node.peerId).some((conn) => conn.direction === 'outbound')).toBe(true)
    // And A opens a stream on the connection B dialed.
    expect(await echoOnce(await a.node.libp2p.dialProtocol(b.node.peerId, ECHO, { signal: AbortSignal.timeout(STREAM_WAIT_MS) }), 'and back')).toBe('and back')
    console.log(`[net] B→A: dial to first stream open ${firstStreamMs.toFixed(0)} ms`)
  })

  it("refuses C at A's gater although tor lets C in: the connection closes and A's handler never runs for C", async () => {
    const askedBefore = a.asked.length
    const outcome = await dialProtocolWithRetry(c.node, a.node.multiaddr, ECHO).then(
      async (stream) => echoOnce(stream, 'let me in').then((text) => ({ text }), (err: unknown) => ({ err })),
      (err: unknown) => ({ err }),
    )
    expect('text' in outcome && outcome.text === 'let me in').toBe(false)
    // A got as far as Noise (it learned C's peer id) and its allow-list said no.
    expect(a.asked.slice(askedBefore)).toContain(c.node.peerId.toString())
    expect(a.served.some((conn) => conn.remotePeer.equals(c.node.peerId))).toBe(false)
    expect(a.node.libp2p.getConnections(c.node.peerId)).toHaveLength(0)
    await eventually(() => c.node.libp2p.getConnections(a.node.peerId).length === 0, 30_000, "C's connection to A closes")
  })

  it("reports tor's reason when our client-auth key is missing: 'onion-client-auth-missing'", async () => {
    const err = await dialProtocolWithRetry(c.node, b.node.multiaddr, ECHO).then(
      () => undefined,
      (e: unknown) => e,
    )
    const failure = findOnionDialError(err)
    expect(failure?.reason).toBe('onion-client-auth-missing')
    expect(failure?.retryable).toBe(false)
    expect(failure?.code).toBe('ONION_DIAL_FAILED')
  })

  it('made no DNS query and no connection to anything but loopback during the whole file', () => {
    expect(guard.dnsLookups()).toEqual([])
    expect(guard.nonLoopback()).toEqual([])
    expect(guard.connections().length).toBeGreaterThan(0)
  })
})
