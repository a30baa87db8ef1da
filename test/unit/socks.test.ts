import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AbortError, TimeoutError } from '../../src/errors.js'
import { InvalidOnionAddressError } from '../../src/tor/onion-address.js'
import { ISOLATION_PASSWORD, dialOnion, type DialOnionOptions, type SocksEndpoint } from '../../src/tor/socks.js'
import { SocksReplyError, type SocksFailureReason } from '../../src/tor/socks-errors.js'
import { TorError } from '../../src/tor/errors.js'

const ONION = 'hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iu63yid.onion'
/** Every wait in these tests is bounded; a hang fails the test instead of stalling the run. */
const WAIT_MS = 5_000

/** Reads exact byte counts from one accepted connection of the fake proxy. */
class ServerConn {
  private buffer = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  ended = false

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake()
    })
    socket.on('close', () => {
      this.ended = true
      this.wake()
    })
    socket.on('error', () => {})
  }

  async read(n: number): Promise<Buffer> {
    const deadline = Date.now() + WAIT_MS
    while (this.buffer.length < n) {
      if (this.ended) throw new Error(`client closed after ${this.buffer.length} of ${n} bytes`)
      if (Date.now() > deadline) throw new Error(`fake proxy waited too long for ${n} bytes`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    const out = this.buffer.subarray(0, n)
    this.buffer = this.buffer.subarray(n)
    return out
  }

  /** Resolves once the client has closed the connection. */
  async closed(): Promise<void> {
    const deadline = Date.now() + WAIT_MS
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('client never closed the connection')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  write(bytes: number[] | Buffer): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes))
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}

type Script = (conn: ServerConn) => Promise<void>

interface FakeProxy {
  endpoint: SocksEndpoint
  accepted: number
  /** Completes when the script of the n-th connection (0-based) has finished; rejects with its error. */
  done(n?: number): Promise<void>
  close(): Promise<void>
}

const proxies: FakeProxy[] = []
const tempDirs: string[] = []

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function fakeProxy(script: Script, listenOn: { path: string } | { host: string } = { host: '127.0.0.1' }): Promise<FakeProxy> {
  const runs: Promise<void>[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    proxy.accepted++
    const run = script(new ServerConn(socket))
    run.catch(() => {})
    runs.push(run)
  })
  await new Promise<void>((resolve) => {
    if ('path' in listenOn) server.listen(listenOn.path, resolve)
    else server.listen(0, listenOn.host, resolve)
  })
  const address = server.address()
  const endpoint: SocksEndpoint =
    'path' in listenOn ? { path: listenOn.path } : { host: listenOn.host, port: typeof address === 'object' && address !== null ? address.port : 0 }
  const proxy: FakeProxy = {
    endpoint,
    accepted: 0,
    done: async (n = 0) => {
      const deadline = Date.now() + WAIT_MS
      while (runs[n] === undefined) {
        if (Date.now() > deadline) throw new Error(`connection ${n} never arrived`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await runs[n]
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  proxies.push(proxy)
  return proxy
}

/** The bytes of a CONNECT request for `host:port` with address type 3. */
function expectedConnect(host: string, port: number): Buffer {
  return Buffer.from([0x05, 0x01, 0x00, 0x03, host.length, ...Buffer.from(host, 'ascii'), port >> 8, port & 0xff])
}

const SUCCESS_IPV4 = [0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90]

/** A well-behaved no-auth proxy that answers CONNECT with `reply`. */
function answerConnectWith(reply: number[] | Buffer, after?: (conn: ServerConn) => Promise<void>): Script {
  return async (conn) => {
    expect([...(await conn.read(3))]).toEqual([0x05, 0x01, 0x00])
    conn.write([0x05, 0x00])
    await conn.read(expectedConnect(ONION, 80).length)
    conn.write(reply)
    await after?.(conn)
  }
}

function dial(proxy: FakeProxy, extra: Partial<DialOnionOptions> = {}): Promise<Socket> {
  return dialOnion({ proxy: proxy.endpoint, address: ONION, port: 80, timeoutMs: WAIT_MS, ...extra })
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    const value = await promise
    if (value !== null && typeof value === 'object' && 'destroy' in value) (value as Socket).destroy()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected the dial to fail')
}

/** Reads `n` bytes the client side receives, bounded. */
function receive(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0)
    const timer = setTimeout(() => reject(new Error(`received only ${buffer.length} of ${n} bytes`)), WAIT_MS)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (buffer.length >= n) {
        clearTimeout(timer)
        resolve(buffer)
      }
    })
  })
}

