/**
 * How many bytes of operations one session keeps in flight: sent, and not
 * yet confirmed stored by the peer. Below the session, every layer queues
 * in order (yamux's 4 MiB window, the socket to tor, tor's circuit), so a
 * chat message sent after a file's chunks waits for all the chunks in
 * flight: at 1 MB/s, a full yamux window is four seconds. The window keeps
 * that queue short by sizing itself to the rate the peer confirms:
 * `rate × TARGET_DELAY_S`, so what is in flight drains in about half a
 * second whatever the circuit's speed, while staying above what the round
 * trip needs to keep the circuit full.
 *
 * The peer confirms with its `have` of a log, which a receiver sends at most
 * every {@link ACK_DELAY_MS} while it stores operations of that log.
 */

/** How long a receiver waits to confirm what it stored, gathering the operations of that time into one `have`. */
export const ACK_DELAY_MS = 50
/** How long the bytes in flight should take to drain, at the confirmed rate. */
const TARGET_DELAY_S = 0.3
/** Bounds of the window: one file chunk (and a frame), and what a 16 MB/s circuit needs. */
const MIN_WINDOW = 320 * 1024
const MAX_WINDOW = 8 * 1024 * 1024
const INITIAL_WINDOW = 1024 * 1024
/** Rate samples span at least this long. */
const SAMPLE_MS = 250

interface InFlight {
  readonly logKey: string
  readonly authorKey: string
  readonly seq: number
  readonly bytes: number
}

/** The bytes of operations a session has in flight, and how many it may have. */
export class SendWindow {
  #inFlight: InFlight[] = []
  #bytes = 0
  #size = INITIAL_WINDOW
  #rate: number | undefined
  #sampleStart = 0
  #sampleBytes = 0
  #confirmed = false
  #off = false

  /** Whether another batch may be sent. */
  get open(): boolean {
    return this.#off || this.#bytes < this.#size
  }

  /** Whether the peer ever confirmed anything: a peer that never does is taken not to, and the window is turned {@link off}. */
  get confirmed(): boolean {
    return this.#confirmed
  }

  /** The window's size now, in bytes. */
  get size(): number {
    return this.#size
  }

  /** Bytes in flight now. */
  get bytes(): number {
    return this.#bytes
  }

  /** Stops limiting: the peer does not confirm (an older node). */
  off(): void {
    this.#off = true
  }

  /** An `ops` frame of `authorKey`'s log `logKey`, up to `seq`, was sent. */
  sent(logKey: string, authorKey: string, seq: number, bytes: number, now: number): void {
    if (this.#inFlight.length === 0) {
      this.#sampleStart = now
      this.#sampleBytes = 0
    }
    this.#inFlight.push({ logKey, authorKey, seq, bytes })
    this.#bytes += bytes
  }

  /**
   * The peer holds `authorKey`'s log `logKey` up to `height`. Returns whether
   * that freed anything.
   *
   * Also frees what was sent before the last batch this covers and is still
   * unconfirmed: the peer handles frames in the order they were sent and
   * confirms after storing, so it handled those, and refused what it did not
   * store (its policy: a keeper over its quota). Nothing will confirm them;
   * kept, they would fill the window and hold back every other log. A
   * confirmation of those that is still on its way (another log's `have`
   * of the same moment) then frees nothing: the error is only ever to free
   * early.
   */
  confirm(logKey: string, authorKey: string, height: number, now: number): boolean {
    const covers = (f: InFlight): boolean => f.logKey === logKey && f.authorKey === authorKey && f.seq <= height
    const last = this.#inFlight.findLastIndex(covers)
    if (last < 0) return false
    let freed = 0
    let refused = 0
    this.#inFlight = this.#inFlight.filter((f, i) => {
      if (covers(f)) freed += f.bytes
      else if (i < last) refused += f.bytes
      else return true
      return false
    })
    this.#bytes -= freed + refused
    this.#confirmed = true
    this.#sampleBytes += freed
    const elapsed = now - this.#sampleStart
    if (elapsed >= SAMPLE_MS) {
      const sample = (this.#sampleBytes * 1000) / elapsed
      this.#rate = this.#rate === undefined ? sample : 0.7 * this.#rate + 0.3 * sample
      this.#size = Math.round(Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, this.#rate * TARGET_DELAY_S)))
      this.#sampleStart = now
      this.#sampleBytes = 0
    }
    return true
  }

  /** Forgets what is in flight of a log the peer no longer shares: nothing will confirm it. */
  forget(logKey: string): void {
    this.#inFlight = this.#inFlight.filter((f) => f.logKey !== logKey)
    this.#bytes = this.#inFlight.reduce((n, f) => n + f.bytes, 0)
  }
}
