/**
 * The order in which a session sends: one waiting entry per log, into
 * which every request about that log merges, and ephemeral messages, sent
 * one at a time in the order queued. A log's turn is sent by the log sender
 * (log-sender.ts); what its turn leaves queues behind the other logs, and a
 * log whose turn ended on a full send window waits aside until the peer
 * confirms. So the queue grows with the number of logs, not with the number
 * of offers or frames, and a large log never holds the others back for
 * more than its turn.
 * @module
 */
import type { Logger } from '../../logging.js'
import { toHex } from '../../log/bytes.js'
import type { LogId } from '../../log/types.js'
import { asError, SyncError } from './errors.js'
import type { FrameWriter } from './frame-writer.js'
import type { SendWindow } from './send-window.js'

/**
 * How long a session waits for the peer's first confirmation while its
 * window is full, before taking the peer not to confirm (a node from before
 * confirmations) and sending without a window.
 */
const FIRST_CONFIRMATION_MS = 3_000

/**
 * Authors of one log whose new operations wait to be pushed, listed one by
 * one; beyond, the log's entry compares every author we hold with the
 * peer's heights when its turn comes.
 */
const MAX_PENDING_AUTHORS = 64

/**
 * What waits to be sent about one log. Every request about a log merges
 * into its one waiting entry, so the queue grows with the number of logs,
 * not with the number of offers or frames.
 */
export interface LogSend {
  readonly kind: 'log'
  readonly logId: LogId
  /** Send our `have`, asking for the peer's (`ask`) if we still lack its heights then. */
  have: boolean
  ask: boolean
  /** Answer the peer's `ask` with our `have`: at most once per `SessionLimits.askAnswerIntervalMs` (log-sender.ts). */
  answerAsk: boolean
  /** Authors (hex) whose operations the peer may lack, or all the authors we hold. */
  push: Set<string> | 'all'
  /** Answer the peer's `have`, after the rest. */
  synced: boolean
  /** Queued to answer a `have` of a log not shared with the peer: counts against `SessionLimits.maxUnsharedAnswers`. */
  readonly unshared: boolean
}

interface EphemeralSend {
  readonly kind: 'ephemeral'
  readonly logId: LogId
  readonly data: Uint8Array
  settle(error?: Error): void
}

/** A request about one log, merged into its {@link LogSend}. */
export type LogRequest = { have?: true; ask?: boolean; answerAsk?: true; push?: string | 'all'; synced?: true }

/** Options of a {@link SendQueue}. */
export interface SendQueueOptions {
  writer: Pick<FrameWriter, 'send'>
  /** Our operations in flight to the peer: a log whose turn found it full waits aside. */
  window: SendWindow
  /** Sends one log's turn. */
  sendLog: (send: LogSend) => Promise<void>
  /** `SessionLimits.maxUnsharedAnswers` */
  maxUnsharedAnswers: number
  /** `SessionLimits.maxQueuedEphemeralBytes` */
  maxQueuedEphemeralBytes: number
  /** Whether the session ended: nothing is queued or sent then. */
  closed: () => boolean
  /** Ends the session, with the error that ended it. */
  close: (error: Error) => Promise<void>
  /** Hears of a send that failed. */
  failed: (err: unknown) => void
  log: Logger
}

/** What one session waits to send, and in which order. */
export class SendQueue {
  readonly #writer: Pick<FrameWriter, 'send'>
  readonly #window: SendWindow
  readonly #sendLog: (send: LogSend) => Promise<void>
  readonly #maxUnsharedAnswers: number
  readonly #maxQueuedEphemeralBytes: number
  readonly #closed: () => boolean
  readonly #close: (error: Error) => Promise<void>
  readonly #failed: (err: unknown) => void
  readonly #log: Logger
  /** What waits to be sent, in order; a log appears at most once (in #waitingLogs too). */
  readonly #queue: (LogSend | EphemeralSend)[] = []
  readonly #waitingLogs = new Map<string, LogSend>()
  #unsharedAnswers = 0
  #ephemeralBytes = 0
  /** Logs whose turn ended on a full window: sent again once the peer confirms. */
  readonly #parked = new Map<string, { logId: LogId; authors: Set<string>; synced: boolean }>()
  #parkedSince: NodeJS.Timeout | undefined
  #sending = false

  constructor(options: SendQueueOptions) {
    this.#writer = options.writer
    this.#window = options.window
    this.#sendLog = options.sendLog
    this.#maxUnsharedAnswers = options.maxUnsharedAnswers
    this.#maxQueuedEphemeralBytes = options.maxQueuedEphemeralBytes
    this.#closed = options.closed
    this.#close = options.close
    this.#failed = options.failed
    this.#log = options.log
  }

