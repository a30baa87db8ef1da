import type { Socket } from 'node:net'

/** Options of a {@link DelayLine}. */
export interface DelayLineOptions {
  /**
   * The earliest time (ms, on the `now` clock) at which a chunk of `bytes`
   * arriving at `now` may be delivered: queueing behind a bandwidth cap plus
   * propagation delay and jitter.
   */
  dueAt: (bytes: number, now: number) => number
  /** Nothing is delivered before this time; a new connection's handshake round trip. Default: no bound. */
  notBefore?: number
  /** Bytes waiting in the line above which the source is paused; default 1 MiB. */
  highWaterBytes?: number
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number
}

const DEFAULT_HIGH_WATER_BYTES = 1 << 20

/** A chunk waiting for its time, or the source's end (`chunk` null). */
interface Pending {
  chunk: Buffer | null
  at: number
}

/**
 * One direction of an emulated link: what `source` sends reaches `sink`
 * after the delay `dueAt` assigns, in order. Jitter never reorders bytes:
 * a chunk is never delivered before the one ahead of it (times are made
 * monotone), as within a TCP stream. The source is paused while too much is
 * queued or while the line is {@link hold held}, so memory stays bounded and
 * the sender feels backpressure. The source's end (FIN) travels like data.
 */
export class DelayLine {
  readonly #source: Socket
  readonly #sink: Socket
  readonly #dueAt: DelayLineOptions['dueAt']
  readonly #now: () => number
  readonly #highWater: number
  readonly #queue: Pending[] = []
  #lastAt: number
  #queuedBytes = 0
  #deliveredBytes = 0
  #held = false
  #awaitingDrain = false
  #closed = false
  #timer: NodeJS.Timeout | undefined

  constructor(source: Socket, sink: Socket, opts: DelayLineOptions) {
    this.#source = source
    this.#sink = sink
    this.#dueAt = opts.dueAt
    this.#now = opts.now ?? (() => performance.now())
    this.#highWater = opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES
    this.#lastAt = opts.notBefore ?? Number.NEGATIVE_INFINITY
    source.on('data', (chunk: Buffer) => this.#enqueue(chunk))
    source.on('end', () => this.#enqueue(null))
  }

  /** Bytes delivered to the sink so far. */
  get deliveredBytes(): number {
    return this.#deliveredBytes
  }

  /** Bytes received from the source and not yet delivered. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** True while {@link hold} is in force. */
  get held(): boolean {
    return this.#held
  }

  /** Stops delivering and reading (a stalled link); what is queued stays queued. */
  hold(): void {
    if (this.#closed) return
    this.#held = true
    this.#clearTimer()
    this.#source.pause()
  }

  /** Undoes {@link hold}: chunks whose time has passed are delivered at once, the rest on time. */
  release(): void {
    if (this.#closed || !this.#held) return
    this.#held = false
    this.#flush()
  }

  /** Discards what is queued and stops; the sockets are the caller's to destroy. */
  close(): void {
    this.#closed = true
    this.#clearTimer()
    this.#queue.length = 0
    this.#queuedBytes = 0
  }

  #enqueue(chunk: Buffer | null): void {
    if (this.#closed) return
    const now = this.#now()
    const bytes = chunk?.length ?? 0
    const at = Math.max(this.#dueAt(bytes, now), this.#lastAt)
    this.#lastAt = at
    this.#queue.push({ chunk, at })
    this.#queuedBytes += bytes
    if (this.#queuedBytes > this.#highWater) this.#source.pause()
    if (this.#timer === undefined) this.#flush()
  }

  #flush(): void {
    this.#clearTimer()
    if (this.#held || this.#awaitingDrain || this.#closed) return
    const now = this.#now()
    for (let head = this.#queue[0]; head !== undefined && head.at <= now; head = this.#queue[0]) {
      this.#queue.shift()
      if (head.chunk === null) {
        this.#sink.end()
        continue
      }
      this.#queuedBytes -= head.chunk.length
      this.#deliveredBytes += head.chunk.length
      if (!this.#sink.write(head.chunk)) {
        this.#awaitingDrain = true
        this.#sink.once('drain', () => {
          this.#awaitingDrain = false
          this.#flush()
        })
        break
      }
    }
    if (this.#queuedBytes <= this.#highWater / 2 && !this.#held) this.#source.resume()
    const next = this.#queue[0]
    if (next !== undefined && !this.#awaitingDrain) this.#timer = setTimeout(() => this.#flush(), Math.max(0, next.at - now))
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
