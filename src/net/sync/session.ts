import { EventEmitter } from 'node:events'
import type { Logger } from '../../logging.js'
import { silentLogger } from '../../logging.js'
import { BurrowError } from '../../errors.js'
import { withTimeout } from '../../util/async.js'
import { fromHex, toHex } from '../../log/bytes.js'
import { DEFAULT_LIMITS, type DecodeLimits, type LogId, type Operation } from '../../log/types.js'
import type { ForkProof } from '../../log/fork.js'
import type { Header } from '../../log/types.js'
import type { IngestResult, WireRow } from '../../store/log-store.js'
import type { ByteChannel } from './channel.js'
import { asError, reasonOf, SyncError } from './errors.js'
import { DEFAULT_FRAME_LIMITS, type AuthorHeight, type FrameLimits } from './frames.js'
import { FrameWriter, WRITE_HIGH_WATER } from './frame-writer.js'
import { RemoteHeights } from './remote-heights.js'
import { Receipts } from './receipts.js'
import { FrameInbox } from './inbox.js'
import { Ingest, type ReceivedFrame } from './ingest.js'
import { SendWindow } from './send-window.js'
import { SendQueue } from './send-queue.js'
import { LogSender, SEND_SLICE_BYTES } from './log-sender.js'
import type { VerifierPool } from '../../log/verify-pool.js'

/** What a sync session needs from the log store (`LogStore` fits). */
export interface SyncStore {
  /** Highest seq by author (hex); a fresh map each call, which the caller may change. */
  heights(logId: LogId): Map<string, number>
  /** Highest seq of one author (hex), without copying the log's heights. */
  heightOf(logId: LogId, author: string): number | undefined
  /** At most `limit` rows, and no more than the first row that reaches `maxBytes` (headers and payloads). */
  wireOperationsAfter(author: Uint8Array, logId: LogId, afterSeq: number, limit: number, maxBytes?: number): WireRow[]
  ingest(ops: readonly Operation[]): IngestResult
}

/** Which logs a peer is entitled to: the only ones offered to it, and the only ones accepted from it. */
export interface SyncPolicy {
  sharedLogs(peer: string): LogId[]
  mayShare(peer: string, logId: LogId): boolean
  /**
   * Whether an operation of a shared log is wanted at all (a file log takes
   * only its sender's chunks, and no more than it announced). Operations it
   * refuses are dropped unread, like those of an unshared log. Default: all.
   */
  accepts?(peer: string, header: Header): boolean
}

/** Events of a {@link SyncSession}. */
export interface SyncSessionEvents {
  /**
   * The peer answered our `have` for `logId` (its `synced`): we hold what it
   * held when it read it. At most once per `have` of ours, not once for
   * each: a `have` sent while an earlier one is unanswered gets no event of
   * its own. It may come early: the peer also answers our confirmations
   * (receipts.ts) with `synced`, and nothing on the wire tells which `have`
   * a `synced` answers, so the answer to a confirmation sent before our
   * `have` is taken as its answer (see docs/sync-protocol.md, `synced`).
   */
  'caught-up': [{ logId: LogId }]
  /** Operations from the peer were validated and stored (`stored` counts the new ones). */
  ingested: [{ logId: LogId; operations: Operation[]; stored: number }]
  /** The stream took an `ops` frame of ours: the peer now has `author`'s log up to `seq` (once it reads them). */
  sent: [{ logId: LogId; author: Uint8Array; seq: number }]
  /** Conflicting operations by one author were seen; the proof is stored. */
  fork: [ForkProof]
  /** An ephemeral message from the peer (never stored), within {@link SessionLimits.ephemeralPerSecond}. */
  ephemeral: [{ logId: LogId; data: Uint8Array }]
  /** The session ended; `error` is set when the peer misbehaved or the stream failed. */
  closed: [{ error?: Error }]
}

/**
 * Bounds on what one session holds for, and takes from, its peer. Every
 * allow-listed peer may be hostile: none of these grows with what it sends.
 */
