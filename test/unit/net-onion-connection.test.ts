import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { EchoCheck, mssProposal } from '../../src/net/multistream.js'
import { NOISE_PROPOSAL, OnionMultiaddrConnection } from '../../src/net/onion-connection.js'

const quiet: Logger = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => quiet })

/** An outbound connection over a loopback socket, and the far end as a plain socket the test drives. */
async function pair(): Promise<{ conn: OnionMultiaddrConnection; far: Socket; received: Uint8Array[]; server: Server }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const [far] = await accepted
  const conn = new OnionMultiaddrConnection({ socket, remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1'), direction: 'outbound', log: quiet })
  const received: Uint8Array[] = []
  conn.addEventListener('message', (evt) => received.push(evt.data.subarray()))
  return { conn, far, received, server }
}

const bytes = (chunks: Uint8Array[]): number[] => chunks.flatMap((c) => [...c])
const tick = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('the onion connection proposes Noise optimistically', () => {
  const servers: Server[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))

  it('answers its own proposal at once, then drops the listener’s echo and passes on what follows', async () => {
    const { conn, far, received, server } = await pair()
    servers.push(server)
    const farGot: Buffer[] = []
    far.on('data', (b: Buffer) => farGot.push(b))
    conn.send(NOISE_PROPOSAL)
    await tick()
    // The echo is there before the listener said anything: Noise's first message need not wait a round trip.
    expect(bytes(received)).toEqual([...NOISE_PROPOSAL])
    expect(bytes(farGot)).toEqual([...NOISE_PROPOSAL])
    // The real echo, split across writes, then the listener's first Noise bytes.
    far.write(NOISE_PROPOSAL.subarray(0, 5))
    await tick()
    far.write(Buffer.concat([NOISE_PROPOSAL.subarray(5), Buffer.from('noise!')]))
    await tick()
    expect(Buffer.from(bytes(received)).subarray(NOISE_PROPOSAL.length).toString()).toBe('noise!')
    expect(conn.status).toBe('open')
    far.destroy()
  })

  it('aborts when the listener answers anything but the echo (it refused Noise)', async () => {
    const { conn, far, server } = await pair()
    servers.push(server)
    conn.send(NOISE_PROPOSAL)
    await tick()
    const na = new TextEncoder().encode('na\n')
    far.write(Buffer.from([...NOISE_PROPOSAL.subarray(0, 20), na.length, ...na]))
    await tick()
    expect(conn.status).not.toBe('open')
    far.destroy()
  })

  it('leaves any other first write alone', async () => {
    const { conn, far, received, server } = await pair()
    servers.push(server)
    conn.send(new TextEncoder().encode('hello'))
    far.write('world')
    await tick()
    expect(Buffer.from(bytes(received)).toString()).toBe('world')
    far.destroy()
  })
})

describe('the echo of a proposal, read in chunks of any size', () => {
  const proposal = mssProposal('/burrow/test/1')

  it('drops the echo however it is split and hands back what follows it', () => {
    const after = Uint8Array.of(7, 8, 9)
    const wire = Uint8Array.from([...proposal, ...after])
    for (const size of [1, 2, 5, proposal.length, wire.length]) {
      const echo = new EchoCheck(proposal)
      const rest: number[] = []
      for (let at = 0; at < wire.length; at += size) rest.push(...echo.after(wire.subarray(at, at + size))!)
      expect(echo.complete).toBe(true)
      expect(Uint8Array.from(rest)).toEqual(after)
    }
  })

  it('refuses an answer that departs from the echo, also in its last byte', () => {
    const refused = proposal.slice()
    refused[refused.length - 1]! ^= 1
    const echo = new EchoCheck(proposal)
    expect(echo.after(refused.subarray(0, refused.length - 1))).toEqual(new Uint8Array())
    expect(echo.after(refused.subarray(refused.length - 1))).toBeUndefined()
    expect(echo.complete).toBe(false)
  })
})

describe('the onion connection says who closed it', () => {
  const servers: Server[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))

  const closeEvent = (conn: OnionMultiaddrConnection): Promise<{ local?: boolean; error?: Error }> =>
    new Promise((resolve) => conn.addEventListener('close', (evt) => resolve({ local: evt.local, error: evt.error }), { once: true }))

  it('marks a close asked for here as local, and waits for the far side (tor) to close too', async () => {
    const { conn, far, server } = await pair()
    servers.push(server)
    const closed = closeEvent(conn)
    let farEnded = false
    far.once('end', () => (farEnded = true))
    await conn.close()
    expect(farEnded).toBe(true)
    expect(await closed).toEqual({ local: true, error: undefined })
  })

  it('leaves local unset when the far side ends the stream', async () => {
    const { conn, far, server } = await pair()
    servers.push(server)
    const closed = closeEvent(conn)
    far.end()
    expect(await closed).toEqual({ local: undefined, error: undefined })
  })
})