describe('dialOnion: successful CONNECT', () => {
  it('sends the greeting and a CONNECT with the .onion name as address type 3, byte for byte', async () => {
    const proxy = await fakeProxy(async (conn) => {
      expect([...(await conn.read(3))]).toEqual([0x05, 0x01, 0x00])
      conn.write([0x05, 0x00])
      const request = await conn.read(expectedConnect(ONION, 9999).length)
      expect(request).toEqual(expectedConnect(ONION, 9999))
      conn.write(SUCCESS_IPV4)
      expect((await conn.read(4)).toString()).toBe('ping')
      conn.write(Buffer.from('pong'))
    })
    const socket = await dial(proxy, { address: ONION.slice(0, 56).toUpperCase(), port: 9999 })
    socket.write('ping')
    expect((await receive(socket, 4)).toString()).toBe('pong')
    socket.destroy()
    await proxy.done()
    expect(proxy.accepted).toBe(1)
  })

  it('keeps early data that arrives in the same packet as the reply', async () => {
    const proxy = await fakeProxy(answerConnectWith(Buffer.concat([Buffer.from(SUCCESS_IPV4), Buffer.from('early bytes')])))
    const socket = await dial(proxy)
    expect((await receive(socket, 11)).toString()).toBe('early bytes')
    socket.destroy()
  })

  it('keeps early data after a reply split across packets, with a domain-name bound address', async () => {
    const reply = [0x05, 0x00, 0x00, 0x03, 4, ...Buffer.from('abcd'), 0x00, 0x50]
    const proxy = await fakeProxy(async (conn) => {
      await answerConnectWith([])(conn)
      for (const byte of reply) {
        conn.write([byte])
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      conn.write(Buffer.from('after'))
    })
    const socket = await dial(proxy)
    expect((await receive(socket, 5)).toString()).toBe('after')
    socket.destroy()
  })

  it('accepts an IPv6 bound address and leaves following data readable', async () => {
    const reply = [0x05, 0x00, 0x00, 0x04, ...new Array<number>(15).fill(0), 1, 0x00, 0x50]
    const proxy = await fakeProxy(answerConnectWith(Buffer.concat([Buffer.from(reply), Buffer.from('v6')])))
    const socket = await dial(proxy)
    expect((await receive(socket, 2)).toString()).toBe('v6')
    socket.destroy()
  })

  it('dials through a unix socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-socks-'))
    tempDirs.push(dir)
    const proxy = await fakeProxy(answerConnectWith(SUCCESS_IPV4), { path: join(dir, 'socks.sock') })
    const socket = await dial(proxy)
    socket.destroy()
    expect(proxy.accepted).toBe(1)
  })
})

describe('dialOnion: isolation through username/password (RFC 1929)', () => {
  function authScript(expectedUser: Buffer, status: number, seen: Buffer[]): Script {
    return async (conn) => {
      expect([...(await conn.read(3))]).toEqual([0x05, 0x01, 0x02])
      conn.write([0x05, 0x02])
      const [version, userLength] = await conn.read(2)
      expect(version).toBe(0x01)
      const user = await conn.read(userLength ?? 0)
      const [passwordLength] = await conn.read(1)
      const password = await conn.read(passwordLength ?? 0)
      seen.push(Buffer.from(user))
      expect(user).toEqual(expectedUser)
      expect(password.toString()).toBe(ISOLATION_PASSWORD)
      conn.write([0x01, status])
      if (status !== 0) return
      expect(await conn.read(expectedConnect(ONION, 80).length)).toEqual(expectedConnect(ONION, 80))
      conn.write(SUCCESS_IPV4)
    }
  }

  it('offers only method 0x02 and sends the isolation key as the username', async () => {
    const seen: Buffer[] = []
    const proxy = await fakeProxy(authScript(Buffer.from('peer-α'), 0, seen))
    const socket = await dial(proxy, { isolation: 'peer-α' })
    socket.destroy()
    await proxy.done()
    expect(seen).toHaveLength(1)
  })

  it('replaces isolation keys longer than 255 bytes by a digest, keeping distinct keys distinct', async () => {
    const seen: Buffer[] = []
    const proxy = await fakeProxy(async (conn) => {
      expect([...(await conn.read(3))]).toEqual([0x05, 0x01, 0x02])
      conn.write([0x05, 0x02])
      const [, userLength] = await conn.read(2)
      seen.push(Buffer.from(await conn.read(userLength ?? 0)))
      const [passwordLength] = await conn.read(1)
      await conn.read(passwordLength ?? 0)
      conn.write([0x01, 0x00])
      await conn.read(expectedConnect(ONION, 80).length)
      conn.write(SUCCESS_IPV4)
    })
    ;(await dial(proxy, { isolation: `${'x'.repeat(300)}a` })).destroy()
    ;(await dial(proxy, { isolation: `${'x'.repeat(300)}b` })).destroy()
    ;(await dial(proxy, { isolation: 'y'.repeat(255) })).destroy()
    expect(seen).toHaveLength(3)
    const [first, second, exact] = seen
    expect(first?.toString()).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/)
    expect(second?.toString()).toMatch(/^sha256:/)
    expect(first?.equals(second ?? Buffer.alloc(0))).toBe(false)
    expect(exact?.toString()).toBe('y'.repeat(255))
  })

  it('fails with SOCKS_AUTH_FAILED when the proxy refuses the credentials', async () => {
    const proxy = await fakeProxy(authScript(Buffer.from('peer'), 0x01, []))
    const err = await rejection(dial(proxy, { isolation: 'peer' }))
    expect(err).toBeInstanceOf(TorError)
    expect((err as TorError).code).toBe('SOCKS_AUTH_FAILED')
  })

  it('fails with SOCKS_AUTH_METHOD_REJECTED when the proxy accepts no offered method', async () => {
    const proxy = await fakeProxy(async (conn) => {
      await conn.read(3)
      conn.write([0x05, 0xff])
    })
    const err = await rejection(dial(proxy, { isolation: 'peer' }))
    expect(err).toBeInstanceOf(TorError)
    expect((err as TorError).code).toBe('SOCKS_AUTH_METHOD_REJECTED')
  })
})