export interface SessionLimits {
  /**
   * Heights of the peer a session remembers, in entries: one per log shared
   * with the peer, one per author of such a log whose operations we hold
   * (the peer's word about other authors is not kept). About 110 bytes
   * each (measured), so the default 32,768 hold 3.4 MiB. Beyond it the session
   * ends with `SYNC_LIMIT`: reaching it takes that many (log, author) pairs
   * in our own store.
   */
  maxRememberedHeights: number
  /**
   * Answers (`synced`) to `have` frames of logs not shared with the peer that
   * may wait unsent. Default 1,024; beyond it the session ends with
   * `SYNC_LIMIT`. A peer that reads what we send never gets near it.
   */
  maxUnsharedAnswers: number
  /** Bytes of our ephemeral messages that may wait for the peer. Default 256 KiB; beyond it `sendEphemeral` fails with `SYNC_SEND_BACKLOG`. */
  maxQueuedEphemeralBytes: number
  /** Ephemeral messages from the peer handed to the app per second, in bursts of as many. Default 32; the rest are dropped. */
  ephemeralPerSecond: number
  /**
   * How long the peer may take none of the bytes we have queued for it
   * before the session ends with `SYNC_PEER_STALLED`. Default 60 s.
   *
   * Why 60 s: a live circuit moves 1 MB/s or more, so a reading peer takes
   * the {@link WRITE_HIGH_WATER} of queued bytes in well under a second;
   * but an honest peer may stop reading for seconds (its store validating
   * what we sent, or an MLS join of a large group holding its event loop:
   * 14 s at 1,000 members), and a relay restart stalls a circuit for a few
   * seconds. A silent connection already gets 60 s from libp2p's connection
   * monitor (`TOR_TIMEOUTS.pingTimeoutMs`), so a dead circuit ends there;
   * this bound catches a peer that keeps its connection alive and never
   * reads. Waiting costs little: what waits for it is bounded.
   */
  drainTimeoutMs: number
  /**
   * Our `have` answering the peer's `ask` of a log goes out at most once per
   * this interval; an `ask` within it is answered when it ends. Default
   * 10 s. A `have` with `ask` costs the peer some 40 bytes, our answer all
   * our heights of the log (42 KB at 1,000 authors). An honest peer asks
   * when the log becomes shared on its side, and after it refused some of
   * our operations; then it needs our push (never held back) more than our
   * heights, which it knows.
   */
  askAnswerIntervalMs: number
}

/** Default session limits. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  maxRememberedHeights: 32_768,
  maxUnsharedAnswers: 1_024,
  maxQueuedEphemeralBytes: 256 * 1024,
  ephemeralPerSecond: 32,
  drainTimeoutMs: 60_000,
  askAnswerIntervalMs: 10_000,
})

/** Options of a {@link SyncSession}. */
export interface SyncSessionOptions {
  /** The remote peer's id (a PeerId string); only used with the policy and in logs. */
  peer: string
  channel: ByteChannel
  store: SyncStore
  policy: SyncPolicy
  frameLimits?: FrameLimits
  decodeLimits?: DecodeLimits
  limits?: Partial<SessionLimits>
  /** Operations read from the store per batch when catching a peer up. Default 256. */
  batchSize?: number
  /**
   * Bytes of operations one log may send before the other waiting logs get
   * their turn. Default {@link SEND_SLICE_BYTES}.
   */
  sliceBytes?: number
  /**
   * Flush an `ops` frame once it holds this many bytes. Default 128 KiB: the
   * receiver validates nothing of a frame before all of it has arrived, so
   * small frames keep validation overlapped with the transfer (with 1 MiB
   * frames, the last one alone held the end of a catch-up for ~150 ms).
   */
  frameTargetBytes?: number
  /**
   * Checks the signatures of a received frame's operations ahead of the
   * store, while earlier frames are stored (a `VerifierPool`, which the
   * sync manager shares among its sessions). Without one, the store checks
   * them as it validates.
   */
  verifier?: Pick<VerifierPool, 'verify'>
  logger?: Logger
}

/** How long a graceful close may wait for the peer before the stream is reset. */
const CLOSE_GRACE_MS = 5_000

