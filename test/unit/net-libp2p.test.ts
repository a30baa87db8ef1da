/**
 * The onion transport, gater and node factory end to end on 127.0.0.1,
 * without tor: a small fake of tor's SOCKS port maps each `.onion` either to
 * a node's unix socket listener (as an onion service would) or to a SOCKS failure
 * reply (as tor's ExtendedErrors would). The real-tor version of these checks
 * is test/integration/net-transport.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { Connection, Stream, StreamHandler } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  OnionDialError,
  TOR_TIMEOUTS,
  UNATTRIBUTED_INBOUND_ADDR,
  burrowLibp2pOptions,
  createBurrowLibp2p,
  findOnionDialError,
  onionMultiaddr,
  parseOnionMultiaddr,
  peerIdFromIdentitySeed,
  request,
  serveRequests,
  type BurrowLibp2p,
} from '../../src/net/index.js'
import { openOptimisticStream } from '../../src/net/multistream.js'
import { serviceIdOf } from '../../src/tor/onion-address.js'
import { onionAddressFromSeed } from '../../src/tor/onion-keys.js'
import { SocksReplyError } from '../../src/tor/socks-errors.js'
import { installLeakGuard, type LeakGuard } from '../helpers/leak-guard.js'
import { networkProtocolsOf } from '../helpers/multiaddr.js'
import { listeningTcpSockets } from '../helpers/proc-net.js'

const ECHO = '/burrow/test-echo/1'
const VIRTUAL_PORT = 9735
const WAIT_MS = 10_000

type Route = { path: string } | { reply: number }

interface FakeSocks {
  endpoint: { host: string; port: number }
  routes: Map<string, Route>
  /** SOCKS usernames (isolation keys) in the order the dials arrived. */
  usernames: string[]
  close(): Promise<void>
}

/** A SOCKS5 server on 127.0.0.1 speaking just enough of tor's dialect: username auth, CONNECT by name, onion reply codes. */
async function fakeTorSocks(): Promise<FakeSocks> {
  const routes = new Map<string, Route>()
  const usernames: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('error', () => {})
    client.on('close', () => sockets.delete(client))
    void handshake(client).catch(() => client.destroy())
  })
  const handshake = async (client: Socket): Promise<void> => {
    const read = bufferedReader(client)
    const [, methodCount = 0] = await read(2)
    const methods = await read(methodCount)
    const auth = methods.includes(0x02)
    client.write(Uint8Array.of(5, auth ? 0x02 : 0x00))
    if (auth) {
      const [, userLength = 0] = await read(2)
      usernames.push((await read(userLength)).toString('utf8'))
      const [passLength = 0] = await read(1)
      await read(passLength)
      client.write(Uint8Array.of(1, 0))
    }
    const [, , , addressType, hostLength = 0] = await read(5)
    if (addressType !== 0x03) throw new Error('expected a host name')
    const host = (await read(hostLength)).toString('ascii')
    await read(2)
    const route = routes.get(host) ?? { reply: 0xf0 }
    const reply = (code: number): Uint8Array => Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0)
    if ('reply' in route) {
      client.end(reply(route.reply))
      return
    }
    const upstream = connect({ path: route.path })
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => sockets.delete(upstream))
    await new Promise<void>((resolve) => upstream.once('connect', resolve))
    client.write(reply(0))
    read.release(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    endpoint: { host: '127.0.0.1', port: address.port },
    routes,
    usernames,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Exact-size reads during the handshake; `release` forwards what was read ahead and hands the socket over. */
function bufferedReader(socket: Socket): ((n: number) => Promise<Buffer>) & { release(to: Socket): void } {
  let buffered = Buffer.alloc(0)
  let wake: (() => void) | undefined
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk])
    wake?.()
  }
  socket.on('data', onData)
  const read = async (n: number): Promise<Buffer> => {
    const deadline = Date.now() + WAIT_MS
    while (buffered.length < n) {
      if (Date.now() > deadline || socket.destroyed) throw new Error('handshake stalled')
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 100)
      })
    }
    const out = buffered.subarray(0, n)
    buffered = buffered.subarray(n)
    return out
  }
  return Object.assign(read, {
    release(to: Socket): void {
      socket.off('data', onData)
      if (buffered.length > 0) to.write(buffered)
    },
  })
}

async function readAll(stream: Stream): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += Buffer.from(chunk.subarray()).toString('utf8')
  return text
}

/** Opens an echo stream, sends `text`, half-closes and reads the answer. */
async function echoThrough(from: BurrowLibp2p, to: BurrowLibp2p, text: string): Promise<string> {
  const stream = await from.libp2p.dialProtocol(to.multiaddr, ECHO, { signal: AbortSignal.timeout(WAIT_MS) })
  stream.send(new TextEncoder().encode(text))
  await stream.close()
  return readAll(stream)
}