describe('dialOnion: failure replies', () => {
  const table: [number, SocksFailureReason, string, boolean][] = [
    [0x01, 'general-failure', 'SOCKS_GENERAL_FAILURE', true],
    [0x02, 'not-allowed', 'SOCKS_NOT_ALLOWED', false],
    [0x03, 'network-unreachable', 'SOCKS_NETWORK_UNREACHABLE', false],
    [0x04, 'host-unreachable', 'SOCKS_HOST_UNREACHABLE', true],
    [0x05, 'connection-refused', 'SOCKS_CONNECTION_REFUSED', false],
    [0x06, 'ttl-expired', 'SOCKS_TTL_EXPIRED', true],
    [0x07, 'command-not-supported', 'SOCKS_COMMAND_NOT_SUPPORTED', false],
    [0x08, 'address-type-not-supported', 'SOCKS_ADDRESS_TYPE_NOT_SUPPORTED', false],
    [0xf0, 'onion-descriptor-not-found', 'SOCKS_ONION_DESCRIPTOR_NOT_FOUND', true],
    [0xf1, 'onion-descriptor-invalid', 'SOCKS_ONION_DESCRIPTOR_INVALID', false],
    [0xf2, 'onion-introduction-failed', 'SOCKS_ONION_INTRODUCTION_FAILED', true],
    [0xf3, 'onion-rendezvous-failed', 'SOCKS_ONION_RENDEZVOUS_FAILED', true],
    [0xf4, 'onion-client-auth-missing', 'SOCKS_ONION_CLIENT_AUTH_MISSING', false],
    [0xf5, 'onion-client-auth-wrong', 'SOCKS_ONION_CLIENT_AUTH_WRONG', false],
    [0xf6, 'onion-address-invalid', 'SOCKS_ONION_ADDRESS_INVALID', false],
    [0xf7, 'onion-introduction-timeout', 'SOCKS_ONION_INTRODUCTION_TIMEOUT', true],
    [0x09, 'unknown', 'SOCKS_UNKNOWN_REPLY', false],
    [0xee, 'unknown', 'SOCKS_UNKNOWN_REPLY', false],
  ]

  it.each(table)('reply 0x%s maps to %s (%s, retryable %s) and closes the connection', async (replyCode, reason, code, retryable) => {
    // Shaped like tor's failure replies: full length, IPv4 zero address.
    let conn: ServerConn | undefined
    const proxy = await fakeProxy(answerConnectWith([0x05, replyCode, 0x00, 0x01, 0, 0, 0, 0, 0, 0], async (c) => {
      conn = c
    }))
    const err = await rejection(dial(proxy))
    expect(err).toBeInstanceOf(SocksReplyError)
    const replyError = err as SocksReplyError
    expect(replyError.replyCode).toBe(replyCode)
    expect(replyError.reason).toBe(reason)
    expect(replyError.code).toBe(code)
    expect(replyError.retryable).toBe(retryable)
    expect(replyError.message).toContain(`0x${replyCode.toString(16).toUpperCase().padStart(2, '0')}`)
    await proxy.done()
    await conn?.closed()
  })

  it('explains a missing descriptor in plain words', async () => {
    const proxy = await fakeProxy(answerConnectWith([0x05, 0xf0]))
    const err = await rejection(dial(proxy))
    expect(err.message).toMatch(/onion descriptor was not found on the hidden-service directories/)
  })
})

