/**
 * Our receipts for the peer's operations: a confirmation of what we stored
 * (our `have` of the authors stored, which frees the peer's send window,
 * see send-window.ts) and a refusal of what our policy did not take
 * (`refused`, see frames.ts). Both are gathered for {@link ACK_DELAY_MS}, so
 * that one frame answers many, and sent beside the send queue, so that a
 * full window on either side never waits for the other.
 * @module
 */
import { fromHex, toHex } from '../../log/bytes.js'
import type { LogId, Operation } from '../../log/types.js'
import type { FrameWriter } from './frame-writer.js'
import { ACK_DELAY_MS } from './send-window.js'
import type { SyncPolicy } from './session.js'

/** Per log, per author: one seq of `ops` to answer with, the one `better` prefers (the highest to confirm, the lowest refused). */
type PendingAnswers = Map<string, { logId: LogId; authors: Map<string, number> }>

function collect(pending: PendingAnswers, logId: LogId, ops: readonly Operation[], better: (seq: number, kept: number) => boolean): void {
  const logKey = toHex(logId)
  let entry = pending.get(logKey)
  if (entry === undefined) pending.set(logKey, (entry = { logId, authors: new Map() }))
  for (const op of ops) {
    const authorKey = toHex(op.header.author)
    const kept = entry.authors.get(authorKey)
    if (kept === undefined || better(op.header.seq, kept)) entry.authors.set(authorKey, op.header.seq)
  }
}

/** Options of {@link Receipts}. */
export interface ReceiptsOptions {
  /** The remote peer's id, for the policy. */
  peer: string
  policy: SyncPolicy
  writer: Pick<FrameWriter, 'send' | 'sendHave'>
  /** Most authors in one `refused` frame: the peer's frame limit. */
  maxAuthorsPerFrame: number
  /** Whether the session ended: nothing is sent then. */
  closed: () => boolean
  /** Hears of a receipt that could not be sent. */
  failed: (err: unknown) => void
}

/** The receipts one session owes its peer, sent within {@link ACK_DELAY_MS}. */
export class Receipts {
  readonly #peer: string
  readonly #policy: SyncPolicy
  readonly #writer: Pick<FrameWriter, 'send' | 'sendHave'>
  readonly #maxAuthorsPerFrame: number
  readonly #closed: () => boolean
  readonly #failed: (err: unknown) => void
  /**
   * Logs we stored operations of, to confirm to the peer (our `have`): per
   * log, the authors stored meanwhile and the highest seq of each. Only
   * those are confirmed, not every author of the log: a log of 1,000
   * authors made each confirmation a `have` of 42 KB.
   */
  readonly #toConfirm: PendingAnswers = new Map()
  /** Likewise, operations of the peer our policy did not take, to tell it (`refused`): per log, per author, the first seq refused. */
  readonly #toRefuse: PendingAnswers = new Map()
  /** Logs we refused operations of since our last `have` with `ask`: the next `share` asks, so that the peer offers them again. */
  readonly #refusedLogs = new Set<string>()
  #timer: NodeJS.Timeout | undefined

  constructor(options: ReceiptsOptions) {
    this.#peer = options.peer
    this.#policy = options.policy
    this.#writer = options.writer
    this.#maxAuthorsPerFrame = options.maxAuthorsPerFrame
    this.#closed = options.closed
    this.#failed = options.failed
  }

  /** We stored these operations of the peer's. */
  confirm(logId: LogId, ops: readonly Operation[]): void {
    collect(this.#toConfirm, logId, ops, (seq, kept) => seq > kept)
    this.#sendSoon()
  }

  /** Our policy did not take these operations of the peer's: the first seq per author is refused. */
  refuse(logId: LogId, ops: readonly Operation[]): void {
    this.#refusedLogs.add(toHex(logId))
    collect(this.#toRefuse, logId, ops, (seq, kept) => seq < kept)
    this.#sendSoon()
  }

  /** Whether we refused operations of a log since our last `have` of it with `ask`. */
  /** The logs (hex) we refused something of since our last `ask` of each. */
  refusedLogs(): string[] {
    return [...this.#refusedLogs]
  }

  refusedSinceAsk(logKey: string): boolean {
    return this.#refusedLogs.has(logKey)
  }

  /** Our `have` of a log with `ask` is about to go out: it offers the peer to send what we refused again. */
  asked(logKey: string): void {
    this.#refusedLogs.delete(logKey)
  }

  /** Drops every receipt not sent yet, as the session ends. */
  clear(): void {
    this.#toConfirm.clear()
    this.#toRefuse.clear()
    this.#refusedLogs.clear()
    clearTimeout(this.#timer)
  }

  /** Sends the confirmations and then the refusals gathered, within {@link ACK_DELAY_MS}. */
  #sendSoon(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      const confirms = [...this.#toConfirm.values()]
      const refusals = [...this.#toRefuse.values()]
      this.#toConfirm.clear()
      this.#toRefuse.clear()
      for (const { logId: log, authors } of confirms) {
        if (this.#closed() || !this.#policy.mayShare(this.#peer, log)) continue
        // Only the authors stored meanwhile: a `have` only ever raises what the peer knows of us.
        this.#writer.sendHave(log, authors, false).catch(this.#failed)
      }
      for (const { logId: log, authors } of refusals) {
        if (this.#closed() || !this.#policy.mayShare(this.#peer, log)) continue
        const from = [...authors].map(([author, seq]) => ({ author: fromHex(author), seq }))
        for (let at = 0; at < from.length; at += this.#maxAuthorsPerFrame) {
          this.#writer.send({ type: 'refused', logId: log, from: from.slice(at, at + this.#maxAuthorsPerFrame) }).catch(this.#failed)
        }
      }
    }, ACK_DELAY_MS)
  }
}
