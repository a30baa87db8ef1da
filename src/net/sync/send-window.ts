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
/**
 * Most frames kept in flight; beyond, the oldest is let go as if confirmed.
 * Frames smaller than 1 KiB (a chat message each, one per author) are the
 * only way to reach it within the largest window; what a frame costs to
 * keep (about 100 bytes) stays under a megabyte.
 */
export const MAX_FRAMES_IN_FLIGHT = 8_192

interface InFlight {
  readonly logKey: string
  readonly authorKey: string
  readonly seq: number
  readonly bytes: number
}

/**
 * A first-in first-out list whose front is taken in constant time, as
 * `Array.prototype.shift` does not promise. Written here rather than taken
 * from a library: the window also reads entries by position and filters
 * them, which the small queues on npm (fast-fifo, yocto-queue) do not offer.
 */
class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  /** The entry at `index` from the front. */
  at(index: number): T | undefined {
    return this.#items[this.#head + index]
  }

  push(item: T): void {
    this.#items.push(item)
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    // What was taken is dropped once it is half the array: amortized constant time.
    if (this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Keeps only the entries `keep` returns true for, in order. */
  retain(keep: (item: T) => boolean): void {
    this.#items = (this.#items.slice(this.#head) as T[]).filter(keep)
    this.#head = 0
  }
}

/** The bytes of operations a session has in flight, and how many it may have. */
export class SendWindow {
  /** Frames in flight, in the order they were sent. */
  #inFlight = new Fifo<InFlight>()
  /**
   * The same frames per log and author, in the order sent, so by rising seq
   * (an author's operations go out in sequence order): a confirmation looks
   * at its author's frames only, and one naming an author with nothing in
   * flight costs a lookup.
   */
  readonly #byAuthor = new Map<string, Map<string, Fifo<InFlight>>>()
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

  /** Stops limiting, and keeping what is sent: the peer does not confirm (an older node). */
  off(): void {
    this.#off = true
    this.#inFlight = new Fifo()
    this.#byAuthor.clear()
    this.#bytes = 0
  }

  /**
   * An `ops` frame of `authorKey`'s log `logKey`, up to `seq`, was sent.
   * Beyond {@link MAX_FRAMES_IN_FLIGHT}, the oldest frame is let go:
   * freeing early, like a refusal (see {@link confirm}), only lets a little
   * more into the queue.
   */
  sent(logKey: string, authorKey: string, seq: number, bytes: number, now: number): void {
    if (this.#off) return
    if (this.#inFlight.length === 0) {
      this.#sampleStart = now
      this.#sampleBytes = 0
    }
    const frame = { logKey, authorKey, seq, bytes }
    this.#inFlight.push(frame)
    let authors = this.#byAuthor.get(logKey)
    if (authors === undefined) this.#byAuthor.set(logKey, (authors = new Map()))
    let frames = authors.get(authorKey)
    if (frames === undefined) authors.set(authorKey, (frames = new Fifo()))
    frames.push(frame)
    this.#bytes += bytes
    if (this.#inFlight.length > MAX_FRAMES_IN_FLIGHT) this.#bytes -= this.#takeOldest().bytes
  }

  /**
   * The peer holds `authorKey`'s log `logKey` up to `height`. Returns whether
   * that freed anything. Costs what it frees: an author with nothing in
   * flight, a lookup.
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
    const frames = this.#byAuthor.get(logKey)?.get(authorKey)
    if (frames === undefined) return false
    let covered = 0
    while (covered < frames.length && frames.at(covered)!.seq <= height) covered++
    if (covered === 0) return false
    const last = frames.at(covered - 1)!
    let freed = 0
    let refused = 0
    for (;;) {
      const frame = this.#takeOldest()
      if (frame.logKey === logKey && frame.authorKey === authorKey) freed += frame.bytes
      else refused += frame.bytes
      if (frame === last) break
    }
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

  /**
   * The peer dropped `authorKey`'s operations of `logKey` from `fromSeq` on
   * (its `refused`): the frames reaching that far are freed, as nothing
   * will confirm them. Returns whether that freed anything.
   */
  refused(logKey: string, authorKey: string, fromSeq: number): boolean {
    const frames = this.#byAuthor.get(logKey)?.get(authorKey)
    // An author's frames are in rising seq: none reaches `fromSeq` when its last does not.
    if (frames === undefined || frames.at(frames.length - 1)!.seq < fromSeq) return false
    frames.retain((frame) => frame.seq < fromSeq)
    if (frames.length === 0) {
      const authors = this.#byAuthor.get(logKey)!
      authors.delete(authorKey)
      if (authors.size === 0) this.#byAuthor.delete(logKey)
    }
    this.#inFlight.retain((frame) => {
      if (frame.logKey !== logKey || frame.authorKey !== authorKey || frame.seq < fromSeq) return true
      this.#bytes -= frame.bytes
      return false
    })
    return true
  }

  /** Forgets what is in flight of a log the peer no longer shares: nothing will confirm it. */
  forget(logKey: string): void {
    if (!this.#byAuthor.delete(logKey)) return
    this.#inFlight.retain((frame) => {
      if (frame.logKey !== logKey) return true
      this.#bytes -= frame.bytes
      return false
    })
  }

  /** Takes the oldest frame in flight off both lists (there is one: callers know); its bytes are the caller's to count. */
  #takeOldest(): InFlight {
    const frame = this.#inFlight.shift()!
    const authors = this.#byAuthor.get(frame.logKey)!
    const frames = authors.get(frame.authorKey)!
    // Its author's oldest too: both lists are in the order sent.
    frames.shift()
    if (frames.length === 0) {
      authors.delete(frame.authorKey)
      if (authors.size === 0) this.#byAuthor.delete(frame.logKey)
    }
    return frame
  }
}
