/**
 * Reads a session's stream and hands its frames on strictly in order, one
 * at a time, reading ahead by a bounded amount while an earlier frame is
 * handled (validated and stored). Beyond that bound the channel is paused,
 * so a peer that sends faster than we store gets no more send window: what
 * we buffer stays bounded however slow we are. Kept apart from what a frame
 * means, so that ordering and the bound are read in one place.
 * @module
 */
import type { ByteChannel } from './channel.js'
import { asError } from './errors.js'
import { FrameDecoder, type FrameLimits } from './frames.js'

/**
 * Received frames queued for handling, and their bytes (as received; with a
 * verifier, an `ops` frame's operations are decoded on arrival, so their
 * signatures are checked while earlier frames are stored). Beyond either, the channel is
 * paused until the store catches up: the peer then gets no more send window,
 * and what we buffer stays bounded however slow we are: 1 MiB and one frame
 * (with a verifier, and their decoded operations).
 */
const MAX_QUEUED_FRAMES = 8
const MAX_QUEUED_BYTES = 1024 * 1024

/** Options of a {@link FrameInbox}; `T` is a frame as received. */
export interface FrameInboxOptions<T> {
  channel: ByteChannel
  frameLimits: FrameLimits
  /** Takes a frame's body as it arrives, ahead of its turn. Must not throw: an error waits for the frame's turn. */
  receive: (body: Uint8Array) => T
  /** Handles a frame in its turn; a rejection ends the session. */
  handle: (received: T) => Promise<void>
  /** Whether the session ended: nothing more is handled then. */
  closed: () => boolean
  /** Ends the session; with an error, the stream is reset. */
  close: (error?: Error) => Promise<void>
}

/** The reading side of one session's stream. */
export class FrameInbox<T> {
  readonly #channel: ByteChannel
  readonly #decoder: FrameDecoder
  readonly #receive: (body: Uint8Array) => T
  readonly #handle: (received: T) => Promise<void>
  readonly #closed: () => boolean
  readonly #close: (error?: Error) => Promise<void>

  constructor(options: FrameInboxOptions<T>) {
    this.#channel = options.channel
    this.#decoder = new FrameDecoder(options.frameLimits)
    this.#receive = options.receive
    this.#handle = options.handle
    this.#closed = options.closed
    this.#close = options.close
  }

  /**
   * Reads frames and handles them strictly in order, one at a time, reading
   * ahead by at most {@link MAX_QUEUED_FRAMES} frames and
   * {@link MAX_QUEUED_BYTES} while an earlier one is validated and stored;
   * beyond that the channel is paused. Resolves once the stream ended and
   * the session is closed.
   */
  async run(): Promise<void> {
    // Each step never rejects: a failing one closes the session, and the steps after it see that.
    let inbox: Promise<void> = Promise.resolve()
    // Handling of the frames read and not handled yet, oldest first: they settle in this order.
    const unhandled: Promise<void>[] = []
    let unhandledBytes = 0
    try {
      for await (const chunk of this.#channel) {
        if (this.#closed()) break
        for (const body of this.#decoder.pushBodies(chunk)) {
          unhandledBytes += body.length
          const received = this.#receive(body)
          inbox = inbox
            .then(() => (this.#closed() ? undefined : this.#handle(received)))
            .catch((err: unknown) => this.#close(asError(err)))
            .then(() => {
              unhandledBytes -= body.length
              unhandled.shift()
            })
          unhandled.push(inbox)
        }
        // Only a full inbox pauses: each resume sends the peer a window update.
        while (!this.#closed() && (unhandled.length > MAX_QUEUED_FRAMES || unhandledBytes > MAX_QUEUED_BYTES)) await this.#paused(unhandled[0]!)
      }
      await inbox
      await this.#close()
    } catch (err) {
      // Garbage or a broken stream: what arrived before it is still handled.
      await inbox
      await this.#close(asError(err))
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
}
