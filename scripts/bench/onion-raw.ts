/**
 * Raw onion figures over given tor processes, without Burrow's protocols:
 * the baselines next to which sync throughput and latencies are read.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { dialOnion, OnionService, type Tor } from '../../src/tor/index.js'

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

/** A raw onion service on `tor` that either echoes (`echo`) or sends `bytes` and closes (`source`). */
export async function rawOnion(tor: Tor, mode: 'echo' | 'source', bytes = 0): Promise<{ address: string; close: () => Promise<void> }> {
  const payload = randomBytes(Math.max(bytes, 1))
  const server = createServer((socket) => {
    socket.on('error', () => {})
    // Without it, Nagle's algorithm meets delayed ACKs and adds ~40 ms to echoes.
    socket.setNoDelay(true)
    if (mode === 'echo') socket.pipe(socket)
    else socket.end(payload)
  })
  const port = await listen(server)
  const onion = new OnionService(tor, { seed: randomBytes(32), virtualPort: 80, target: { host: '127.0.0.1', port }, powDefenses: false })
  await onion.publish()
  await onion.selfCheck({ timeoutMs: 60_000 })
  return {
    address: onion.address,
    close: async () => {
      await onion.remove()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function dial(from: Tor, address: string): Promise<Socket> {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      return await dialOnion({ proxy: from.socksEndpoint, address, port: 80, isolation: randomBytes(8).toString('hex'), timeoutMs: 20_000 })
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 1_000))
    }
  }
}

/** How fast a transfer went: bytes per second, and its first byte's time, both from the moment it is timed from. */
export interface TimedTransfer {
  bytesPerSecond: number
  firstByteMs: number
}

/** Reads `source` to its end, timed from `startedAt` (hrtime); throws unless it delivered exactly `expectBytes`. */
export async function readTimed(source: AsyncIterable<{ byteLength: number }>, expectBytes: number, startedAt: bigint, what: string): Promise<TimedTransfer> {
  let firstAt: bigint | undefined
  let received = 0
  for await (const chunk of source) {
    firstAt ??= process.hrtime.bigint()
    received += chunk.byteLength
  }
  const ended = process.hrtime.bigint()
  if (received !== expectBytes) throw new Error(`${what} delivered ${received} of ${expectBytes} bytes`)
  return { bytesPerSecond: received / (Number(ended - startedAt) / 1e9), firstByteMs: Number(firstAt! - startedAt) / 1e6 }
}

/** Reads everything a `source` onion sends (service → client), timed from the open stream. */
export async function rawThroughput(from: Tor, address: string, expectBytes: number): Promise<TimedTransfer> {
  const socket = await dial(from, address)
  return readTimed(socket, expectBytes, process.hrtime.bigint(), 'raw stream')
}

/** Round trips of 1 byte through an `echo` onion on one connection; returns each RTT in ms. */
export async function rawRoundTrips(from: Tor, address: string, samples: number): Promise<number[]> {
  const socket = await dial(from, address)
  socket.setNoDelay(true)
  const rtts: number[] = []
  const reader = socket[Symbol.asyncIterator]()
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint()
    socket.write(Buffer.from([i & 0xff]))
    const { done } = await reader.next()
    if (done === true) throw new Error('echo connection closed')
    rtts.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  socket.destroy()
  return rtts
}
