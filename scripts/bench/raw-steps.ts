/**
 * The raw counterparts of a node's steps, with plain client tors, the control
 * port and SOCKS (no Burrow code): what tor alone takes for what Burrow does
 * on top of it, measured in the same run.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { publishOnion, startClientTor, type ClientTor, type TestnetState } from '../../src/testnet/index.js'
import { dialOnion, SocksReplyError } from '../../src/tor/index.js'

const VIRTUAL_PORT = 80
/** As Burrow's self-check and first dials: 30 s per attempt, retried while tor calls the failure transient, within 90 s. */
const ATTEMPT_MS = 30_000
const DIAL_DEADLINE_MS = 90_000

/** A plain client tor with a freshly published onion service (an echo), as a raw start leaves it. */
export interface RawNode {
  tor: ClientTor
  serviceId: string
  /** Start → bootstrapped (100 %), ms. */
  bootstrapMs: number
  /** ADD_ONION → every descriptor upload answered, ms. */
  publishMs: number
  /** The first dial to its own onion through its own SOCKS port, ms. */
  selfDialMs: number
  stop(): Promise<void>
}

let echo: Promise<{ server: Server; port: number }> | undefined

/** One echo server on 127.0.0.1 for every raw onion of the run. */
function echoServer(): Promise<{ server: Server; port: number }> {
  echo ??= (async () => {
    const server = createServer((s) => {
      s.on('error', () => {})
      s.setNoDelay(true)
      s.pipe(s)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { server, port: (server.address() as { port: number }).port }
  })()
  return echo
}

/** Closes the shared echo server. */
export async function closeRawSteps(): Promise<void> {
  const e = await echo
  echo = undefined
  e?.server.close()
}

/** Dials `serviceId` from `tor` on a fresh circuit, retrying transient failures; resolves with the socket and the time taken. */
export async function rawDial(tor: ClientTor, serviceId: string): Promise<{ socket: Socket; ms: number }> {
  const started = performance.now()
  const deadline = Date.now() + DIAL_DEADLINE_MS
  for (let attempt = 1; ; attempt++) {
    try {
      const socket = await dialOnion({ proxy: tor.socks, address: serviceId, port: VIRTUAL_PORT, isolation: randomBytes(8).toString('hex'), timeoutMs: ATTEMPT_MS })
      return { socket, ms: performance.now() - started }
    } catch (err) {
      if (!(err instanceof SocksReplyError && err.retryable) || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, Math.min(1_000 * attempt, 4_000)))
    }
  }
}

/**
 * A raw start, step by step as a node's: a fresh tor bootstrapped, an onion
 * service published (every upload answered), and a first dial to it through
 * the same tor (as Burrow's self-check).
 */
export async function rawStart(state: TestnetState, dataDir: string): Promise<RawNode> {
  const { port } = await echoServer()
  const started = performance.now()
  const tor = await startClientTor(state, { dataDir })
  const bootstrapMs = performance.now() - started
  try {
    const { serviceId, publishMs } = await publishOnion(tor.control, port)
    const self = await rawDial(tor, serviceId)
    self.socket.destroy()
    return { tor, serviceId, bootstrapMs, publishMs, selfDialMs: self.ms, stop: () => tor.stop() }
  } catch (err) {
    await tor.stop()
    throw err
  }
}

/** Round trips of 1 byte on `socket` (an echo), ms each. */
export async function echoRoundTrips(socket: Socket, samples: number): Promise<number[]> {
  socket.setNoDelay(true)
  const reader = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const rtts: number[] = []
  for (let i = 0; i < samples; i++) {
    const t = performance.now()
    socket.write(Uint8Array.of(i & 0xff))
    const { done } = await reader.next()
    if (done === true) throw new Error('the echo connection closed')
    rtts.push(performance.now() - t)
  }
  return rtts
}

/** Where the raw nodes' scratch directories go. */
export function rawDir(root: string, i: number): string {
  return join(root, `raw-${i}`)
}