describe('dialOnion: malformed and truncated replies', () => {
  // The dial timeout is far above the test timeout: a reply that is not recognised as malformed fails the test by hanging.
  const NEVER = 600_000

  it.each<[string, string | undefined, Script]>([
    ['a SOCKS4 greeting reply', undefined, async (c) => {
      await c.read(3)
      c.write([0x04, 0x00])
    }],
    ['a method that was not offered', undefined, async (c) => {
      await c.read(3)
      c.write([0x05, 0x02])
    }],
    ['an HTTP answer', undefined, async (c) => {
      await c.read(3)
      c.write(Buffer.from('HTTP/1.0 501 Tor is not an HTTP Proxy\r\n\r\n'))
    }],
    ['an auth reply with the wrong version', 'isolation', async (c) => {
      await c.read(3)
      c.write([0x05, 0x02])
      await c.read(2 + 'isolation'.length + 1 + ISOLATION_PASSWORD.length)
      c.write([0x05, 0x00])
    }],
    ['a CONNECT reply with the wrong version', undefined, answerConnectWith([0x04, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0])],
    ['a non-zero reserved byte', undefined, answerConnectWith([0x05, 0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0])],
    ['an unknown address type', undefined, answerConnectWith([0x05, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0, 0])],
  ])('rejects %s with SOCKS_PROTOCOL at once', { timeout: 10_000 }, async (_, isolation, script) => {
    const proxy = await fakeProxy(script)
    const err = await rejection(dial(proxy, { timeoutMs: NEVER, ...(isolation === undefined ? {} : { isolation }) }))
    expect(err).toMatchObject({ code: 'SOCKS_PROTOCOL' })
    expect((err as TorError).code).toBe('SOCKS_PROTOCOL')
    await proxy.done()
  })

  it('fails with SOCKS_PROXY_CONNECTION when the proxy closes after the greeting', async () => {
    const proxy = await fakeProxy(async (c) => {
      await c.read(3)
      c.socket.end()
    })
    const err = await rejection(dial(proxy, { timeoutMs: 60_000 }))
    expect(err).toMatchObject({ code: 'SOCKS_PROXY_CONNECTION' })
    expect((err as TorError).code).toBe('SOCKS_PROXY_CONNECTION')
  })

  it('fails with SOCKS_PROXY_CONNECTION when the proxy closes in the middle of the CONNECT reply', async () => {
    const proxy = await fakeProxy(answerConnectWith([0x05, 0x00, 0x00, 0x01, 127], async (c) => {
      c.socket.end()
    }))
    const err = await rejection(dial(proxy, { timeoutMs: 60_000 }))
    expect(err).toMatchObject({ code: 'SOCKS_PROXY_CONNECTION' })
  })

  it('fails with SOCKS_PROXY_CONNECTION when the proxy resets the connection', async () => {
    const proxy = await fakeProxy(async (c) => {
      await c.read(3)
      c.socket.resetAndDestroy()
    })
    const err = await rejection(dial(proxy, { timeoutMs: 60_000 }))
    expect(err).toMatchObject({ code: 'SOCKS_PROXY_CONNECTION' })
  })

  it('fails with SOCKS_PROXY_CONNECTION when nothing listens on the proxy port', async () => {
    const proxy = await fakeProxy(async () => {})
    await proxy.close()
    const err = await rejection(dial(proxy, { timeoutMs: 60_000 }))
    expect(err).toMatchObject({ code: 'SOCKS_PROXY_CONNECTION' })
    expect(err.message).toMatch(/could not connect/)
  })
})

