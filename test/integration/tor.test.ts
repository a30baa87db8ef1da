import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  OnionClientAuth,
  OnionService,
  SocksReplyError,
  Tor,
  TorError,
  clientAuthKeyPairFromSeed,
  dialOnion,
  type OnionAddress,
} from '../../src/tor/index.js'
import { TimeoutError } from '../../src/errors.js'
import { listeningTcpSockets } from '../helpers/proc-net.js'
import { echoServer, tempDir, testTor } from '../helpers/tor.js'

/** Sends `text` through an onion connection and returns what comes back. */
async function echoThrough(socket: Socket, text: string): Promise<string> {
  socket.write(text)
  let received = ''
  for await (const chunk of socket) {
    received += (chunk as Buffer).toString('utf8')
    if (received.length >= text.length) break
  }
  socket.destroy()
  return received
}

/**
 * Dials with retries for the transient failures right after (re)publication,
 * including a client still holding the old descriptor of a restarted service
 * (its dial can hang until tor gives up on the stale introduction points).
 * Bounded by `timeoutMs`.
 */
async function dialWithRetry(tor: Tor, address: OnionAddress, port: number, timeoutMs = 90_000): Promise<Socket> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await dialOnion({ proxy: tor.socksEndpoint, address, port, isolation: randomBytes(8).toString('hex'), timeoutMs: 10_000 })
    } catch (err) {
      const transient = (err instanceof SocksReplyError && err.retryable) || err instanceof TimeoutError
      if (!transient || Date.now() > deadline) throw err
      // What the node does too: a stale descriptor is replaced by a fresh one.
      await tor.refetchDescriptor(address).catch(() => {})
      await new Promise((r) => setTimeout(r, 1_000))
    }
  }
}

