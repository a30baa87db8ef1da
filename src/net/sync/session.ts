import { EventEmitter } from 'node:events'
import { setImmediate as yieldToIo } from 'node:timers/promises'
import type { Logger } from '../../logging.js'
import { silentLogger } from '../../logging.js'
import { BurrowError } from '../../errors.js'
import { withTimeout } from '../../util/async.js'
import { decodeOperation } from '../../log/operation.js'
import { bytesEqual, fromHex, toHex } from '../../log/bytes.js'
import { DEFAULT_LIMITS, type DecodeLimits, type LogId, type Operation } from '../../log/types.js'
import type { ForkProof } from '../../log/fork.js'
import type { IngestResult, WireRow } from '../../store/log-store.js'
import { LogForkedError } from '../../store/errors.js'
import { drainedTo, type ByteChannel } from './channel.js'
import { SyncError } from './errors.js'
import { DEFAULT_FRAME_LIMITS, FrameDecoder, encodeFrame, type FrameLimits, type SyncFrame, type WireOperation } from './frames.js'

/** What a sync session needs from the log store (`LogStore` fits). */
export interface SyncStore {
  heights(logId: LogId): Map<string, number>
  wireOperationsAfter(author: Uint8Array, logId: LogId, afterSeq: number, limit: number): WireRow[]
  ingest(ops: readonly Operation[]): IngestResult
}

/** Which logs a peer is entitled to: the only ones offered to it, and the only ones accepted from it. */
export interface SyncPolicy {
  sharedLogs(peer: string): LogId[]
  mayShare(peer: string, logId: LogId): boolean
}

/** Events of a {@link SyncSession}. */
export interface SyncSessionEvents {
  /** The peer finished answering our `have` for `logId`: we hold what it held then. */
  'caught-up': [{ logId: LogId }]
  /** Operations from the peer were validated and stored (`stored` counts the new ones). */
  ingested: [{ logId: LogId; operations: Operation[]; stored: number }]
  /** Conflicting operations by one author were seen; the proof is stored. */
  fork: [ForkProof]
  /** An ephemeral message from the peer (never stored). */
  ephemeral: [{ logId: LogId; data: Uint8Array }]
  /** The session ended; `error` is set when the peer misbehaved or the stream failed. */
  closed: [{ error?: Error }]
}

/** Options of a {@link SyncSession}. */
export interface SyncSessionOptions {
  /** The remote peer's id (a PeerId string); only used with the policy and in logs. */
  peer: string
  channel: ByteChannel
  store: SyncStore
  policy: SyncPolicy
  frameLimits?: FrameLimits
  decodeLimits?: DecodeLimits
  /** Operations read from the store per batch when catching a peer up. Default 256. */
  batchSize?: number
  /**
   * Flush an `ops` frame once it holds this many bytes. Default 128 KiB: the
   * receiver validates nothing of a frame before all of it has arrived, so
   * small frames keep validation overlapped with the transfer (with 1 MiB
   * frames, the last one alone held the end of a catch-up for ~150 ms).
   */
  frameTargetBytes?: number
  logger?: Logger
}

const key = (logId: LogId): string => toHex(logId)

/**
 * Bytes queued on the stream beyond which a session waits before sending more: about
 * 60 ms of a circuit at 4 MB/s, so the connection never runs dry while the
 * next batch is read and encoded, and a catch-up streams from the store
 * instead of piling up in memory.
 */
export const WRITE_HIGH_WATER = 256 * 1024

/**
 * Operations validated and stored per slice (and transaction) of a received
 * frame: about 15 ms of work with their signature checks, so that a frame of
 * many small operations does not hold the event loop for long.
 */
const INGEST_SLICE = 128

/**
 * Received frames queued for handling (about 1 MiB of our frames). Beyond
 * it the channel is paused until the store catches up: the peer then gets no
 * more send window, and what we buffer stays bounded however slow we are.
 */
const MAX_QUEUED_FRAMES = 8

/** How long a graceful close may wait for the peer before the stream is reset. */
const CLOSE_GRACE_MS = 5_000

