import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { measureOnions, percentile, publishOnion, startClientTor, type ClientTor } from '../../src/testnet/index.js'
import { pidListeningOn } from '../../src/testnet/proc-net.js'
import { dialOnion } from '../../src/tor/index.js'
import { liveTestnet } from './live-testnet.js'

const scratch = mkdtempSync(join(tmpdir(), 'burrow-live-test-'))
const cleanups: (() => Promise<void> | void)[] = [() => rmSync(scratch, { recursive: true, force: true })]
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A dial through `client`'s SOCKS port on a fresh circuit; resolves with the socket or the error. */
function dial(client: ClientTor, serviceId: string, timeoutMs: number): Promise<Socket | Error> {
  return dialOnion({ proxy: client.socks, address: serviceId, port: 80, isolation: randomBytes(8).toString('hex'), timeoutMs }).catch((err: unknown) => err as Error)
}

describe('the live profile', () => {
  it('puts every advertised ORPort and DirPort in the link emulator\'s hands, in front of the port tor binds', async () => {
    const net = await liveTestnet()
    expect(net.profile).toBe('live')
    const emulator = net.state.emulator?.pid
    expect(emulator).toBeDefined()
    for (const n of net.state.nodes) {
      expect(pidListeningOn(n.orPort)).toBe(emulator)
      expect(n.internalOrPort).toBeDefined()
      expect(pidListeningOn(n.internalOrPort!)).toBe(n.pid)
      if (n.role === 'authority') {
        expect(pidListeningOn(n.dirPort!)).toBe(emulator)
        expect(pidListeningOn(n.internalDirPort!)).toBe(n.pid)
      }
    }
    // Every relay has carried traffic through the emulator.
    const stats = await net.links.stats()
    expect(stats.relays.map((r) => r.relay).sort()).toEqual(net.state.nodes.map((n) => n.nickname).sort())
    for (const r of stats.relays) expect(r.bytesToRelay).toBeGreaterThan(0)
  })

  it('gives a raw onion round trip in the calibrated range (p50 300-700 ms) and a first dial of seconds', async () => {
    const net = await liveTestnet()
    const figures = await measureOnions(net.state, { workDir: join(scratch, 'measure'), onions: 2, roundTripsPerOnion: 15 })
    const p50 = percentile(figures.roundTripsMs, 50)
    const firstDial = percentile(figures.firstDialsMs, 50)
    console.log(
      `[live profile] raw onion round trip p50 ${p50.toFixed(0)} ms, p95 ${percentile(figures.roundTripsMs, 95).toFixed(0)} ms (n=${figures.roundTripsMs.length}); ` +
        `first dials ${figures.firstDialsMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}`,
    )
    expect(p50).toBeGreaterThanOrEqual(300)
    expect(p50).toBeLessThanOrEqual(700)
    // On the fast profile a first dial takes about 0.3 s: seconds here show the emulator on every hop.
    expect(firstDial).toBeGreaterThan(2_000)
    expect(firstDial).toBeLessThan(20_000)
  })

  it('fails a client\'s dials while its links are dropped and lets them succeed after restore', async () => {
    const net = await liveTestnet()
    const echo = createServer((s) => {
      s.on('error', () => {})
      s.pipe(s)
    })
    echo.listen(0, '127.0.0.1')
    await once(echo, 'listening')
    cleanups.push(() => void echo.close())
    const [service, client] = await Promise.all(['service', 'client'].map((name) => startClientTor(net.state, { dataDir: join(scratch, name) })))
    cleanups.push(() => service!.stop(), () => client!.stop())
    const { serviceId } = await publishOnion(service!.control, (echo.address() as { port: number }).port)

    const before = await dial(client!, serviceId, 60_000)
    expect(before).not.toBeInstanceOf(Error)
    ;(before as Socket).destroy()

    cleanups.push(() => void net.links.restore({ clientPid: client!.pid }).catch(() => {}))
    // Its guard connection at least is open, and now reset.
    expect(await net.links.drop({ clientPid: client!.pid })).toBeGreaterThan(0)
    const during = await dial(client!, serviceId, 15_000)
    expect(during).toBeInstanceOf(Error)

    await net.links.restore({ clientPid: client!.pid })
    const restoredAt = Date.now()
    // The intro points tor failed to reach during the drop stay marked failed for up to 2 minutes
    // (HS_CACHE_CLIENT_INTRO_STATE_MAX_AGE): without NEWNYM, 2 of 3 trial runs still got 0xF2 a minute
    // after restore; with it, 3 of 3 connected at the first attempt. An application does the same after a network change.
    await client!.control.signal('NEWNYM')
    let after: Socket | Error = new Error('not dialed')
    while (Date.now() - restoredAt < 60_000) {
      after = await dial(client!, serviceId, 30_000)
      if (!(after instanceof Error)) break
    }
    expect(after).not.toBeInstanceOf(Error)
    const socket = after as Socket
    socket.write('ping')
    const [echoed] = (await once(socket, 'data')) as [Buffer]
    expect(echoed.toString()).toBe('ping')
    socket.destroy()
    console.log(`[live profile] dial succeeded ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after restore`)
  })
})
