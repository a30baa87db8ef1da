import type { ByteChannel } from '../../src/net/sync/session.js'

/**
 * Two connected in-memory byte channels with a bounded buffer, so `send`
 * returns false and `onDrain` waits exactly like a libp2p stream under load.
 */
export function channelPair(highWaterMark = 64 * 1024): [ByteChannel & { sent: number }, ByteChannel & { sent: number }] {
  const make = (): {
    queue: Uint8Array[]
    buffered: number
    waiting: (() => void) | undefined
    drains: (() => void)[]
    ended: boolean
    error: Error | undefined
  } => ({ queue: [], buffered: 0, waiting: undefined, drains: [], ended: false, error: undefined })
  const a = make()
  const b = make()
  const channel = (inbox: ReturnType<typeof make>, outbox: ReturnType<typeof make>): ByteChannel & { sent: number } => {
    const self = {
      sent: 0,
      send(data: Uint8Array): boolean {
        if (outbox.ended) throw new Error('channel closed')
        outbox.queue.push(data)
        outbox.buffered += data.length
        self.sent += data.length
        outbox.waiting?.()
        return outbox.buffered < highWaterMark
      },
      onDrain(): Promise<void> {
        if (outbox.buffered < highWaterMark || outbox.ended) return Promise.resolve()
        return new Promise<void>((resolve) => outbox.drains.push(resolve))
      },
      async close(): Promise<void> {
        outbox.ended = true
        outbox.waiting?.()
      },
      abort(err: Error): void {
        inbox.error = err
        inbox.ended = true
        outbox.ended = true
        outbox.error = err
        inbox.waiting?.()
        outbox.waiting?.()
      },
      async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
        for (;;) {
          const next = inbox.queue.shift()
          if (next !== undefined) {
            inbox.buffered -= next.length
            if (inbox.buffered < highWaterMark) for (const d of inbox.drains.splice(0)) d()
            yield next
            continue
          }
          if (inbox.ended) {
            for (const d of inbox.drains.splice(0)) d()
            if (inbox.error) throw inbox.error
            return
          }
          await new Promise<void>((resolve) => {
            inbox.waiting = resolve
          })
          inbox.waiting = undefined
        }
      },
    }
    return self
  }
  return [channel(a, b), channel(b, a)]
}