describe('dialOnion: timeout and abort', () => {
  it('times out with TimeoutError when the proxy never answers CONNECT, and closes the socket', async () => {
    let conn: ServerConn | undefined
    const proxy = await fakeProxy(async (c) => {
      conn = c
      await c.read(3)
      c.write([0x05, 0x00])
      await c.read(expectedConnect(ONION, 80).length)
      c.write([0x05, 0x00, 0x00]) // a partial reply, then silence
    })
    const err = await rejection(dial(proxy, { timeoutMs: 300 }))
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as TimeoutError).code).toBe('TIMEOUT')
    await proxy.done()
    await conn?.closed()
  })

  it('aborts with AbortError in the middle of the handshake, and closes the socket', async () => {
    const controller = new AbortController()
    let conn: ServerConn | undefined
    const proxy = await fakeProxy(async (c) => {
      conn = c
      await c.read(3)
      controller.abort()
    })
    const err = await rejection(dial(proxy, { signal: controller.signal, timeoutMs: 60_000 }))
    expect(err).toBeInstanceOf(AbortError)
    expect((err as AbortError).code).toBe('ABORTED')
    await proxy.done()
    await conn?.closed()
  })

  it('aborts while the TCP connection is still being set up', async () => {
    const controller = new AbortController()
    const proxy = await fakeProxy(async () => {})
    const dialing = dial(proxy, { signal: controller.signal, timeoutMs: 60_000 })
    controller.abort()
    expect(await rejection(dialing)).toBeInstanceOf(AbortError)
  })

  it('refuses an already aborted signal without connecting', async () => {
    const proxy = await fakeProxy(answerConnectWith(SUCCESS_IPV4))
    const err = await rejection(dial(proxy, { signal: AbortSignal.abort() }))
    expect(err).toBeInstanceOf(AbortError)
    expect(proxy.accepted).toBe(0)
  })
})

describe('dialOnion: refuses bad input before any connection', () => {
  it.each<[string, Partial<DialOnionOptions>, new (...args: never[]) => Error, string]>([
    ['an invalid onion address', { address: `${ONION.slice(0, 55)}a.onion` }, InvalidOnionAddressError, 'INVALID_ONION_ADDRESS'],
    ['a v2 onion address', { address: 'expyuzz4wqqyqhjn.onion' }, InvalidOnionAddressError, 'INVALID_ONION_ADDRESS'],
    ['a clearnet host name', { address: 'example.com' }, InvalidOnionAddressError, 'INVALID_ONION_ADDRESS'],
    ['an IP address', { address: '127.0.0.1' }, InvalidOnionAddressError, 'INVALID_ONION_ADDRESS'],
    ['a subdomain of an onion', { address: `www.${ONION}` }, InvalidOnionAddressError, 'INVALID_ONION_ADDRESS'],
    ['port 0', { port: 0 }, TorError, 'SOCKS_INVALID_PORT'],
    ['port 65536', { port: 65536 }, TorError, 'SOCKS_INVALID_PORT'],
    ['a fractional port', { port: 80.5 }, TorError, 'SOCKS_INVALID_PORT'],
    ['a NaN port', { port: Number.NaN }, TorError, 'SOCKS_INVALID_PORT'],
    ['an empty isolation key', { isolation: '' }, TorError, 'SOCKS_INVALID_ISOLATION'],
    ['a zero timeout', { timeoutMs: 0 }, TorError, 'SOCKS_INVALID_TIMEOUT'],
  ])('refuses %s', async (_, options, errorClass, code) => {
    const proxy = await fakeProxy(answerConnectWith(SUCCESS_IPV4))
    const err = await rejection(dial(proxy, options))
    expect(err).toBeInstanceOf(errorClass)
    expect((err as TorError).code).toBe(code)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(proxy.accepted).toBe(0)
  })

  it.each(['localhost', '10.0.0.1', '0.0.0.0', '::', 'example.com', '', '127.0.0.1.nip.io'])('refuses proxy host %j', async (host) => {
    const proxy = await fakeProxy(answerConnectWith(SUCCESS_IPV4))
    const port = 'port' in proxy.endpoint ? proxy.endpoint.port : 0
    const err = await rejection(dialOnion({ proxy: { host, port }, address: ONION, port: 80, timeoutMs: WAIT_MS }))
    expect(err).toBeInstanceOf(TorError)
    expect((err as TorError).code).toBe('SOCKS_PROXY_NOT_LOOPBACK')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(proxy.accepted).toBe(0)
  })

  it('refuses an invalid proxy port or an empty unix path', async () => {
    for (const proxyEndpoint of [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 70000 }, { path: '' }]) {
      const err = await rejection(dialOnion({ proxy: proxyEndpoint, address: ONION, port: 80 }))
      expect((err as TorError).code).toBe('SOCKS_INVALID_PROXY')
    }
  })
})
