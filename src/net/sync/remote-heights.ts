/**
 * What a session knows of its peer's side of the logs shared with it: the
 * peer's height per author we hold there too, the anchors its `have` calls
 * for, and the authors of ours it refused. Kept in one place so that its
 * bound, `SessionLimits.maxRememberedHeights`, is counted in one place:
 * every allow-listed peer may be hostile, and what is kept here grows only
 * with the (log, author) pairs in our own store, never with what the peer
 * names.
 * @module
 */
import { toHex } from '../../log/bytes.js'
import type { LogId } from '../../log/types.js'
import { SyncError } from './errors.js'
import type { AuthorHeight } from './frames.js'
import type { SyncStore } from './session.js'

/** The entries remembered of one peer's heights, against their bound. */
class Tally {
  readonly #max: number
  #entries = 0

  constructor(max: number) {
    this.#max = max
  }

  /** Counts `entries` more. Throws `SYNC_LIMIT` beyond the bound. */
  add(entries: number): void {
    this.#entries += entries
    if (this.#entries > this.#max) {
      throw new SyncError('SYNC_LIMIT', `the heights shared with the peer exceed ${this.#max} entries`)
    }
  }

  remove(entries: number): void {
    this.#entries -= entries
  }
}

/**
 * The peer's heights in one log shared with it, per author (hex) we hold
 * there too, as far as we know: learnt from its `have`, and from what passed
 * between us since.
 */
export class LogHeights {
  readonly #seqs = new Map<string, number>()
  readonly #tally: Tally
  /** Dropped by {@link RemoteHeights.forget}, which took its entries off the tally: it counts and keeps nothing more. */
  #forgotten = false

  constructor(tally: Tally) {
    this.#tally = tally
  }

  get size(): number {
    return this.#seqs.size
  }

  get(authorKey: string): number | undefined {
    return this.#seqs.get(authorKey)
  }

  /** Records that the peer holds `authorKey`'s operations up to `seq`. Throws `SYNC_LIMIT` beyond `SessionLimits.maxRememberedHeights`. */
  raise(authorKey: string, seq: number): void {
    if (this.#forgotten) return
    const known = this.#seqs.get(authorKey)
    if (known !== undefined && known >= seq) return
    if (known === undefined) this.#tally.add(1)
    this.#seqs.set(authorKey, seq)
  }

  /** The session forgot the log: whoever still holds this entry (a turn awaiting the stream) raises nothing more on it. */
  forget(): void {
    this.#forgotten = true
  }

  /** The peer dropped `authorKey`'s operations from `seq` on: what we took it to hold from there is undone. */
  lower(authorKey: string, seq: number): void {
    const known = this.#seqs.get(authorKey)
    if (known === undefined || known < seq) return
    if (seq > 0) this.#seqs.set(authorKey, seq - 1)
    else {
      this.#seqs.delete(authorKey)
      this.#tally.remove(1)
    }
  }
}

/** What one session knows of its peer's side of the logs shared with it, per log (hex). */
export class RemoteHeights {
  readonly #store: Pick<SyncStore, 'heights'>
  readonly #tally: Tally
  /** Counted in #tally: one entry per log, one per author. */
  readonly #logs = new Map<string, LogHeights>()
  /**
   * Per log, authors whose operation at the height the peer announced we
   * also hold, and that height: answered with that operation's header
   * (log-sender.ts). Bounded like the heights: one entry per author we hold.
   */
  readonly #anchors = new Map<string, Map<string, number>>()
  /**
   * Per log, authors of ours the peer refused (its `refused`): not offered
   * again until its next `have` with `ask`, since they would only be
   * dropped again. One entry per author we hold at most.
   */
  readonly #heldBack = new Map<string, Set<string>>()

  constructor(store: Pick<SyncStore, 'heights'>, maxEntries: number) {
    this.#store = store
    this.#tally = new Tally(maxEntries)
  }

  /** The peer's heights in a log, once it told us. */
  get(logKey: string): LogHeights | undefined {
    return this.#logs.get(logKey)
  }

  has(logKey: string): boolean {
    return this.#logs.has(logKey)
  }

  /**
   * Takes in the peer's heights of a shared log: only those of authors we
   * hold, since there is nothing to push of the others (a peer naming
   * made-up authors costs us nothing). Heights only rise: what we sent
   * meanwhile may not have reached the peer when it wrote its `have`.
   */
  learn(logId: LogId, announced: readonly AuthorHeight[]): void {
    const logKey = toHex(logId)
    let heights = this.#logs.get(logKey)
    if (heights === undefined) {
      this.#tally.add(1)
      heights = new LogHeights(this.#tally)
      this.#logs.set(logKey, heights)
    }
    const ours = this.#store.heights(logId)
    let anchors = this.#anchors.get(logKey)
    for (const { author, seq } of announced) {
      const authorKey = toHex(author)
      const height = ours.get(authorKey)
      if (height === undefined) continue
      // A height we knew already (we sent up to it, or the peer said so) needs no anchor: it would be
      // one more header per confirmation (send-window.ts), and the peer's confirmation of it one more `have`.
      const known = heights.get(authorKey)
      heights.raise(authorKey, seq)
      if (seq > height || (known !== undefined && seq <= known)) continue
      if (anchors === undefined) this.#anchors.set(logKey, (anchors = new Map()))
      anchors.set(authorKey, seq)
    }
  }

  /** The anchors owed to the peer in a log (seq by author), now taken to be sent. */
  takeAnchors(logKey: string): ReadonlyMap<string, number> | undefined {
    const anchors = this.#anchors.get(logKey)
    this.#anchors.delete(logKey)
    return anchors
  }

  /** The peer refused `authorKey`'s operations from `seq` on (an author we hold): its height drops below `seq`, and the author is held back. */
  refused(logKey: string, authorKey: string, seq: number): void {
    this.#logs.get(logKey)?.lower(authorKey, seq)
    let held = this.#heldBack.get(logKey)
    if (held === undefined) this.#heldBack.set(logKey, (held = new Set()))
    held.add(authorKey)
  }

  /** Authors of ours the peer refused in a log, since its last `have` with `ask`. */
  heldBack(logKey: string): ReadonlySet<string> | undefined {
    return this.#heldBack.get(logKey)
  }

  /** The peer asks what it lacks (its `have` with `ask`): what it refused before may be taken now. */
  releaseHeldBack(logKey: string): void {
    this.#heldBack.delete(logKey)
  }

  /** Drops what we know of a log the peer is not (or no longer) entitled to. */
  forget(logKey: string): void {
    const heights = this.#logs.get(logKey)
    if (heights !== undefined) {
      this.#tally.remove(1 + heights.size)
      heights.forget()
      this.#logs.delete(logKey)
    }
    this.#anchors.delete(logKey)
    this.#heldBack.delete(logKey)
  }

  /** Drops everything, as the session ends. */
  clear(): void {
    this.#logs.clear()
    this.#anchors.clear()
    this.#heldBack.clear()
  }
}
