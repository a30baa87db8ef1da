import type { ByteChannel } from '../../src/net/sync/index.js'

/** One direction of an in-memory pair: what one side sent and the other has not read yet. */
class Pipe {
  readonly queue: Uint8Array[] = []
  buffered = 0
  ended = false
  error: Error | undefined
  wakeReader: (() => void) | undefined
}

/** One end of {@link channelPair}. */
export class MemoryChannel extends EventTarget implements ByteChannel {
  /** Bytes sent so far. */
  sent = 0
  #paused = false
  #resumed: (() => void) | undefined

  constructor(
    private readonly inbox: Pipe,
    private readonly outbox: Pipe,
    private readonly peer: () => MemoryChannel,
  ) {
    super()
  }

  /** What the peer has not read yet counts as queued here: its reading is what drains us. */
  get writeBufferLength(): number {
    return this.outbox.buffered
  }

  send(data: Uint8Array): boolean {
    if (this.outbox.ended) throw new Error('channel closed')
    this.outbox.queue.push(data)
    this.outbox.buffered += data.length
    this.sent += data.length
    this.outbox.wakeReader?.()
    return true
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#resumed?.()
  }

  async close(): Promise<void> {
    this.outbox.ended = true
    this.outbox.wakeReader?.()
  }

  abort(err: Error): void {
    for (const pipe of [this.inbox, this.outbox]) {
      pipe.error = err
      pipe.ended = true
      pipe.wakeReader?.()
    }
    this.dispatchEvent(new Event('close'))
    this.peer().dispatchEvent(new Event('close'))
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const inbox = this.inbox
    for (;;) {
      while (this.#paused && !inbox.ended) await new Promise<void>((resolve) => (this.#resumed = resolve))
      const next = inbox.queue.shift()
      if (next !== undefined) {
        inbox.buffered -= next.length
        this.peer().dispatchEvent(new Event('drain'))
        yield next
        continue
      }
      if (inbox.ended) {
        if (inbox.error) throw inbox.error
        return
      }
      await new Promise<void>((resolve) => (inbox.wakeReader = resolve))
      inbox.wakeReader = undefined
    }
  }
}

/**
 * Two connected in-memory byte channels. A sender's queued bytes are those
 * its peer has not read yet, and each read drains them, as a libp2p stream's
 * are drained by its connection.
 */
export function channelPair(): [MemoryChannel, MemoryChannel] {
  const ab = new Pipe()
  const ba = new Pipe()
  const a: MemoryChannel = new MemoryChannel(ba, ab, () => b)
  const b: MemoryChannel = new MemoryChannel(ab, ba, () => a)
  return [a, b]
}
