import dgram from 'node:dgram'
import dns, { lookup as importedLookup } from 'node:dns'
import { connect, createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { installLeakGuard, type LeakGuard } from '../helpers/leak-guard.js'

/** A lookup that fails at once: lets a connect to a host name start without any real DNS query. */
const failingLookup = (_host: string, _options: unknown, callback: (err: Error) => void): void => callback(new Error('no lookups in tests'))

describe('leak guard', () => {
  let guard: LeakGuard | undefined

  afterEach(() => guard?.restore())

  it('records loopback connects without flagging them, and flags names (even localhost)', async () => {
    const server = createServer((s) => s.destroy())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    guard = installLeakGuard()

    const socket = connect({ host: '127.0.0.1', port })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.destroy()
    for (const host of ['example.com', 'localhost']) {
      const named = connect({ host, port: 1, lookup: failingLookup as never })
      await new Promise((resolve) => named.once('error', resolve))
    }
    server.close()

    expect(guard.connections().map((a) => a.host)).toEqual(['127.0.0.1', 'example.com', 'localhost'])
    expect(guard.nonLoopback().map((a) => a.host)).toEqual(['example.com', 'localhost'])
    expect(guard.connections()[0]?.port).toBe(port)
    expect(guard.connections()[0]?.stack).toContain('net-leak-guard.test.ts')
  })

  it('treats unix socket paths as local', async () => {
    guard = installLeakGuard()
    const socket = connect({ path: '/nonexistent/burrow-leak-guard.sock' })
    await new Promise((resolve) => socket.once('error', resolve))
    expect(guard.connections()).toHaveLength(1)
    expect(guard.connections()[0]?.path).toBe('/nonexistent/burrow-leak-guard.sock')
    expect(guard.nonLoopback()).toEqual([])
  })

  it('records DNS calls through the module, promises, Resolver objects and ESM named imports', async () => {
    guard = installLeakGuard()
    // A resolver pointed at a closed loopback port: the query never leaves the machine.
    const resolver = new dns.promises.Resolver({ timeout: 200, tries: 1 })
    resolver.setServers(['127.0.0.1:9'])
    await resolver.resolve4('example.invalid').catch(() => {})
    await dns.promises.lookup('127.0.0.1')
    await new Promise((resolve) => importedLookup('::1', resolve))
    await new Promise((resolve) => dns.lookup('127.0.0.2', resolve))

    // IP literals are answered by Node itself and are not queries; the resolver call is.
    expect(guard.dnsLookups().map((q) => `${q.api} ${q.name}`)).toEqual(['dns.promises.Resolver.resolve4 example.invalid'])
  })

  it('replaces the binding of an ESM named import too (checked by identity: a real lookup by name would query DNS)', () => {
    const before = importedLookup
    guard = installLeakGuard()
    expect(importedLookup).not.toBe(before)
    guard.restore()
    expect(importedLookup).toBe(before)
  })

  it('records UDP sends', async () => {
    guard = installLeakGuard()
    const socket = dgram.createSocket('udp4')
    // Bound first: Node replays a send queued before the implicit bind, which would be seen twice.
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => socket.send(Uint8Array.of(1), 9, '127.0.0.1', () => resolve()))
    socket.close()
    expect(guard.connections()).toMatchObject([{ api: 'dgram.send', host: '127.0.0.1', port: 9 }])
    expect(guard.nonLoopback()).toEqual([])
  })

  it('restores everything and allows only one guard at a time', () => {
    const original = dns.lookup
    guard = installLeakGuard()
    expect(dns.lookup).not.toBe(original)
    expect(() => installLeakGuard()).toThrow(/already installed/)
    guard.restore()
    expect(dns.lookup).toBe(original)
    guard.restore()
    guard = installLeakGuard()
  })
})
