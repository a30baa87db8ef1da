import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkEmulator, type EmulatedPort, type LinkShape } from '../../src/testnet/link-emulator.js'
import { TokenBucket } from '../../src/testnet/token-bucket.js'
import { freeLoopbackPort } from '../../src/util/net.js'

const UNSHAPED: LinkShape = { delayMs: 0, jitterMs: 0, bytesPerSecond: 1e12, burstBytes: 1e12 }

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as { port: number }).port
}

/** A target that echoes and ends its side once the client has ended (half-close respected). */
async function echoServer(): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = []
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s)
    s.on('error', () => {})
    s.pipe(s)
  })
  return { port: await listen(server), sockets }
}

/** Starts an emulator with one port per entry of `shapes`, each in front of `targetPort`; relays are named r0, r1, … */
async function emulate(targetPort: number, shapes: LinkShape[], opts: Parameters<typeof LinkEmulator.start>[1] = {}): Promise<{ emulator: LinkEmulator; ports: number[] }> {
  const ports: EmulatedPort[] = []
  for (const [i, shape] of shapes.entries()) ports.push({ relay: `r${i}`, listenPort: await freeLoopbackPort(), targetPort, kind: 'or', shape })
  const emulator = await LinkEmulator.start(ports, opts)
  cleanups.push(() => emulator.close())
  return { emulator, ports: ports.map((p) => p.listenPort) }
}

async function dial(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, noDelay: true })
  s.on('error', () => {})
  cleanups.push(() => void s.destroy())
  await once(s, 'connect')
  return s
}

/** The PID of another process of ours, which owns none of this process's sockets. */
async function otherProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' })
  cleanups.push(() => void child.kill())
  await once(child, 'spawn')
  return child.pid!
}

/** Resolves with everything `s` delivers until its end. */
function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  s.on('data', (c: Buffer) => chunks.push(c))
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('close', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
}

/** Resolves with how the socket ended: 'reset' (ECONNRESET/EPIPE), 'closed', or 'open' after `ms`. */
async function fate(s: Socket, ms: number): Promise<'reset' | 'closed' | 'open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), ms)
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'closed')
    })
    s.once('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
  })
}

/** Resolves with the first data `s` delivers, or undefined after `ms`. */
function firstData(s: Socket, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off('data', onData)
      resolve(undefined)
    }, ms)
    const onData = (c: Buffer): void => {
      clearTimeout(timer)
      resolve(c)
    }
    s.once('data', onData)
  })
}

describe('TokenBucket', () => {
  it('lets a burst through, then makes later bytes wait at the rate, in arrival order', () => {
    const b = new TokenBucket(1000, 500, 0)
    expect(b.take(500, 0)).toBe(0)
    expect(b.take(100, 0)).toBeCloseTo(100)
    expect(b.take(100, 0)).toBeCloseTo(200)
    // 300 ms later the debt of 200 bytes is paid and 100 tokens have accrued.
    expect(b.take(100, 300)).toBe(0)
    expect(b.take(200, 300)).toBeCloseTo(200)
  })

  it('never holds more than the burst after an idle spell', () => {
    const b = new TokenBucket(1000, 500, 0)
    expect(b.take(500, 60_000)).toBe(0)
    expect(b.take(1, 60_000)).toBeCloseTo(1)
  })
})

