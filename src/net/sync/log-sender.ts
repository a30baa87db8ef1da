/**
 * One log's turn in the send queue (send-queue.ts): what of the log goes to
 * the peer, and in which order. Our `have` first when one is due, then the
 * anchors the peer's `have` called for, then what the peer lacks, author by
 * author, up to {@link SEND_SLICE_BYTES}; the rest of the log queues behind
 * the other logs, or waits aside while the send window is full. The
 * `synced` owed to the peer's `have` goes out once the log is through.
 * @module
 */
import type { EventEmitter } from 'node:events'
import { fromHex, toHex } from '../../log/bytes.js'
import type { LogId } from '../../log/types.js'
import type { FrameWriter } from './frame-writer.js'
import { type WireOperation, wireBytes } from './frames.js'
import type { Receipts } from './receipts.js'
import type { LogHeights, RemoteHeights } from './remote-heights.js'
import type { LogSend, SendQueue } from './send-queue.js'
import type { SendWindow } from './send-window.js'
import type { SyncPolicy, SyncSessionEvents, SyncStore } from './session.js'

/**
 * Bytes of operations one log sends per turn; the rest of it waits behind
 * the other logs that want to send. So a file of gigabytes holds a chat
 * message back by at most this much (plus what is already queued on the
 * stream), not by the whole file: about 64 ms at 4 MB/s, 250 ms at 1 MB/s.
 */
export const SEND_SLICE_BYTES = 256 * 1024

/**
 * A batch this small goes out even when the send window is full: a chat
 * message adds nothing to the queue worth holding it back for.
 */
const SMALL_BATCH_BYTES = 32 * 1024

/** Options of a {@link LogSender}. */
export interface LogSenderOptions {
  /** The remote peer's id, for the policy. */
  peer: string
  store: Pick<SyncStore, 'heights' | 'wireOperationsAfter'>
  policy: SyncPolicy
  remote: Pick<RemoteHeights, 'get' | 'has' | 'heldBack' | 'takeAnchors'>
  receipts: Pick<Receipts, 'refusedSinceAsk' | 'asked'>
  writer: Pick<FrameWriter, 'send' | 'sendOps' | 'sendHave'>
  /** Our operations in flight to the peer: what is sent enters it. */
  window: SendWindow
  /** Where the rest of a turn waits. */
  queue: Pick<SendQueue, 'park' | 'requeue' | 'schedule'>
  /** Bytes of operations one turn sends (`SyncSessionOptions.sliceBytes`). */
  sliceBytes: number
  /** Operations read from the store per batch (`SyncSessionOptions.batchSize`). */
  batchSize: number
  /** `SessionLimits.askAnswerIntervalMs` */
  askAnswerIntervalMs: number
  /** Drops what the session knows of a log the peer is not (or no longer) entitled to. */
  forget: (logKey: string) => void
  /** Hears `sent`. */
  events: Pick<EventEmitter<SyncSessionEvents>, 'emit'>
}

/** Sends the turns of one session's logs. */
export class LogSender {
  readonly #peer: string
  readonly #store: Pick<SyncStore, 'heights' | 'wireOperationsAfter'>
  readonly #policy: SyncPolicy
  readonly #remote: Pick<RemoteHeights, 'get' | 'has' | 'heldBack' | 'takeAnchors'>
  readonly #receipts: Pick<Receipts, 'refusedSinceAsk' | 'asked'>
  readonly #writer: Pick<FrameWriter, 'send' | 'sendOps' | 'sendHave'>
  readonly #window: SendWindow
  readonly #queue: Pick<SendQueue, 'park' | 'requeue' | 'schedule'>
  readonly #sliceBytes: number
  readonly #batchSize: number
  readonly #askAnswerIntervalMs: number
  readonly #forget: (logKey: string) => void
  readonly #events: Pick<EventEmitter<SyncSessionEvents>, 'emit'>
  /** Logs whose `have` we sent and whose `synced` has not come yet. */
  readonly #awaiting = new Set<string>()
  /** Per log, when our `have` last answered the peer's `ask`, and the answer waiting for the interval to end. */
  readonly #askAnswered = new Map<string, number>()
  readonly #askDeferred = new Map<string, NodeJS.Timeout>()