describe('managed tor on the private network', () => {
  const dirs: (() => void)[] = []
  const tors: Tor[] = []
  let service: Tor
  let client: Tor
  let echoPort: number
  let closeEcho: () => void
  let serviceDir: string
  const seed = randomBytes(32)

  beforeAll(async () => {
    const echo = await echoServer()
    echoPort = echo.port
    closeEcho = () => echo.server.close()
    const a = tempDir('svc')
    const b = tempDir('cli')
    serviceDir = a.dir
    dirs.push(a.cleanup, b.cleanup)
    service = testTor(a.dir)
    client = testTor(b.dir)
    tors.push(service, client)
    const progress: number[] = []
    service.on('bootstrap', (p) => progress.push(p.progress))
    await Promise.all([service.start(), client.start()])
    expect(progress.at(-1)).toBe(100)
    expect(service.socksEndpoint).toEqual({ path: `${serviceDir}/socks.sock` })
    expect(service.controlAccess.control).toEqual({ path: `${serviceDir}/control.sock` })
  })

  afterAll(async () => {
    await Promise.all(tors.map((t) => t.stop()))
    closeEcho?.()
    for (const cleanup of dirs) cleanup()
  })

  it('listens on no TCP port: control and SOCKS are unix sockets in its 0700 folder (issue 19 items 2 and 6)', () => {
    for (const tor of [service, client]) expect(listeningTcpSockets(tor.pid!)).toEqual([])
    for (const name of ['control.sock', 'socks.sock']) {
      const stat = statSync(`${serviceDir}/${name}`)
      expect(stat.isSocket()).toBe(true)
      expect(stat.mode & 0o077).toBe(0)
    }
    expect(statSync(serviceDir).mode & 0o777).toBe(0o700)
  })

  it('publishes an onion that passes its self-check and answers another tor client', async () => {
    const onion = new OnionService(service, { seed, virtualPort: 80, target: { host: '127.0.0.1', port: echoPort } })
    await onion.publish()
    const check = await onion.selfCheck({ timeoutMs: 60_000 })
    expect(check.attempts).toBeGreaterThanOrEqual(1)
    const socket = await dialWithRetry(client, onion.address, 80)
    expect(await echoThrough(socket, 'hello through tor')).toBe('hello through tor')
    await onion.remove()
  })

  it('keeps the same address across a tor restart', async () => {
    const { dir, cleanup } = tempDir('restart')
    dirs.push(cleanup)
    const first = testTor(dir)
    await first.start()
    const onion1 = new OnionService(first, { seed, virtualPort: 81, target: { host: '127.0.0.1', port: echoPort } })
    await onion1.publish()
    const address = onion1.address
    await first.stop()

    const second = testTor(dir)
    tors.push(second)
    await second.start()
    const onion2 = new OnionService(second, { seed, virtualPort: 81, target: { host: '127.0.0.1', port: echoPort } })
    await onion2.publish() // throws if tor reports another ServiceID
    expect(onion2.address).toBe(address)
    await onion2.selfCheck({ timeoutMs: 60_000 })
    const socket = await dialWithRetry(client, address, 81)
    expect(await echoThrough(socket, 'same address')).toBe('same address')
    await onion2.remove()
    await second.stop()
  })

  it('restarts tor after SIGKILL and re-publishes the onion service', async () => {
    const { dir, cleanup } = tempDir('kill')
    dirs.push(cleanup)
    const tor = testTor(dir, { backoffBaseMs: 200 })
    tors.push(tor)
    await tor.start()
    const onion = new OnionService(tor, { seed: randomBytes(32), virtualPort: 82, target: { host: '127.0.0.1', port: echoPort } })
    await onion.publish()
    const firstPid = tor.pid
    expect(firstPid).toBeTypeOf('number')

    const lost = new Promise((resolve) => tor.once('lost', resolve))
    const republished = new Promise((resolve) => onion.once('published', resolve))
    process.kill(firstPid!, 'SIGKILL')
    await lost
    await republished
    expect(tor.isReady).toBe(true)
    expect(tor.pid).not.toBe(firstPid)
    await onion.selfCheck({ timeoutMs: 60_000 })
    const socket = await dialWithRetry(client, onion.address, 82)
    expect(await echoThrough(socket, 'back again')).toBe('back again')
    await onion.remove()
  })

  it('lets only authorized clients in (onion client authorization)', async () => {
    const own = clientAuthKeyPairFromSeed(randomBytes(32))
    const friend = clientAuthKeyPairFromSeed(randomBytes(32))
    const stranger = clientAuthKeyPairFromSeed(randomBytes(32))
    const onion = new OnionService(service, {
      seed: randomBytes(32),
      virtualPort: 83,
      target: { host: '127.0.0.1', port: echoPort },
      ownClientAuth: own,
      authorizedClients: [friend.publicKey],
    })
    await onion.publish()
    await onion.selfCheck({ timeoutMs: 60_000 })

    // No key at all: tor cannot decrypt the descriptor.
    const noKey = await dialWithRetry(client, onion.address, 83).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(noKey).toBeInstanceOf(SocksReplyError)
    expect((noKey as SocksReplyError).reason).toBe('onion-client-auth-missing')

    // A key that is not on the list: refused as well (tor reports it as missing, not wrong).
    const auth = new OnionClientAuth(client)
    await auth.add(onion.address, stranger.privateKey)
    const wrongKey = await dialWithRetry(client, onion.address, 83).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(wrongKey).toBeInstanceOf(SocksReplyError)
    expect(['onion-client-auth-missing', 'onion-client-auth-wrong']).toContain((wrongKey as SocksReplyError).reason)

    // The authorized key connects.
    await auth.add(onion.address, friend.privateKey)
    const socket = await dialWithRetry(client, onion.address, 83)
    expect(await echoThrough(socket, 'friend')).toBe('friend')
    await auth.remove(onion.address)
    await auth.close()
    await onion.remove()
  })

  it('attaches to a tor it did not start and leaves it running on stop', async () => {
    const access = service.controlAccess
    const attached = Tor.attach({ control: access.control, ...access.auth })
    await attached.start()
    expect(attached.socksEndpoint).toEqual(service.socksEndpoint)
    expect(attached.pid).toBeUndefined()
    await attached.stop()
    expect(service.isReady).toBe(true)
    await service.control.getInfo(['version'])
  })
})

describe('bootstrap watchdog', () => {
  it('detects a stalled bootstrap and restarts tor, then gives up', async () => {
    const { dir, cleanup } = tempDir('stall')
    // An authority nobody listens on: bootstrap can never progress past the first steps.
    const deadAuthority = 'DirAuthority dead orport=9 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:9 0000000000000000000000000000000000000000'
    const tor = Tor.managed({
      dataDir: dir,
      extraTorrcLines: ['TestingTorNetwork 1', deadAuthority],
      bootstrap: { stallMs: 4_000, timeoutMs: 60_000 },
      maxAttempts: 2,
      backoffBaseMs: 100,
    })
    const stalls: TorError[] = []
    const restarts: unknown[] = []
    tor.on('stalled', (e) => stalls.push(e))
    tor.on('restarting', (r) => restarts.push(r))
    const started = Date.now()
    const error = await tor.start().then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(error).toMatchObject({ code: 'TOR_SUPERVISION_FAILED' })
    expect((error as TorError).cause).toMatchObject({ code: 'TOR_BOOTSTRAP_STALLED' })
    expect(stalls.length).toBe(2)
    expect(restarts.length).toBe(1)
    expect(Date.now() - started).toBeLessThan(40_000)
    await tor.stop()
    cleanup()
  })
})