/** Polls `condition` every 50 ms, failing after `ms`. */
async function eventually(condition: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('libp2p over the onion transport (fake tor SOCKS on loopback)', () => {
  let guard: LeakGuard
  let socks: FakeSocks
  const nodes: BurrowLibp2p[] = []
  let a: BurrowLibp2p
  let b: BurrowLibp2p
  let c: BurrowLibp2p
  let socketDir: string
  const handled: Record<string, Connection[]> = { a: [], b: [], c: [] }

  /** A node whose echo handler records the connections it served. */
  /** Who each node allows; tests may add to these lists. */
  const allowedBy: Record<string, string[]> = { a: [], b: [], c: [] }
  /** Every peer id each node's allow-list was asked about. */
  const askedBy: Record<string, string[]> = { a: [], b: [], c: [] }

  async function node(name: string, seed: Uint8Array, onionSeed: Uint8Array): Promise<BurrowLibp2p> {
    const allowed = allowedBy[name] ?? []
    const asked = askedBy[name] ?? []
    const served = handled[name] ?? []
    const echo: StreamHandler = async (stream, connection) => {
      served.push(connection)
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }
    const created = await createBurrowLibp2p({
      identitySeed: seed,
      onionAddress: onionAddressFromSeed(onionSeed),
      virtualPort: VIRTUAL_PORT,
      socks: () => socks.endpoint,
      allowList: {
        isAllowed: (peerId) => {
          asked.push(peerId)
          return allowed.includes(peerId)
        },
      },
      protocols: { [ECHO]: echo },
      listenPath: socketPath(),
    })
    nodes.push(created)
    socks.routes.set(onionAddressFromSeed(onionSeed), { path: created.listenPath })
    return created
  }

  /** A fresh socket path in this file's 0700 folder. */
  const socketPath = (): string => join(socketDir, `${randomBytes(4).toString('hex')}.sock`)

  beforeAll(async () => {
    socketDir = mkdtempSync(join(tmpdir(), 'burrow-libp2p-'))
    guard = installLeakGuard()
    socks = await fakeTorSocks()
    a = await node('a', randomBytes(32), randomBytes(32))
    b = await node('b', randomBytes(32), randomBytes(32))
    c = await node('c', randomBytes(32), randomBytes(32))
    // A and B allow each other; C allows A, but A does not allow C.
    allowedBy.a?.push(b.peerId.toString())
    allowedBy.b?.push(a.peerId.toString())
    allowedBy.c?.push(a.peerId.toString())
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.libp2p.stop()))
    await socks?.close()
    guard?.restore()
    rmSync(socketDir, { recursive: true, force: true })
  })

  it('runs on Node 20 thanks to the Promise.withResolvers polyfill', async () => {
    // ES2024 typings are not in this project's lib, hence the cast.
    const P = Promise as unknown as { withResolvers<T>(): { promise: Promise<T>; resolve: (v: T) => void } }
    const { promise, resolve } = P.withResolvers<string>()
    resolve('ok')
    expect(await promise).toBe('ok')
  })

  it('derives the PeerId from the identity seed and announces only the onion multiaddr', async () => {
    const seed = randomBytes(32)
    const onion = onionAddressFromSeed(randomBytes(32))
    const listenPath = socketPath()
    const n = await createBurrowLibp2p({ identitySeed: seed, onionAddress: onion, virtualPort: 80, listenPath, socks: () => socks.endpoint, allowList: { isAllowed: () => false } })
    nodes.push(n)
    expect(n.peerId.toString()).toBe((await peerIdFromIdentitySeed(seed)).toString())
    expect(n.peerId.type).toBe('Ed25519')
    expect(n.libp2p.getMultiaddrs().map(String)).toEqual([`${onionMultiaddr(onion, 80).toString()}/p2p/${n.peerId.toString()}`])
    expect(n.multiaddr.toString()).toBe(n.libp2p.getMultiaddrs()[0]?.toString())
    expect(n.listenPath).toBe(listenPath)
    expect(statSync(listenPath).isSocket()).toBe(true)
    expect(statSync(listenPath).mode & 0o777).toBe(0o600)
    await n.libp2p.stop()
  })

  it('opens no TCP listener: the node listens on its unix socket only (issue 19 item 6)', async () => {
    const before = listeningTcpSockets(process.pid).map((l) => l.inode)
    const n = await createBurrowLibp2p({
      identitySeed: randomBytes(32),
      onionAddress: onionAddressFromSeed(randomBytes(32)),
      virtualPort: 80,
      listenPath: socketPath(),
      socks: () => socks.endpoint,
      allowList: { isAllowed: () => false },
    })
    nodes.push(n)
    const added = listeningTcpSockets(process.pid).filter((l) => !before.includes(l.inode))
    expect(added).toEqual([])
    await n.libp2p.stop()
  })

  it('refuses to listen in a folder other users may enter, or over a file that is not a socket; replaces a stale socket', async () => {
    const options = { identitySeed: randomBytes(32), onionAddress: onionAddressFromSeed(randomBytes(32)), virtualPort: 80, socks: () => socks.endpoint, allowList: { isAllowed: () => false } }
    const open = join(socketDir, 'open')
    mkdirSync(open)
    chmodSync(open, 0o755)
    await expect(createBurrowLibp2p({ ...options, listenPath: join(open, 'onion.sock') })).rejects.toMatchObject({ code: 'ONION_LISTEN_FAILED' })
    const file = socketPath()
    writeFileSync(file, 'not a socket')
    await expect(createBurrowLibp2p({ ...options, listenPath: file })).rejects.toThrow(/is not a socket/)
    await expect(createBurrowLibp2p({ ...options, listenPath: 'relative.sock' })).rejects.toMatchObject({ code: 'NET_INVALID_OPTIONS' })
    // A socket left by a crashed run (here: a node stopped without unlinking, simulated by a second listen on the same path).
    const path = socketPath()
    const first = await createBurrowLibp2p({ ...options, listenPath: path })
    nodes.push(first)
    const second = await createBurrowLibp2p({ ...options, identitySeed: randomBytes(32), listenPath: path })
    nodes.push(second)
    expect(second.listenPath).toBe(path)
    await Promise.all([first.libp2p.stop(), second.libp2p.stop()])
  })

  it('A dials B by its onion multiaddr and both exchange bytes on a custom protocol, both ways', async () => {
    expect(await echoThrough(a, b, 'hello B')).toBe('hello B')
    expect(await echoThrough(b, a, 'hello A')).toBe('hello A')
    const outbound = a.libp2p.getConnections(b.peerId)
    expect(outbound.some((conn) => conn.direction === 'outbound' && conn.remoteAddr.equals(b.multiaddr))).toBe(true)
    // B's view of A's connection: never 127.0.0.1, only the fixed "unknown onion".
    const served = handled.b?.[0]
    expect(served?.remotePeer.equals(a.peerId)).toBe(true)
    expect(served?.remoteAddr.toString()).toBe(`${UNATTRIBUTED_INBOUND_ADDR.toString()}/p2p/${a.peerId.toString()}`)
    for (const conn of [...a.libp2p.getConnections(), ...b.libp2p.getConnections()]) {
      expect(networkProtocolsOf(conn.remoteAddr)).toEqual([])
    }
  })

  it('sends a request with its protocol proposal in one write and reads the echo, then the answer; a protocol the peer does not serve fails', async () => {
    await serveRequests(b.libp2p, '/test/upper/1', async (_peer, body) => new TextEncoder().encode(new TextDecoder().decode(body).toUpperCase()), { maxRequestBytes: 1024 })
    const answer = await request(a.libp2p, b.peerId, '/test/upper/1', new TextEncoder().encode('key package, please'), { maxResponseBytes: 1024 })
    expect(new TextDecoder().decode(answer)).toBe('KEY PACKAGE, PLEASE')
    // Again on the same connection, and from B's side too (A serves nothing of it: refused).
    expect(new TextDecoder().decode(await request(a.libp2p, b.peerId, '/test/upper/1', new TextEncoder().encode('again'), { maxResponseBytes: 1024 }))).toBe('AGAIN')
    await expect(request(b.libp2p, a.peerId, '/test/upper/1', new TextEncoder().encode('x'), { maxResponseBytes: 1024, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'REQUEST_FAILED' })
    expect(await echoThrough(a, b, 'still fine')).toBe('still fine')
    // The stream came without libp2p's own negotiation: the proposal is ours to send.
    const { stream, proposal } = await openOptimisticStream(a.libp2p.getConnections(b.peerId)[0]!, '/test/upper/1')
    expect(new TextDecoder().decode(proposal)).toContain('/test/upper/1')
    stream.abort(new Error('not needed'))
  })

  it('uses a fresh SOCKS isolation key per dial, derived from the peer onion', async () => {
    const before = socks.usernames.length
    for (const round of ['one', 'two']) {
      await b.libp2p.hangUp(a.peerId)
      await eventually(() => a.libp2p.getConnections(b.peerId).length === 0)
      expect(await echoThrough(b, a, round)).toBe(round)
    }
    const keys = socks.usernames.slice(before)
    expect(keys).toHaveLength(2)
    const serviceId = serviceIdOf(parseOnionMultiaddr(a.multiaddr).address)
    for (const key of keys) expect(key).toContain(serviceId)
    expect(new Set(keys).size).toBe(2)
  })

  it("refuses C after Noise: A's gater denies it and A's handler never runs for C", async () => {
    const servedBefore = handled.a?.length ?? 0
    const askedBefore = askedBy.a?.length ?? 0
    const result = await echoThrough(c, a, 'let me in').then(
      (text) => ({ text }),
      (err: unknown) => ({ err }),
    )
    expect('text' in result && result.text === 'let me in').toBe(false)
    // A learned who C is (after Noise) and asked its allow-list, which said no.
    expect(askedBy.a?.slice(askedBefore)).toContain(c.peerId.toString())
    expect(handled.a?.length ?? 0).toBe(servedBefore)
    expect(handled.a?.some((conn) => conn.remotePeer.equals(c.peerId))).toBe(false)
    expect(a.libp2p.getConnections(c.peerId)).toHaveLength(0)
    await eventually(() => c.libp2p.getConnections(a.peerId).length === 0)
  })

  it('does not dial peers that are not on the allow-list', async () => {
    const dials = socks.usernames.length
    const err = await a.libp2p.dial(c.multiaddr, { signal: AbortSignal.timeout(WAIT_MS) }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).name).toBe('DialDeniedError')
    expect(socks.usernames.length).toBe(dials)
  })

  it("surfaces tor's reason (client auth missing) from what libp2p.dial rejects with", async () => {
    const seed = randomBytes(32)
    const onion = onionAddressFromSeed(randomBytes(32))
    socks.routes.set(onion, { reply: 0xf4 })
    const peerId = await peerIdFromIdentitySeed(seed)
    allowedBy.a?.push(peerId.toString())
    const target = onionMultiaddr(onion, VIRTUAL_PORT, peerId)
    const err = await a.libp2p.dial(target, { signal: AbortSignal.timeout(WAIT_MS) }).then(() => undefined, (e: unknown) => e)
    const failure = findOnionDialError(err)
    expect(failure).toBeInstanceOf(OnionDialError)
    expect(failure?.reason).toBe('onion-client-auth-missing')
    expect(failure?.retryable).toBe(false)
    expect(failure?.cause).toBeInstanceOf(SocksReplyError)
  })

  it('refuses non-onion multiaddrs without opening any socket', async () => {
    // A peer A allows but is not connected to, so libp2p cannot answer with an existing connection.
    const peerId = (await peerIdFromIdentitySeed(randomBytes(32))).toString()
    allowedBy.a?.push(peerId)
    const before = guard.connections().length
    for (const addr of [`/ip4/127.0.0.1/tcp/4001/p2p/${peerId}`, `/dns4/example.com/tcp/443/p2p/${peerId}`, `/onion3/${'a'.repeat(56)}:80/p2p/${peerId}`]) {
      const err = await a.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(WAIT_MS) }).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect((err as Error).name).toBe('NoValidAddressesError')
    }
    expect(guard.connections().length).toBe(before)
  })

  it('sets the Tor-sized options', () => {
    const options = burrowLibp2pOptions({
      privateKey: undefined as never,
      transport: (() => undefined) as never,
      gater: {},
      announce: b.multiaddr,
      listenPath: '/run/burrow/onion.sock',
    })
    expect(options.addresses?.listen).toEqual(['/unix/%2Frun%2Fburrow%2Fonion.sock'])
    expect(options.connectionManager?.resolvers).toEqual({})
    expect(options.peerDiscovery).toEqual([])
    expect(options.services).toEqual({})
    expect(options.nodeInfo?.userAgent).toBe('burrow')
    expect(options.connectionManager?.dialTimeout).toBe(120_000)
    expect(options.connectionManager?.addressDialTimeout).toBe(90_000)
    expect(options.connectionManager?.inboundUpgradeTimeout).toBe(TOR_TIMEOUTS.inboundUpgradeMs)
    expect(options.connectionMonitor?.pingInterval).toBe(60_000)
    expect(options.addresses?.announce).toEqual([b.multiaddr.toString()])
  })

  it('made no DNS query and no connection beyond loopback during the whole file', () => {
    expect(guard.dnsLookups()).toEqual([])
    expect(guard.nonLoopback()).toEqual([])
    expect(guard.connections().length).toBeGreaterThan(0)
  })
})
