import type { AbortOptions, Connection, Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { bytesEqual } from '../log/bytes.js'
import { NetError } from './errors.js'

/**
 * Optimistic multistream-select, the lazy negotiation the multistream spec
 * allows a dialer that proposes a single protocol: it sends its proposal
 * and its first message together, and reads the listener's echo in front of
 * the answer, instead of waiting a round trip for the echo before it says
 * anything (one Tor round trip, 0.57 s on the live profile). The listener
 * runs plain multistream-select (libp2p's `handle`) and sees no difference.
 * The echo must be exactly our proposal, or the stream (or connection)
 * fails as a refused negotiation would.
 *
 * js-libp2p 3 declares `negotiateFully: false` for this but its
 * multistream-select (7.0.28, the newest) does not implement it: every
 * stream and every connection waits for the echo.
 */

const HEADER = '/multistream/1.0.0'

/** One multistream-select message: the line's length as a varint (one byte: lines are short) and the line. */
function mssMessage(line: string): Uint8Array {
  const text = new TextEncoder().encode(`${line}\n`)
  if (text.length > 127) throw new RangeError(`protocol id too long for an optimistic proposal: ${line}`)
  return Uint8Array.of(text.length, ...text)
}

/** What a dialer proposing `protocol` sends first, and what a listener that accepts answers: the header and the protocol. */
export function mssProposal(protocol: string): Uint8Array {
  return Uint8Array.from([...mssMessage(HEADER), ...mssMessage(protocol)])
}

/**
 * The listener's echo of a proposal, read as it arrives in chunks of any
 * size: the part of each chunk that belongs to the echo is compared and
 * dropped, and what follows it is handed back.
 */
export class EchoCheck {
  readonly #expected: Uint8Array
  #seen = 0

  constructor(expected: Uint8Array) {
    this.#expected = expected
  }

  /** Whether the whole echo has arrived. */
  get complete(): boolean {
    return this.#seen === this.#expected.length
  }

  /** What of `chunk` follows the echo (empty while it is all echo), or undefined when it departs from the echo. */
  after(chunk: Uint8Array): Uint8Array | undefined {
    const take = Math.min(chunk.length, this.#expected.length - this.#seen)
    if (!bytesEqual(chunk.subarray(0, take), this.#expected.subarray(this.#seen, this.#seen + take))) return undefined
    this.#seen += take
    return chunk.subarray(take)
  }
}

/**
 * Checks and drops the listener's echo of `proposal` at the start of
 * `chunks`, passing on what follows it. Throws if the listener answered
 * anything else (it refused the protocol) or ended before echoing.
 */
export async function* afterEcho(chunks: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>, proposal: Uint8Array): AsyncGenerator<Uint8Array> {
  const echo = new EchoCheck(proposal)
  for await (const chunk of chunks) {
    const rest = echo.after(chunk instanceof Uint8Array ? chunk : chunk.subarray())
    if (rest === undefined) throw new NetError('REQUEST_FAILED', 'the peer refused the protocol')
    if (rest.length > 0) yield rest
  }
  if (!echo.complete) throw new NetError('REQUEST_FAILED', 'the stream ended before the peer accepted the protocol')
}

/** The option of `Connection.newStream` (libp2p passes it on to the muxer) that asks for a stream negotiated by its caller. */
const CALLER_NEGOTIATES = 'burrowCallerNegotiates'
/** Streams whose multistream-select was left to their caller. */
const callerNegotiated = new WeakSet<Stream>()

/**
 * The muxer `factory` makes, able to open a stream whose protocol its caller
 * negotiates optimistically ({@link openOptimisticStream}): libp2p skips its
 * own multistream-select for a stream that arrives with its protocol set.
 * Other streams are the muxer's own.
 */
export function withCallerNegotiatedStreams<M extends StreamMuxer>(factory: () => StreamMuxerFactory<M>): () => StreamMuxerFactory<M> {
  return () => {
    const inner = factory()
    return {
      protocol: inner.protocol,
      createStreamMuxer(maConn) {
        const muxer = inner.createStreamMuxer(maConn)
        const createStream = muxer.createStream.bind(muxer)
        muxer.createStream = async (options) => {
          const stream = await createStream(options)
          const wanted = options as (typeof options & { [CALLER_NEGOTIATES]?: boolean }) | undefined
          if (wanted?.[CALLER_NEGOTIATES] === true && typeof wanted.protocol === 'string') {
            stream.protocol = wanted.protocol
            callerNegotiated.add(stream)
          }
          return stream
        }
        return muxer
      },
    }
  }
}

/**
 * Opens a stream of `protocol` on `connection` without waiting for the
 * echo: send `proposal` before (or with) the first message, and read what
 * comes back through {@link afterEcho}. Needs a muxer from
 * {@link withCallerNegotiatedStreams}; with another, libp2p negotiates in full
 * first (a round trip) and `proposal` is empty.
 */
export async function openOptimisticStream(connection: Connection, protocol: string, options: AbortOptions = {}): Promise<{ stream: Stream; proposal: Uint8Array }> {
  const stream = await connection.newStream(protocol, { ...options, [CALLER_NEGOTIATES]: true } as AbortOptions)
  return { stream, proposal: callerNegotiated.has(stream) ? mssProposal(protocol) : new Uint8Array() }
}
