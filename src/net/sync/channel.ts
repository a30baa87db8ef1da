import { SyncError } from './errors.js'

/**
 * A bidirectional byte stream: the part of a libp2p `Stream` that a sync
 * session uses. Wrap a libp2p stream with `streamChannel` (`src/net`): the
 * stream's own reading loses bytes held back by a pause.
 */
export interface ByteChannel extends AsyncIterable<Uint8Array> {
  /** Queues bytes to send. Its return value is not relied on: {@link ByteChannel.writeBufferLength} is. */
  send(data: Uint8Array): boolean
  /** Bytes accepted by `send` and not yet handed to the connection. */
  readonly writeBufferLength: number
  /** `drain`: the connection took queued bytes and can take more; `close`: the channel ended. */
  addEventListener(type: 'drain' | 'close', listener: () => void): void
  removeEventListener(type: 'drain' | 'close', listener: () => void): void
  /**
   * Stops delivering received bytes until {@link ByteChannel.resume}. On a
   * yamux stream the peer is then granted no more send window, so it stops
   * after one window (4 MiB): that is the receiver's backpressure.
   */
  pause(): void
  resume(): void
  close(): Promise<void>
  abort(err: Error): void
}

/** Longest single wait for a drain: an event that never comes costs this much, not the caller. */
const DRAIN_WAIT_MS = 1_000

/**
 * Waits until at most `highWater` bytes are queued on `channel`, woken by
 * its `drain` and `close` events. Resolves false, without waiting further,
 * once `open()` is false. Throws a {@link SyncError} `SYNC_PEER_STALLED`
 * when the queue has not shrunk by a byte for `stallMs`: the peer (or the
 * path to it) takes nothing more, and waiting longer only holds our memory.
 *
 * Not `Stream.onDrain()`: in @libp2p/utils 7.4.1 a stream creates its drain
 * promise once and never renews it, so after the stream's first drain
 * `onDrain()` resolves at once, every time, and waits for nothing.
 */
export async function drainedTo(
  channel: Pick<ByteChannel, 'writeBufferLength' | 'addEventListener' | 'removeEventListener'>,
  highWater: number,
  open: () => boolean,
  stallMs = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  let queued = channel.writeBufferLength
  let movedAt = Date.now()
  while (channel.writeBufferLength > highWater) {
    if (!open()) return false
    if (channel.writeBufferLength < queued) movedAt = Date.now()
    queued = channel.writeBufferLength
    const stalledFor = Date.now() - movedAt
    if (stalledFor >= stallMs) {
      throw new SyncError('SYNC_PEER_STALLED', `the peer took no byte of the ${queued} queued for it in ${Math.round(stalledFor / 1000)} s`)
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        channel.removeEventListener('drain', done)
        channel.removeEventListener('close', done)
        resolve()
      }
      const timer = setTimeout(done, Math.min(DRAIN_WAIT_MS, stallMs - stalledFor))
      channel.addEventListener('drain', done)
      channel.addEventListener('close', done)
    })
  }
  return open()
}
