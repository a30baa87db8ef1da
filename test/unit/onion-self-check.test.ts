// OnionService.selfCheck against a SOCKS5 proxy that leaves some CONNECTs
// unanswered, as tor did after an outage (a dial stuck on a stale circuit):
// an attempt that gets no answer in time is retried on a fresh circuit.
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { OnionService, type Tor } from '../../src/tor/index.js'

/** A SOCKS5 proxy (username/password, as Burrow's isolation asks) that answers CONNECT n only if `answer(n)`; records each CONNECT's time and isolation. */
async function proxy(answer: (n: number) => boolean): Promise<{ server: Server; port: number; connects: { at: number; user: string }[] }> {
  const connects: { at: number; user: string }[] = []
  const server = createServer((socket: Socket) => {
    let buf = Buffer.alloc(0)
    let stage: 'greeting' | 'auth' | 'connect' | 'done' = 'greeting'
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (stage === 'greeting' && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        buf = buf.subarray(2 + buf[1]!)
        stage = 'auth'
        socket.write(Uint8Array.of(0x05, 0x02))
      }
      if (stage === 'auth' && buf.length >= 2) {
        const ulen = buf[1]!
        if (buf.length < 2 + ulen + 1) return
        const plen = buf[2 + ulen]!
        if (buf.length < 3 + ulen + plen) return
        const user = buf.subarray(2, 2 + ulen).toString()
        buf = buf.subarray(3 + ulen + plen)
        stage = 'connect'
        socket.write(Uint8Array.of(0x01, 0x00))
        connects.push({ at: Date.now(), user })
      }
      if (stage === 'connect' && buf.length >= 5) {
        const need = 4 + 1 + buf[4]! + 2
        if (buf.length < need) return
        stage = 'done'
        if (answer(connects.length)) socket.write(Uint8Array.of(0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port, connects }
}

function serviceOn(port: number): OnionService {
  // selfCheck needs only the SOCKS endpoint of the tor it runs on.
  const tor = { socksEndpoint: { host: '127.0.0.1', port } } as unknown as Tor
  return new OnionService(tor, { seed: randomBytes(32), virtualPort: 443, target: { host: '127.0.0.1', port: 9 } })
}

describe('the onion self-check', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve))
    server = undefined
  })

  it('retries an attempt that got no answer, on a fresh circuit, with a longer wait each time', async () => {
    const p = await proxy((n) => n >= 3)
    server = p.server
    const started = Date.now()
    const result = await serviceOn(p.port).selfCheck({ timeoutMs: 10_000, attemptTimeoutMs: 1_000 })
    expect(result.attempts).toBe(3)
    expect(new Set(p.connects.map((c) => c.user)).size).toBe(3)
    // Attempts of 1 s and 2 s went unanswered; each next one followed at once.
    const gaps = p.connects.slice(1).map((c, i) => c.at - p.connects[i]!.at)
    expect(gaps[0]).toBeGreaterThanOrEqual(950)
    expect(gaps[0]).toBeLessThan(1_500)
    expect(gaps[1]).toBeGreaterThanOrEqual(1_950)
    expect(gaps[1]).toBeLessThan(2_500)
    expect(Date.now() - started).toBeLessThan(4_500)
  })

  it('stops at its bound with a typed error', async () => {
    const p = await proxy(() => false)
    server = p.server
    await expect(serviceOn(p.port).selfCheck({ timeoutMs: 2_500, attemptTimeoutMs: 1_000 })).rejects.toMatchObject({ code: 'ONION_SELF_CHECK_FAILED' })
    expect(p.connects.length).toBe(2)
    // 1 s, then the 1.5 s left.
  })
})