/** Heights remembered for logs not (yet) shared with the peer: a bound against a peer naming endless logs. */
const MAX_REMEMBERED_LOGS = 1_024

/**
 * One peer's end of `/burrow/sync/1` over one long-lived stream. Both ends
 * run the same code: each sends `have` for the logs it shares with the
 * other, answers the other's `have` with the operations it lacks and a
 * `synced`, then pushes new operations as they are stored (`offer`).
 *
 * Every received operation is decoded with size limits and validated by the
 * store before anything is kept; the first invalid one ends the session with
 * a {@link SyncError} `SYNC_PROTOCOL`, and nothing invalid is stored.
 */
export class SyncSession extends EventEmitter<SyncSessionEvents> {
  readonly peer: string
  readonly #channel: ByteChannel
  readonly #store: SyncStore
  readonly #policy: SyncPolicy
  readonly #decoder: FrameDecoder
  readonly #frameLimits: FrameLimits
  readonly #decodeLimits: DecodeLimits
  readonly #batchSize: number
  readonly #frameTargetBytes: number
  readonly #log: Logger
  /** What the peer holds, per log and author, as far as we know: learnt from its `have`, and from what passed between us since. */
  readonly #remote = new Map<string, Map<string, number>>()
  #sendChain: Promise<void> = Promise.resolve()
  #closed = false
  #done: Promise<void> | undefined

  constructor(options: SyncSessionOptions) {
    super()
    this.peer = options.peer
    this.#channel = options.channel
    this.#store = options.store
    this.#policy = options.policy
    this.#frameLimits = options.frameLimits ?? DEFAULT_FRAME_LIMITS
    this.#decodeLimits = options.decodeLimits ?? DEFAULT_LIMITS
    this.#decoder = new FrameDecoder(this.#frameLimits)
    this.#batchSize = options.batchSize ?? 256
    this.#frameTargetBytes = Math.min(options.frameTargetBytes ?? 128 * 1024, this.#frameLimits.maxFrameBytes / 2)
    this.#log = (options.logger ?? silentLogger).child({ peer: options.peer })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Starts the session: announces our shared logs and reads until the stream ends. Resolves when the session is over. */
  start(): Promise<void> {
    this.#done ??= (async () => {
      for (const logId of this.#policy.sharedLogs(this.peer)) this.share(logId)
      await this.#readLoop()
    })()
    return this.#done
  }

  /**
   * Announces a log that became shared with this peer (a new group, a new
   * member), and pushes what the peer lacks if it already told us its heights.
   */
  share(logId: LogId): void {
    if (!this.#policy.mayShare(this.peer, logId)) return
    this.#enqueue(async () => {
      const heights = [...this.#store.heights(logId)].map(([author, seq]) => ({ author: fromHex(author), seq }))
      await this.#send({ type: 'have', logId, heights })
    })
    this.#pushAhead(logId)
  }

