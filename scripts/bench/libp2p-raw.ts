/**
 * A plain libp2p stream over a Burrow connection (onion transport, Noise,
 * yamux, with Burrow's window): the layer between a raw onion stream and a
 * sync catch-up. Next to both, it tells what the libp2p stack costs a
 * transfer from what sync itself (frames, validation, store) costs it.
 */
import { randomBytes } from 'node:crypto'
import type { Connection, Libp2p } from '@libp2p/interface'
import { WRITE_HIGH_WATER, drainedTo } from '../../src/net/sync/index.js'
import { readTimed, type TimedTransfer } from './onion-raw.js'

/** Benchmark-only protocol: the side that serves it sends its bytes on every stream opened to it, then closes. */
export const SOURCE_PROTOCOL = '/burrow-bench/source/1'

/** Bytes handed to the stream per send: about a sync frame's size. */
const CHUNK_BYTES = 128 * 1024

/**
 * Serves {@link SOURCE_PROTOCOL} on `libp2p`: `bytes` random bytes per
 * stream, paced as sync paces a catch-up: at most {@link WRITE_HIGH_WATER}
 * queued (`stream.onDrain()` would not pace it: after a stream's first
 * drain it no longer waits).
 */
export async function serveSource(libp2p: Libp2p, bytes: number): Promise<void> {
  const payload = randomBytes(bytes)
  await libp2p.handle(SOURCE_PROTOCOL, async (stream) => {
    for (let at = 0; at < bytes; at += CHUNK_BYTES) {
      stream.send(payload.subarray(at, at + CHUNK_BYTES))
      if (!(await drainedTo(stream, WRITE_HIGH_WATER, () => stream.status === 'open'))) return
    }
    await stream.close()
  })
}

/**
 * Reads one {@link SOURCE_PROTOCOL} stream on `connection`. Timed from
 * `openedAt` (the connection's open, like a catch-up) to the last byte;
 * the stream's negotiation is inside that time, as a catch-up's is.
 */
export async function streamThroughput(connection: Connection, expectBytes: number, openedAt: bigint): Promise<TimedTransfer> {
  const stream = await connection.newStream(SOURCE_PROTOCOL)
  const result = await readTimed(stream, expectBytes, openedAt, 'libp2p stream')
  await stream.close().catch(() => {})
  return result
}