  constructor(options: LogSenderOptions) {
    this.#peer = options.peer
    this.#store = options.store
    this.#policy = options.policy
    this.#remote = options.remote
    this.#receipts = options.receipts
    this.#writer = options.writer
    this.#window = options.window
    this.#queue = options.queue
    this.#sliceBytes = options.sliceBytes
    this.#batchSize = options.batchSize
    this.#askAnswerIntervalMs = options.askAnswerIntervalMs
    this.#forget = options.forget
    this.#events = options.events
  }

  /** The peer's `synced` of a log: whether it answers a `have` of ours (then no longer awaited). */
  answered(logKey: string): boolean {
    return this.#awaiting.delete(logKey)
  }

  /** Awaits no answer about a log the peer is not (or no longer) entitled to. */
  forget(logKey: string): void {
    this.#awaiting.delete(logKey)
    this.#askAnswered.delete(logKey)
    clearTimeout(this.#askDeferred.get(logKey))
    this.#askDeferred.delete(logKey)
  }

  /** Awaits nothing more, as the session ends. */
  clear(): void {
    this.#awaiting.clear()
    this.#askAnswered.clear()
    for (const timer of this.#askDeferred.values()) clearTimeout(timer)
    this.#askDeferred.clear()
  }

  /** Sends one log's turn. */
  async send(send: LogSend): Promise<void> {
    const { logId } = send
    const logKey = toHex(logId)
    if (!this.#policy.mayShare(this.#peer, logId)) {
      // Not shared (or no longer): nothing of it is kept or sent but the answer to the peer's own `have`.
      this.#forget(logKey)
      if (send.synced) await this.#writer.send({ type: 'synced', logId })
      return
    }
    if (send.have || (send.answerAsk && this.#mayAnswerAsk(logId))) {
      // Asked also of a peer whose heights we know once we refused some of its operations: its answer offers them again.
      const ask = send.ask && (!this.#remote.has(logKey) || this.#receipts.refusedSinceAsk(logKey))
      if (ask) this.#receipts.asked(logKey)
      // Before sending: the answer can be handled before the send returns.
      if (ask && !this.#remote.has(logKey) && send.push === 'all') await this.#sendAhead(logId)
      this.#awaiting.add(logKey)
      await this.#writer.sendHave(logId, this.#store.heights(logId), ask)
    }
    const heights = this.#remote.get(logKey)
    if (heights !== undefined && this.#goesOn(logId, heights)) {
      await this.#sendAnchors(logId)
      const heldBack = this.#remote.heldBack(logKey)
      const authors = (
        send.push === 'all' ? [...this.#store.heights(logId)].filter(([author, seq]) => seq > (heights.get(author) ?? -1)).map(([author]) => author) : [...send.push]
      ).filter((author) => heldBack?.has(author) !== true)
      let budget = this.#sliceBytes
      for (let i = 0; i < authors.length; i++) {
        const { bytes, more, blocked, stopped } = await this.#sendMissing(logId, authors[i]!, heights, budget)
        budget -= bytes
        if (stopped) break
        if (blocked) {
          this.#queue.park(logId, authors.slice(i), send.synced)
          return
        }
        if (more || (budget <= 0 && i + 1 < authors.length)) {
          // Its turn is over: the rest queues behind the other logs, `synced` with it.
          this.#queue.requeue(logId, authors.slice(more ? i : i + 1), send.synced)
          return
        }
      }
    }
    if (send.synced) await this.#writer.send({ type: 'synced', logId })
  }

  /**
   * Whether our `have` may answer the peer's `ask` of a log now: once per
   * {@link LogSenderOptions.askAnswerIntervalMs}, since a `have` with `ask`
   * of a few bytes would otherwise get all our heights of the log each
   * time. Within the interval, the answer is sent when it ends (one for
   * every `ask` meanwhile), with our heights then.
   */
  #mayAnswerAsk(logId: LogId): boolean {
    const logKey = toHex(logId)
    const now = Date.now()
    const last = this.#askAnswered.get(logKey)
    if (last === undefined || now - last >= this.#askAnswerIntervalMs) {
      this.#askAnswered.set(logKey, now)
      return true
    }
    if (!this.#askDeferred.has(logKey)) {
      const timer = setTimeout(() => {
        this.#askDeferred.delete(logKey)
        this.#queue.schedule(logId, { answerAsk: true })
      }, last + this.#askAnswerIntervalMs - now)
      this.#askDeferred.set(logKey, timer)
    }
    return false
  }

  /**
   * Sends, for each author whose height the peer announced and whose
   * operation at that height we hold, that operation's signed header without
   * its payload. The same operation is a no-op for the peer; a different one
   * is a fork, which the peer's store records with both headers as proof.
   * Without it, two nodes holding different operations at the same position
   * (two devices sharing one identity, an author telling peers different
   * things) would compare equal heights and never notice; and the
   * operations after that position would fail the peer's backlink check as
   * if we had sent garbage. About 250 bytes per author and `have`.
   */
  async #sendAnchors(logId: LogId): Promise<void> {
    const anchors = this.#remote.takeAnchors(toHex(logId))
    if (anchors === undefined) return
    const frame: WireOperation[] = []
    for (const [authorKey, seq] of anchors) {
      const row = this.#store.wireOperationsAfter(fromHex(authorKey), logId, seq - 1, 1)[0]
      if (row !== undefined && row.seq === seq) frame.push({ header: row.header, payload: null })
    }
    await this.#writer.sendOps(logId, frame)
  }

  /**
   * The first slice of a log just shared with the peer (it was invited, or
   * added as a member), sent ahead of our `have` that asks for its heights:
   * it most likely holds none of it, and waiting for its answer cost a round
   * trip (0.6 s on the live profile, most of what an invite waited once the
   * Welcome was written). The peer may not share the log yet (its side of
   * the invitation not processed) and then drops these unread, so nothing
   * here counts as delivered: neither its heights nor the send window take
   * them. Its answer to our `have`, written after it handled them, says what
   * it still lacks, which is pushed as usual.
   */
  async #sendAhead(logId: LogId): Promise<void> {
    let budget = this.#sliceBytes
    const ops: WireOperation[] = []
    for (const [authorKey] of this.#store.heights(logId)) {
      if (budget <= 0) break
      for (const row of this.#store.wireOperationsAfter(fromHex(authorKey), logId, -1, this.#batchSize, budget)) {
        ops.push(row)
        budget -= wireBytes(row)
      }
    }
    await this.#writer.sendOps(logId, ops)
  }

  /**
   * Whether a log's turn may go on sending: the turn awaits the stream
   * between frames, and meanwhile the peer may lose the right to the log (a
   * member removed) or the session forget it. Forgets a log no longer
   * shared, so that nothing more of it is sent, and `heights` (forgotten)
   * counts nothing more against `SessionLimits.maxRememberedHeights`.
   */
  #goesOn(logId: LogId, heights: LogHeights): boolean {
    const logKey = toHex(logId)
    if (this.#remote.get(logKey) !== heights) return false
    if (this.#policy.mayShare(this.#peer, logId)) return true
    this.#forget(logKey)
    return false
  }

  /**
   * Sends what the peer lacks of one author's log, after its known height,
   * up to about `budget` bytes (at least one operation). `more` when the
   * budget ran out before the log did; `stopped` when the log stopped being
   * shared, or was forgotten, meanwhile.
   */
  async #sendMissing(logId: LogId, authorKey: string, heights: LogHeights, budget: number): Promise<{ bytes: number; more: boolean; blocked?: true; stopped?: true }> {
    const author = fromHex(authorKey)
    const logKey = toHex(logId)
    let sent = 0
    for (;;) {
      if (!this.#goesOn(logId, heights)) return { bytes: sent, more: false, stopped: true }
      const after = heights.get(authorKey) ?? -1
      const ops = this.#store.wireOperationsAfter(author, logId, after, this.#batchSize, Math.max(1, budget - sent))
      if (ops.length === 0) return { bytes: sent, more: false }
      const batch = ops.reduce((n, op) => n + wireBytes(op), 0)
      if (!this.#window.open && batch > SMALL_BATCH_BYTES) return { bytes: sent, more: true, blocked: true }
      sent += await this.#writer.sendOps(logId, ops, {
        proceed: () => this.#goesOn(logId, heights),
        framed: (last, bytes) => this.#window.sent(logKey, authorKey, last.seq, bytes, Date.now()),
        sent: (last) => this.#events.emit('sent', { logId, author, seq: last.seq }),
      })
      heights.raise(authorKey, ops.at(-1)!.seq)
      const exhausted = ops.length < this.#batchSize && sent < budget
      if (exhausted) return { bytes: sent, more: false }
      if (sent >= budget) return { bytes: sent, more: true }
    }
  }
}