  /**
   * Merges `request` into the waiting entry of `logId` (queued if there is
   * none) and makes sure the queue is being sent. An `unshared` entry, the
   * answer to a `have` of a log not shared with the peer, beyond
   * `SessionLimits.maxUnsharedAnswers` ends the session with `SYNC_LIMIT`.
   */
  schedule(logId: LogId, request: LogRequest, unshared = false): void {
    if (this.#closed()) return
    const logKey = toHex(logId)
    let send = this.#waitingLogs.get(logKey)
    if (send === undefined) {
      if (unshared && this.#unsharedAnswers >= this.#maxUnsharedAnswers) {
        void this.#close(new SyncError('SYNC_LIMIT', `the peer left ${this.#unsharedAnswers} answers about logs it does not share with us unread`))
        return
      }
      if (unshared) this.#unsharedAnswers++
      send = { kind: 'log', logId, have: false, ask: false, answerAsk: false, push: new Set(), synced: false, unshared }
      this.#waitingLogs.set(logKey, send)
      this.#queue.push(send)
    }
    send.have ||= request.have === true
    send.ask ||= request.ask === true
    send.answerAsk ||= request.answerAsk === true
    send.synced ||= request.synced === true
    if (request.push === 'all' || (send.push !== 'all' && send.push.size >= MAX_PENDING_AUTHORS)) send.push = 'all'
    else if (request.push !== undefined && send.push !== 'all') send.push.add(request.push)
    void this.#sendQueued()
  }

  /**
   * Queues an ephemeral message; resolves once the stream took it. Rejects
   * with `SYNC_SEND_BACKLOG` when it would pass `SessionLimits.maxQueuedEphemeralBytes`.
   */
  ephemeral(logId: LogId, data: Uint8Array): Promise<void> {
    if (this.#ephemeralBytes + data.length > this.#maxQueuedEphemeralBytes) {
      return Promise.reject(new SyncError('SYNC_SEND_BACKLOG', `${this.#ephemeralBytes} bytes of ephemeral messages already wait for this peer`))
    }
    return new Promise((resolve, reject) => {
      this.#ephemeralBytes += data.length
      this.#queue.push({ kind: 'ephemeral', logId, data, settle: (error) => (error === undefined ? resolve() : reject(error)) })
      void this.#sendQueued()
    })
  }

  /** Queues the rest of a log's turn: `authors` still to catch up, then its `synced` if one is owed. */
  requeue(logId: LogId, authors: readonly string[], synced: boolean): void {
    for (const author of authors.length > MAX_PENDING_AUTHORS ? ['all' as const] : authors) this.schedule(logId, synced ? { push: author, synced } : { push: author })
  }

  /**
   * Sets a log aside until the peer confirms what is in flight (the window
   * is full): the other logs' turns go on meanwhile. A peer that has never
   * confirmed anything within {@link FIRST_CONFIRMATION_MS} is taken not to
   * (an older node): the window is turned off.
   */
  park(logId: LogId, authors: readonly string[], synced: boolean): void {
    const logKey = toHex(logId)
    const parked = this.#parked.get(logKey) ?? { logId, authors: new Set<string>(), synced: false }
    for (const author of authors) parked.authors.add(author)
    parked.synced ||= synced
    this.#parked.set(logKey, parked)
    if (!this.#window.confirmed && this.#parkedSince === undefined) {
      this.#parkedSince = setTimeout(() => {
        if (this.#window.confirmed) return
        this.#log.info('the peer does not confirm what it stores; sending without a window')
        this.#window.off()
        this.unpark()
      }, FIRST_CONFIRMATION_MS)
    }
  }

  /** Queues the parked logs again, once the window has room. */
  unpark(): void {
    if (!this.#window.open) return
    clearTimeout(this.#parkedSince)
    this.#parkedSince = undefined
    const parked = [...this.#parked.values()]
    this.#parked.clear()
    for (const p of parked) this.requeue(p.logId, [...p.authors], p.synced)
  }

  /** Drops the parked turn of a log the peer is no longer entitled to. */
  forget(logKey: string): void {
    this.#parked.delete(logKey)
  }

  /** Drops everything waiting, as the session ends: ephemeral messages fail with `SYNC_CLOSED`. */
  clear(): void {
    for (const send of this.#queue.splice(0)) if (send.kind === 'ephemeral') send.settle(new SyncError('SYNC_CLOSED'))
    this.#waitingLogs.clear()
    this.#parked.clear()
    clearTimeout(this.#parkedSince)
  }

  /** Sends the queue in order, one entry at a time, until it is empty; a failure closes the session. */
  async #sendQueued(): Promise<void> {
    if (this.#sending) return
    this.#sending = true
    try {
      while (!this.#closed()) {
        const send = this.#queue.shift()
        if (send === undefined) break
        if (send.kind === 'log') {
          this.#waitingLogs.delete(toHex(send.logId))
          if (send.unshared) this.#unsharedAnswers--
          await this.#sendLog(send)
          continue
        }
        this.#ephemeralBytes -= send.data.length
        try {
          await this.#writer.send({ type: 'ephemeral', logId: send.logId, data: send.data })
          send.settle()
        } catch (err) {
          send.settle(asError(err))
          throw err
        }
      }
    } catch (err) {
      this.#failed(err)
    } finally {
      this.#sending = false
    }
  }
}