/**
 * One peer's end of `/burrow/sync/1` over one long-lived stream. Both ends
 * run the same code: each sends `have` for the logs it shares with the
 * other, answers the other's `have` with the operations it lacks and a
 * `synced`, then pushes new operations as they are stored (`offer`).
 *
 * Every received operation is decoded with size limits and validated by the
 * store before anything is kept; the first invalid one ends the session with
 * a {@link SyncError} `SYNC_PROTOCOL`, and nothing invalid is stored.
 *
 * What the session holds is bounded whatever the peer does
 * ({@link SessionLimits}): nothing of logs not shared with the peer;
 * received frames up to 1 MiB and one frame; one coalesced entry per log
 * waiting to be sent; and the stream's own queue up to
 * {@link WRITE_HIGH_WATER} and one frame, which must drain within
 * {@link SessionLimits.drainTimeoutMs}.
 *
 * The session decides what each frame means and when a log is forgotten,
 * and hands the work to its parts: the inbox (inbox.ts) reads frames in
 * order, the ingest (ingest.ts) stores what the peer sent, the receipts
 * (receipts.ts) confirm and refuse it, the remote heights
 * (remote-heights.ts) say what the peer holds, the send queue
 * (send-queue.ts) orders what waits, the log sender (log-sender.ts) sends
 * a log's turn, and the frame writer (frame-writer.ts) puts frames on the
 * stream.
 */
export class SyncSession extends EventEmitter<SyncSessionEvents> {
  readonly peer: string
  readonly #channel: ByteChannel
  readonly #store: SyncStore
  readonly #policy: SyncPolicy
  readonly #frameLimits: FrameLimits
  readonly #limits: SessionLimits
  readonly #writer: FrameWriter
  readonly #remote: RemoteHeights
  readonly #receipts: Receipts
  readonly #ingest: Ingest
  readonly #inbox: FrameInbox<ReceivedFrame>
  readonly #queue: SendQueue
  readonly #sender: LogSender
  readonly #log: Logger
  /** Our operations in flight to the peer, and how many may be (send-window.ts). */
  readonly #window = new SendWindow()
  #ephemeralTokens: number
  #ephemeralTokensAt = Date.now()
  #warnedEphemeral = false
  #closed = false
  #done: Promise<void> | undefined

