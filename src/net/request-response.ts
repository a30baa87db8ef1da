import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { BurrowError } from '../errors.js'
import { withTimeout } from '../util/async.js'
import { LengthPrefixedReader, withLengthPrefix } from './length-prefix.js'
import { NetError } from './errors.js'
import { afterEcho, openOptimisticStream } from './multistream.js'

/** Reads exactly one length-prefixed message of at most `maxBytes`. */
async function readOne(stream: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>, maxBytes: number): Promise<Uint8Array> {
  const reader = new LengthPrefixedReader((length) => {
    if (length > maxBytes) throw new NetError('REQUEST_FAILED', `message of ${length} bytes exceeds the limit of ${maxBytes}`)
  })
  for await (const chunk of stream) {
    const [body] = reader.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
    if (body !== undefined) return body
  }
  throw new NetError('REQUEST_FAILED', 'the stream ended before a whole message arrived')
}

/** Options of one request. */
export interface RequestOptions {
  maxResponseBytes: number
  /** Default 60 s: a stream over Tor costs at least one round trip, often a few. */
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Sends one request on a new stream of `protocol` to a connected peer and
 * returns the response. The protocol is proposed together with the request
 * (multistream.ts): a request costs one Tor round trip, not two.
 */
export async function request(libp2p: Libp2p, peer: PeerId, protocol: string, body: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const abortable = options.signal ? { signal: options.signal } : {}
  const { stream, proposal } = await openOptimisticStream(await libp2p.dial(peer, abortable), protocol, abortable)
  try {
    const framed = withLengthPrefix(body)
    const first = new Uint8Array(proposal.length + framed.length)
    first.set(proposal)
    first.set(framed, proposal.length)
    if (!stream.send(first)) await stream.onDrain()
    return await withTimeout(readOne(afterEcho(stream, proposal), options.maxResponseBytes), timeoutMs, `${protocol} request`)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err instanceof BurrowError ? err : new NetError('REQUEST_FAILED', `${protocol} request failed`, { cause: err })
  } finally {
    await stream.close().catch(() => {})
  }
}

/**
 * Serves `protocol`: one request per stream, answered by `handler`. A
 * malformed or oversize request resets the stream; the handler's typed
 * errors are its business (it encodes refusals in its response).
 */
export async function serveRequests(
  libp2p: Libp2p,
  protocol: string,
  handler: (peer: string, body: Uint8Array) => Promise<Uint8Array>,
  options: { maxRequestBytes: number; timeoutMs?: number; logger?: Logger },
): Promise<void> {
  const log = options.logger ?? silentLogger
  await libp2p.handle(protocol, async (stream, connection) => {
    const peer = connection.remotePeer.toString()
    try {
      const body = await withTimeout(readOne(stream, options.maxRequestBytes), options.timeoutMs ?? 60_000, `${protocol} request`)
      const response = await handler(peer, body)
      if (!stream.send(withLengthPrefix(response))) await stream.onDrain()
      await stream.close()
    } catch (err) {
      log.warn({ peer, protocol, reason: err instanceof Error ? err.message : String(err) }, 'request failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
}
