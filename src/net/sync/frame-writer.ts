/**
 * Writes a session's frames to its stream with backpressure. Each frame
 * goes out at once, and the writer then waits until at most
 * {@link WRITE_HIGH_WATER} bytes are queued, so a catch-up streams from the
 * store instead of piling up in memory; a peer that takes none of them
 * within the drain timeout ends the session. Kept apart so that every
 * writer (the send queue, the turns of logs, the confirmations sent beside
 * them) shares one bound and one way of splitting what exceeds a frame.
 * @module
 */
import { fromHex } from '../../log/bytes.js'
import type { LogId } from '../../log/types.js'
import { drainedTo, type ByteChannel } from './channel.js'
import { SyncError } from './errors.js'
import { encodeFrame, type FrameLimits, type SyncFrame, type WireOperation, wireBytes } from './frames.js'

/**
 * Bytes queued on the stream beyond which a session waits before sending more: about
 * 60 ms of a circuit at 4 MB/s, so the connection never runs dry while the
 * next batch is read and encoded, and a catch-up streams from the store
 * instead of piling up in memory.
 */
export const WRITE_HIGH_WATER = 256 * 1024

/** Options of a {@link FrameWriter}. */
export interface FrameWriterOptions {
  channel: ByteChannel
  frameLimits: FrameLimits
  /** An `ops` frame is flushed once it holds this many bytes. */
  frameTargetBytes: number
  /** How long the peer may take none of the queued bytes (`SessionLimits.drainTimeoutMs`). */
  drainTimeoutMs: number
  /** Whether the session ended: nothing is written then. */
  closed: () => boolean
}

/** Writes frames to one session's stream, waiting for the peer to read them. */
export class FrameWriter {
  readonly #channel: ByteChannel
  readonly #frameLimits: FrameLimits
  readonly #frameTargetBytes: number
  readonly #drainTimeoutMs: number
  readonly #closed: () => boolean

  constructor(options: FrameWriterOptions) {
    this.#channel = options.channel
    this.#frameLimits = options.frameLimits
    this.#frameTargetBytes = options.frameTargetBytes
    this.#drainTimeoutMs = options.drainTimeoutMs
    this.#closed = options.closed
  }

  /**
   * Writes `frame`, then waits until at most {@link WRITE_HIGH_WATER} bytes
   * are queued. Throws a {@link SyncError} `SYNC_CLOSED` once the session
   * ended, `SYNC_PEER_STALLED` when the peer stopped reading.
   */
  async send(frame: SyncFrame): Promise<void> {
    if (this.#closed()) throw new SyncError('SYNC_CLOSED')
    this.#channel.send(encodeFrame(frame))
    if (!(await drainedTo(this.#channel, WRITE_HIGH_WATER, () => !this.#closed(), this.#drainTimeoutMs))) throw new SyncError('SYNC_CLOSED')
  }

  /**
   * Sends `ops` of `logId` in frames of about the target size. `proceed` is
   * asked before each frame (false: the rest is not sent), `framed` hears
   * of each frame (its last operation and its bytes) before it goes out, and
   * `sent` after. Returns the bytes sent.
   */
  async sendOps<T extends WireOperation>(
    logId: LogId,
    ops: readonly T[],
    hooks: { proceed?: () => boolean; framed?: (last: T, bytes: number) => void; sent?: (last: T) => void } = {},
  ): Promise<number> {
    let frame: T[] = []
    let bytes = 0
    let total = 0
    /** False, sending nothing, when the caller no longer wants it. */
    const flush = async (): Promise<boolean> => {
      if (hooks.proceed?.() === false) return false
      const last = frame.at(-1)!
      hooks.framed?.(last, bytes)
      await this.send({ type: 'ops', logId, ops: frame })
      hooks.sent?.(last)
      total += bytes
      frame = []
      bytes = 0
      return true
    }
    for (const op of ops) {
      frame.push(op)
      bytes += wireBytes(op)
      if ((bytes >= this.#frameTargetBytes || frame.length >= this.#frameLimits.maxOpsPerFrame) && !(await flush())) return total
    }
    if (frame.length > 0) await flush()
    return total
  }

  /**
   * `heights` (seq by author, hex) of `logId` in as many `have` frames as the
   * peer's frame limit takes (a log can have more authors than one holds),
   * asking for the peer's heights on the last one when `ask`.
   */
  async sendHave(logId: LogId, heights: Iterable<[string, number]>, ask: boolean): Promise<void> {
    const all = [...heights].map(([author, seq]) => ({ author: fromHex(author), seq }))
    const perFrame = this.#frameLimits.maxAuthorsPerFrame
    for (let at = 0; at === 0 || at < all.length; at += perFrame) {
      const part = all.slice(at, at + perFrame)
      // Asking once is enough: on the last part, so that the answer sees all of them.
      const last = at + perFrame >= all.length
      await this.send(ask && last ? { type: 'have', logId, heights: part, ask } : { type: 'have', logId, heights: part })
    }
  }
}