  constructor(options: SyncSessionOptions) {
    super()
    this.peer = options.peer
    this.#channel = options.channel
    this.#store = options.store
    this.#policy = options.policy
    this.#frameLimits = options.frameLimits ?? DEFAULT_FRAME_LIMITS
    this.#limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits }
    this.#log = (options.logger ?? silentLogger).child({ peer: options.peer })
    this.#remote = new RemoteHeights(options.store, this.#limits.maxRememberedHeights)
    this.#writer = new FrameWriter({
      channel: options.channel,
      frameLimits: this.#frameLimits,
      frameTargetBytes: Math.min(options.frameTargetBytes ?? 128 * 1024, this.#frameLimits.maxFrameBytes / 2),
      drainTimeoutMs: this.#limits.drainTimeoutMs,
      closed: () => this.#closed,
    })
    this.#queue = new SendQueue({
      writer: this.#writer,
      window: this.#window,
      sendLog: (send) => this.#sender.send(send),
      maxUnsharedAnswers: this.#limits.maxUnsharedAnswers,
      maxQueuedEphemeralBytes: this.#limits.maxQueuedEphemeralBytes,
      closed: () => this.#closed,
      close: (error) => this.close(error),
      failed: (err) => this.#failed(err),
      log: this.#log,
    })
    this.#receipts = new Receipts({
      peer: options.peer,
      policy: options.policy,
      writer: this.#writer,
      maxAuthorsPerFrame: this.#frameLimits.maxAuthorsPerFrame,
      closed: () => this.#closed,
      failed: (err) => this.#failed(err),
    })
    this.#sender = new LogSender({
      peer: options.peer,
      store: options.store,
      policy: options.policy,
      remote: this.#remote,
      receipts: this.#receipts,
      writer: this.#writer,
      window: this.#window,
      queue: this.#queue,
      sliceBytes: options.sliceBytes ?? SEND_SLICE_BYTES,
      batchSize: options.batchSize ?? 256,
      askAnswerIntervalMs: this.#limits.askAnswerIntervalMs,
      forget: (logKey) => this.#forget(logKey),
      events: this,
    })
    this.#ingest = new Ingest({
      peer: options.peer,
      store: options.store,
      policy: options.policy,
      frameLimits: this.#frameLimits,
      decodeLimits: options.decodeLimits ?? DEFAULT_LIMITS,
      verifier: options.verifier,
      remote: this.#remote,
      receipts: this.#receipts,
      events: this,
      closed: () => this.#closed,
    })
    this.#inbox = new FrameInbox({
      channel: options.channel,
      frameLimits: this.#frameLimits,
      receive: (body) => this.#ingest.receive(body),
      handle: (received) => this.#handle(received),
      closed: () => this.#closed,
      close: (error) => this.close(error),
    })
    this.#ephemeralTokens = this.#limits.ephemeralPerSecond
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Starts the session: announces our shared logs and reads until the stream ends. Resolves when the session is over. */
  start(): Promise<void> {
    this.#done ??= (async () => {
      // The peer announces its own logs as it starts: nothing to ask for.
      for (const logId of this.#policy.sharedLogs(this.peer)) this.#queue.schedule(logId, { have: true, push: 'all' })
      await this.#inbox.run()
    })()
    return this.#done
  }

  /**
   * Announces a log that became shared with this peer (a new group, a new
   * member), and pushes what the peer lacks if it already told us its
   * heights. If it has not, our `have` asks for them: the peer may have
   * named the log while it was not shared yet, and we kept nothing of that.
   */
  share(logId: LogId): void {
    if (this.#policy.mayShare(this.peer, logId)) this.#queue.schedule(logId, { have: true, ask: true, push: 'all' })
  }

  /** Asks the peer again for what we refused of it (we can take it now: room again on disk), log by log. */
  askRefused(): void {
    for (const logKey of this.#receipts.refusedLogs()) this.share(fromHex(logKey))
  }

  /**
   * Live push: operations just stored locally (written here or received from
   * another peer). Sends whatever the peer lacks of their logs, in order;
   * logs it is not entitled to, or whose heights it has not told us yet, are skipped.
   */
  offer(ops: readonly Operation[]): void {
    // Entitlements change (a member removed): check now, once per log of the batch.
    const shared = new Map<string, boolean>()
    for (const op of ops) {
      const { logId, author, seq } = op.header
      const logKey = toHex(logId)
      let mayShare = shared.get(logKey)
      if (mayShare === undefined) shared.set(logKey, (mayShare = this.#policy.mayShare(this.peer, logId)))
      const heights = this.#remote.get(logKey)
      if (!mayShare || heights === undefined) continue
      const authorKey = toHex(author)
      if ((heights.get(authorKey) ?? -1) < seq) this.#queue.schedule(logId, { push: authorKey })
    }
  }

  /** Sends an ephemeral message on a shared log. Never stored by either side. */
  sendEphemeral(logId: LogId, data: Uint8Array): Promise<void> {
    if (!this.#policy.mayShare(this.peer, logId)) return Promise.reject(new SyncError('SYNC_NOT_SHARED'))
    if (data.length > this.#frameLimits.maxEphemeralBytes) {
      return Promise.reject(new SyncError('SYNC_EPHEMERAL_TOO_LARGE', `ephemeral messages are limited to ${this.#frameLimits.maxEphemeralBytes} bytes`))
    }
    if (this.#closed) return Promise.reject(new SyncError('SYNC_CLOSED'))
    return this.#queue.ephemeral(logId, data)
  }

  /** Ends the session. With an error, the stream is reset (the peer misbehaved or we are cutting it off). */
  async close(error?: Error): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#queue.clear()
    this.#remote.clear()
    this.#sender.clear()
    this.#receipts.clear()
    if (error) {
      this.#log.warn({ code: error instanceof BurrowError ? error.code : undefined, reason: reasonOf(error) }, 'sync session aborted')
      this.#channel.abort(error)
    } else {
      // A graceful close waits for the peer; on a dead circuit that never comes.
      await withTimeout(this.#channel.close(), CLOSE_GRACE_MS, 'closing the sync stream').catch(() => this.#channel.abort(new SyncError('SYNC_CLOSED')))
    }
    this.emit('closed', error ? { error } : {})
  }

  /** A send that failed ends the session, unless the session ending made it fail. */
  #failed(err: unknown): void {
    if (!(err instanceof SyncError && err.code === 'SYNC_CLOSED')) void this.close(asError(err))
  }

  /** Drops what we know of a log the peer is not (or no longer) entitled to. */
  #forget(logKey: string): void {
    this.#remote.forget(logKey)
    this.#sender.forget(logKey)
    this.#queue.forget(logKey)
    this.#window.forget(logKey)
    this.#queue.unpark()
  }

  async #handle(received: ReceivedFrame): Promise<void> {
    if ('error' in received) throw received.error
    const { frame } = received
    const { logId } = frame
    if (!this.#policy.mayShare(this.peer, logId)) {
      // Views of membership converge over time (a removed member learns it
      // late, if ever): data for a log we do not share with this peer is
      // dropped unread, not treated as an attack. Nothing of it is kept.
      this.#forget(toHex(logId))
      // Answered, because the peer named the log itself: this reveals nothing.
      if (frame.type === 'have') this.#queue.schedule(logId, { synced: true }, true)
      return
    }
    switch (frame.type) {
      case 'have':
        this.#confirmed(logId, frame.heights)
        this.#remote.learn(logId, frame.heights)
        // The peer asks what it lacks: what it refused before may be taken now (a keeper with room again, a member it knows now).
        if (frame.ask === true) this.#remote.releaseHeldBack(toHex(logId))
        this.#queue.schedule(logId, frame.ask === true ? { answerAsk: true, push: 'all', synced: true } : { push: 'all', synced: true })
        return
      case 'ops':
        await this.#ingest.take(logId, frame.ops, received)
        return
      case 'synced':
        // Only as the answer to our `have`: a peer's stray `synced` reaches nobody.
        if (this.#sender.answered(toHex(logId))) this.emit('caught-up', { logId })
        return
      case 'ephemeral':
        if (this.#takeEphemeralToken()) this.emit('ephemeral', { logId, data: frame.data })
        return
      case 'refused':
        this.#refusedByPeer(logId, frame.from)
        return
    }
  }

  /**
   * The peer dropped our operations of these authors from `seq` on: they
   * leave the window, count as undelivered, and are held back until the
   * peer's next `have` with `ask`. Authors we do not hold are ignored, so
   * what the peer names costs nothing beyond our own store.
   */
  #refusedByPeer(logId: LogId, from: readonly AuthorHeight[]): void {
    const logKey = toHex(logId)
    let freed = false
    for (const { author, seq } of from) {
      const authorKey = toHex(author)
      if (this.#store.heightOf(logId, authorKey) === undefined) continue
      freed = this.#window.refused(logKey, authorKey, seq) || freed
      this.#remote.refused(logKey, authorKey, seq)
    }
    if (freed) this.#queue.unpark()
  }

  /** The peer's heights free what they cover of our window; a log set aside may then go on. */
  #confirmed(logId: LogId, heights: readonly AuthorHeight[]): void {
    const logKey = toHex(logId)
    const now = Date.now()
    let freed = false
    for (const { author, seq } of heights) freed = this.#window.confirm(logKey, toHex(author), seq, now) || freed
    if (freed) this.#queue.unpark()
  }

  /** Token bucket of {@link SessionLimits.ephemeralPerSecond}: false when the peer is over its rate. */
  #takeEphemeralToken(): boolean {
    const now = Date.now()
    const rate = this.#limits.ephemeralPerSecond
    this.#ephemeralTokens = Math.min(rate, this.#ephemeralTokens + ((now - this.#ephemeralTokensAt) * rate) / 1000)
    this.#ephemeralTokensAt = now
    if (this.#ephemeralTokens >= 1) {
      this.#ephemeralTokens--
      return true
    }
    if (!this.#warnedEphemeral) {
      this.#warnedEphemeral = true
      this.#log.warn({ perSecond: rate }, 'dropping ephemeral messages beyond the rate limit')
    }
    return false
  }
}