  /**
   * Live push: operations just stored locally (written here or received from
   * another peer). Sends whatever the peer lacks of their logs, in order;
   * logs it is not entitled to, or whose heights it has not told us yet, are skipped.
   */
  offer(ops: readonly Operation[]): void {
    const targets = new Map<string, { logId: LogId; author: Uint8Array }>()
    for (const op of ops) {
      const { logId, author, seq } = op.header
      // Entitlements change (a member removed): check now, not only at `have` time.
      if (!this.#policy.mayShare(this.peer, logId)) continue
      const heights = this.#remote.get(key(logId))
      if (heights === undefined || (heights.get(toHex(author)) ?? -1) >= seq) continue
      targets.set(`${key(logId)}/${toHex(author)}`, { logId, author })
    }
    for (const { logId, author } of targets.values()) this.#enqueue(() => this.#sendMissing(logId, author))
  }

  /** Sends an ephemeral message on a shared log. Never stored by either side. */
  sendEphemeral(logId: LogId, data: Uint8Array): Promise<void> {
    if (!this.#policy.mayShare(this.peer, logId)) {
      return Promise.reject(new SyncError('SYNC_NOT_SHARED'))
    }
    if (data.length > this.#frameLimits.maxEphemeralBytes) {
      return Promise.reject(new SyncError('SYNC_EPHEMERAL_TOO_LARGE', `ephemeral messages are limited to ${this.#frameLimits.maxEphemeralBytes} bytes`))
    }
    return this.#enqueue(() => this.#send({ type: 'ephemeral', logId, data }))
  }

  /** Ends the session. With an error, the stream is reset (the peer misbehaved or we are cutting it off). */
  async close(error?: Error): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (error) {
      this.#log.warn({ code: error instanceof BurrowError ? error.code : undefined, reason: error.message }, 'sync session aborted')
      this.#channel.abort(error)
    } else {
      // A graceful close waits for the peer; on a dead circuit that never comes.
      await withTimeout(this.#channel.close(), CLOSE_GRACE_MS, 'closing the sync stream').catch(() => this.#channel.abort(new SyncError('SYNC_CLOSED')))
    }
    this.emit('closed', error ? { error } : {})
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#sendChain.then(async () => {
      if (this.#closed) throw new SyncError('SYNC_CLOSED')
      await task()
    })
    // The chain itself never rejects, so one failed send does not poison later ones.
    this.#sendChain = run.catch((err: unknown) => {
      if (!(err instanceof SyncError && err.code === 'SYNC_CLOSED')) void this.close(err instanceof Error ? err : new Error(String(err)))
    })
    return run
  }

  async #send(frame: SyncFrame): Promise<void> {
    if (this.#closed) throw new SyncError('SYNC_CLOSED')
    this.#channel.send(encodeFrame(frame))
    if (!(await drainedTo(this.#channel, WRITE_HIGH_WATER, () => !this.#closed))) throw new SyncError('SYNC_CLOSED')
  }

  /** Streams everything after the peer's known height for one author's log. */
  async #sendMissing(logId: LogId, author: Uint8Array): Promise<void> {
    const heights = this.#remote.get(key(logId))
    if (heights === undefined || !this.#policy.mayShare(this.peer, logId)) return
    const authorKey = toHex(author)
    for (;;) {
      const after = heights.get(authorKey) ?? -1
      const ops = this.#store.wireOperationsAfter(author, logId, after, this.#batchSize)
      if (ops.length === 0) return
      let frame: WireOperation[] = []
      let bytes = 0
      for (const op of ops) {
        frame.push({ header: op.header, payload: op.payload })
        bytes += op.header.length + (op.payload?.length ?? 0)
        if (bytes >= this.#frameTargetBytes || frame.length >= this.#frameLimits.maxOpsPerFrame) {
          await this.#send({ type: 'ops', logId, ops: frame })
          frame = []
          bytes = 0
        }
      }
      if (frame.length > 0) await this.#send({ type: 'ops', logId, ops: frame })
      heights.set(authorKey, Math.max(after, ops.at(-1)!.seq))
      if (ops.length < this.#batchSize) return
    }
  }

  /** Queues sending, per author, whatever we hold beyond the peer's known height in `logId`. */
  #pushAhead(logId: LogId): void {
    const heights = this.#remote.get(key(logId))
    if (heights === undefined) return
    for (const [author, seq] of this.#store.heights(logId)) {
      if (seq > (heights.get(author) ?? -1)) this.#enqueue(() => this.#sendMissing(logId, fromHex(author)))
    }
  }

  /**
   * Reads frames and handles them strictly in order, one at a time, reading
   * ahead by at most {@link MAX_QUEUED_FRAMES} frames while an earlier one is
   * validated and stored; beyond that the channel is paused.
   */
  async #readLoop(): Promise<void> {
    // Each step never rejects: a failing one closes the session, and the steps after it see that.
    let inbox: Promise<void> = Promise.resolve()
    const queued: Promise<void>[] = []
    // Frames read and not yet handled.
    let pending = 0
    try {
      for await (const chunk of this.#channel) {
        if (this.#closed) break
        for (const frame of this.#decoder.push(chunk)) {
          pending++
          inbox = inbox
            .then(() => (this.#closed ? undefined : this.#handle(frame)))
            .catch((err: unknown) => this.close(err instanceof Error ? err : new Error(String(err))))
            .then(() => void pending--)
          queued.push(inbox)
          if (queued.length <= MAX_QUEUED_FRAMES) continue
          const oldest = queued.shift()!
          // Only a full inbox pauses: each resume sends the peer a window update.
          if (pending > MAX_QUEUED_FRAMES) await this.#paused(oldest)
        }
      }
      await inbox
      await this.close()
    } catch (err) {
      // Garbage or a broken stream: what arrived before it is still handled.
      await inbox
      await this.close(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Holds the channel paused until `until` settles (the inbox has room again). */
  async #paused(until: Promise<void>): Promise<void> {
    this.#channel.pause()
    try {
      await until
    } finally {
      this.#channel.resume()
    }
  }

  async #handle(frame: SyncFrame): Promise<void> {
    const shared = this.#policy.mayShare(this.peer, frame.logId)
    switch (frame.type) {
      case 'have': {
        // Remembered even before the log is shared with this peer: entitlement
        // can follow a moment later (an invitation), and then we know what to push.
        const logKey = key(frame.logId)
        if (shared || this.#remote.has(logKey) || this.#remote.size < MAX_REMEMBERED_LOGS) {
          this.#remote.set(logKey, new Map(frame.heights.map((h) => [toHex(h.author), h.seq])))
        }
        if (shared) this.#pushAhead(frame.logId)
        // Answered even when not shared: the peer named the log itself, so this reveals nothing.
        void this.#enqueue(() => this.#send({ type: 'synced', logId: frame.logId }))
        return
      }
      case 'ops':
        // Views of membership converge over time (a removed member learns it
        // late, if ever): data for a log we do not share with this peer is
        // dropped unread, not treated as an attack.
        if (!shared) {
          this.#log.debug('dropped operations of a log not shared with this peer')
          return
        }
        await this.#ingest(frame.logId, this.#decode(frame.logId, frame.ops))
        return
      case 'synced':
        this.emit('caught-up', { logId: frame.logId })
        return
      case 'ephemeral':
        if (shared) this.emit('ephemeral', { logId: frame.logId, data: frame.data })
        return
    }
  }

  #decode(logId: LogId, wire: WireOperation[]): Operation[] {
    return wire.map((w) => {
      let op: Operation
      try {
        op = decodeOperation(w.header, w.payload ?? undefined, this.#decodeLimits)
      } catch (cause) {
        throw new SyncError('SYNC_PROTOCOL', `the peer sent a malformed operation (${cause instanceof BurrowError ? cause.code : 'error'})`, { cause })
      }
      if (!bytesEqual(op.header.logId, logId)) throw new SyncError('SYNC_PROTOCOL', 'an operation does not belong to the log of its frame')
      return op
    })
  }

  /**
   * Validates and stores a frame's operations in slices, yielding the event
   * loop between them, so that reads and window updates keep flowing (and the
   * circuit full) while a frame is validated.
   */
  async #ingest(logId: LogId, ops: Operation[]): Promise<void> {
    for (let i = 0; i < ops.length; i += INGEST_SLICE) {
      if (i > 0) await yieldToIo()
      if (this.#closed) return
      this.#keep(logId, ops.slice(i, i + INGEST_SLICE))
    }
  }

  #keep(logId: LogId, ops: Operation[]): void {
    const result = this.#store.ingest(ops)
    for (const proof of result.forks) this.emit('fork', proof)
    // A forked author's later operations are refused by the store, but relaying them is no fault of this peer.
    const first = result.rejected.find((r) => !(r.error instanceof LogForkedError))
    if (first !== undefined) {
      throw new SyncError('SYNC_PROTOCOL', `the peer sent an invalid operation (${first.error.code}: ${first.error.message})`, { cause: first.error })
    }
    const heights = this.#remote.get(key(logId))
    if (heights !== undefined) {
      for (const op of ops) {
        const author = toHex(op.header.author)
        if ((heights.get(author) ?? -1) < op.header.seq) heights.set(author, op.header.seq)
      }
    }
    this.emit('ingested', { logId, operations: ops, stored: result.stored })
  }
}