describe('LinkEmulator', () => {
  it('forwards bytes exactly in both directions, with jitter, and passes a half-close through', async () => {
    const target = await echoServer()
    const { ports } = await emulate(target.port, [{ delayMs: 5, jitterMs: 10, bytesPerSecond: 50e6, burstBytes: 1 << 20 }])
    const s = await dial(ports[0]!)
    const sent = randomBytes(3 << 20)
    const received = readAll(s)
    // Many writes of odd sizes, so the line holds many chunks with independent jitter at once.
    for (let off = 0; off < sent.length; off += 7919) s.write(sent.subarray(off, off + 7919))
    s.end()
    const back = await received
    expect(back.length).toBe(sent.length)
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(sent).digest('hex'))
  })

  it('delays every chunk by at least the one-way delay, keeps order under heavy jitter, and charges a new connection a round trip', async () => {
    const delayMs = 40
    const arrivals: { seq: number; latencyMs: number }[] = []
    const server = createServer((s) => {
      let pending = ''
      s.on('data', (c: Buffer) => {
        const now = performance.now()
        pending += c.toString('utf8')
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const l of lines) {
          const [seq, sentAt] = l.split(' ').map(Number)
          arrivals.push({ seq: seq!, latencyMs: now - sentAt! })
        }
      })
    })
    const { ports } = await emulate(await listen(server), [{ delayMs, jitterMs: 30, bytesPerSecond: 50e6, burstBytes: 1 << 20 }])
    const s = await dial(ports[0]!)
    const count = 150
    for (let i = 0; i < count; i++) {
      s.write(`${i} ${performance.now()}\n`)
      await new Promise((r) => setTimeout(r, 2))
    }
    const deadline = Date.now() + 10_000
    while (arrivals.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(arrivals.map((a) => a.seq)).toEqual([...Array(count).keys()])
    // A timer may fire up to a millisecond early on its own clock's granularity.
    for (const a of arrivals) expect(a.latencyMs).toBeGreaterThanOrEqual(delayMs - 1)
    // The first line also waited out the emulated handshake (3 one-way delays in all).
    expect(arrivals[0]!.latencyMs).toBeGreaterThanOrEqual(3 * delayMs - 1)
    const later = arrivals.slice(count / 2).map((a) => a.latencyMs).sort((a, b) => a - b)
    const median = later[later.length >> 1]!
    // Mean jitter 30 ms, and order kept (a late chunk holds back those behind it): clearly above the bare delay, far below seconds.
    expect(median).toBeGreaterThan(delayMs + 10)
    expect(median).toBeLessThan(delayMs + 300)
  })

  it('caps one relay at its rate, shared by all its connections', async () => {
    const rate = 1_000_000
    let received = 0
    let lastAt = 0
    const server = createServer((s) =>
      s.on('data', (c: Buffer) => {
        received += c.length
        lastAt = performance.now()
      }),
    )
    const { ports } = await emulate(await listen(server), [{ delayMs: 1, jitterMs: 0, bytesPerSecond: rate, burstBytes: 16 << 10 }])
    const a = await dial(ports[0]!)
    const b = await dial(ports[0]!)
    const each = 1_250_000
    const started = performance.now()
    a.write(randomBytes(each))
    b.write(randomBytes(each))
    const deadline = Date.now() + 15_000
    while (received < 2 * each && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(received).toBe(2 * each)
    const bytesPerSecond = (2 * each) / ((lastAt - started) / 1000)
    expect(bytesPerSecond).toBeGreaterThan(rate * 0.85)
    expect(bytesPerSecond).toBeLessThan(rate * 1.15)
  })

  it('stalls a relay (bytes held, connection open) and delivers what it held on restore', async () => {
    const target = await echoServer()
    const { emulator, ports } = await emulate(target.port, [UNSHAPED, UNSHAPED])
    const s0 = await dial(ports[0]!)
    const s1 = await dial(ports[1]!)
    expect(emulator.apply('stall', { relay: 'r0' })).toBe(1)
    s0.write('held')
    s1.write('free')
    expect((await firstData(s1, 2_000))?.toString()).toBe('free')
    expect(await firstData(s0, 300)).toBeUndefined()
    // A connection made during the stall is held too.
    const late = await dial(ports[0]!)
    late.write('late')
    expect(await firstData(late, 300)).toBeUndefined()
    expect(emulator.restore({ relay: 'r0' })).toBe(2)
    expect((await firstData(s0, 2_000))?.toString()).toBe('held')
    expect((await firstData(late, 2_000))?.toString()).toBe('late')
  })

  it('drops a relay: open connections are reset, new ones too, until restore', async () => {
    const target = await echoServer()
    const { emulator, ports } = await emulate(target.port, [UNSHAPED, UNSHAPED])
    const s0 = await dial(ports[0]!)
    const s1 = await dial(ports[1]!)
    const s0Fate = fate(s0, 2_000)
    expect(emulator.apply('drop', { relay: 'r0' })).toBe(1)
    expect(await s0Fate).toBe('reset')
    expect(await fate(s1, 200)).toBe('open')
    const refused = connect({ host: '127.0.0.1', port: ports[0]! })
    expect(await fate(refused, 2_000)).toBe('reset')
    expect(emulator.stats().find((r) => r.relay === 'r0')?.connections).toBe(0)
    emulator.restore({ relay: 'r0' })
    const again = await dial(ports[0]!)
    again.write('back')
    expect((await firstData(again, 2_000))?.toString()).toBe('back')
  })

  it('selects connections by the PID of the process that opened them, and a relay\'s own links by its tor\'s PID', async () => {
    const target = await echoServer()
    const other = await otherProcess()
    const { emulator, ports } = await emulate(target.port, [UNSHAPED, UNSHAPED], { relayPids: () => new Map([['r1', process.pid]]) })
    const s = await dial(ports[0]!)
    expect(emulator.apply('drop', { pid: other })).toBe(0)
    expect(await fate(s, 200)).toBe('open')
    const sFate = fate(s, 2_000)
    expect(emulator.apply('drop', { pid: process.pid })).toBe(1)
    expect(await sFate).toBe('reset')
    emulator.restore()
    // Relay r1's "tor" is this process: what it opened to r0 is one of r1's links.
    const t = await dial(ports[0]!)
    const tFate = fate(t, 2_000)
    expect(emulator.apply('drop', { relay: 'r1' })).toBe(1)
    expect(await tFate).toBe('reset')
  })

  it('adds the access delay only to ORPort links no relay opened', async () => {
    const target = await echoServer()
    const other = await otherProcess()
    const shape = { ...UNSHAPED, delayMs: 10 }
    const roundTrip = async (relayPids: ReadonlyMap<string, number>): Promise<number> => {
      const { ports } = await emulate(target.port, [shape], { relayPids: () => relayPids, accessDelayMs: 100 })
      const s = await dial(ports[0]!)
      // The first round trip also pays the emulated handshake; time the second.
      s.write('a')
      await firstData(s, 5_000)
      const t = performance.now()
      s.write('b')
      await firstData(s, 5_000)
      return performance.now() - t
    }
    const fromRelay = await roundTrip(new Map([['r0', process.pid]]))
    const fromClient = await roundTrip(new Map([['r0', other]]))
    expect(fromRelay).toBeGreaterThanOrEqual(19)
    expect(fromRelay).toBeLessThan(80)
    expect(fromClient).toBeGreaterThanOrEqual(219)
    expect(fromClient).toBeLessThan(300)
  })

  it('refuses to start when a port is taken, and closes what it had opened', async () => {
    const target = await echoServer()
    const taken = await listen(createServer())
    const free = await freeLoopbackPort()
    const shape = UNSHAPED
    await expect(
      LinkEmulator.start([
        { relay: 'a', listenPort: free, targetPort: target.port, kind: 'or', shape },
        { relay: 'b', listenPort: taken, targetPort: target.port, kind: 'or', shape },
      ]),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' })
    // The first port was released again.
    const probe = createServer()
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen(free, '127.0.0.1', resolve)
    })
    probe.close()
  })
})
