import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { BurrowError } from '../errors.js'
import { withTimeout } from '../util/async.js'

/** A request/response exchange failed: the peer answered nothing usable in time, or too much. */
export class RequestError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REQUEST_FAILED', message, options)
  }
}

const PREFIX = 4

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, PREFIX)
  return out
}

/** Reads exactly one length-prefixed message of at most `maxBytes`. */
async function readOne(stream: Stream, maxBytes: number): Promise<Uint8Array> {
  let buffer = new Uint8Array(0)
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    const next = new Uint8Array(buffer.length + bytes.length)
    next.set(buffer)
    next.set(bytes, buffer.length)
    buffer = next
    if (buffer.length >= PREFIX) {
      const length = new DataView(buffer.buffer, buffer.byteOffset, PREFIX).getUint32(0)
      if (length > maxBytes) throw new RequestError(`message of ${length} bytes exceeds the limit of ${maxBytes}`)
      if (buffer.length >= PREFIX + length) return buffer.slice(PREFIX, PREFIX + length)
    }
  }
  throw new RequestError('the stream ended before a whole message arrived')
}

/** Options of one request. */
export interface RequestOptions {
  maxResponseBytes: number
  /** Default 60 s: a stream over Tor costs at least one round trip, often a few. */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Sends one request on a new stream of `protocol` to a connected peer and returns the response. */
export async function request(libp2p: Libp2p, peer: PeerId, protocol: string, body: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const stream = await libp2p.dialProtocol(peer, protocol, options.signal ? { signal: options.signal } : {})
  try {
    if (!stream.send(frame(body))) await stream.onDrain()
    return await withTimeout(readOne(stream, options.maxResponseBytes), timeoutMs, `${protocol} request`)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err instanceof BurrowError ? err : new RequestError(`${protocol} request failed`, { cause: err })
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
      if (!stream.send(frame(response))) await stream.onDrain()
      await stream.close()
    } catch (err) {
      log.warn({ peer, protocol, reason: err instanceof Error ? err.message : String(err) }, 'request failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
}
