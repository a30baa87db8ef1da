import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { ByteChannel } from './sync/channel.js'

/**
 * A libp2p stream as a sync {@link ByteChannel} that can be paused without
 * losing data.
 *
 * The stream's own async iterator cannot: in @libp2p/utils 7.4.1 it ends as
 * soon as the peer closes its writable end, and bytes held back by `pause()`
 * at that moment are never delivered (a paused stream's buffer of 128 KiB
 * vanished when the peer closed, in a check over real yamux). Here reading
 * ends on the stream's `end` event, which waits until that buffer is
 * delivered. Pausing or resuming a stream whose readable end or connection
 * has closed does nothing more than deliver what it held, where the stream
 * itself would throw.
 */
export function streamChannel(stream: Stream): ByteChannel {
  return {
    send: (data) => stream.send(data),
    get writeBufferLength() {
      return stream.writeBufferLength
    },
    addEventListener: (type, listener) => stream.addEventListener(type, listener),
    removeEventListener: (type, listener) => stream.removeEventListener(type, listener),
    pause: () => {
      if (stream.readStatus === 'readable') stream.pause()
    },
    resume: () => {
      if (stream.readStatus !== 'paused') return
      try {
        stream.resume()
      } catch (err) {
        // Resuming delivers the held-back bytes, then grants window; on a
        // connection that closed meanwhile the grant throws, with nothing left to grant.
        if (stream.status === 'open') throw err
      }
    },
    close: () => stream.close(),
    abort: (err) => stream.abort(err),
    [Symbol.asyncIterator]: () => received(stream),
  }
}

/** The stream's received bytes, until its `end` (all delivered), or its `close` with an error or with nothing held back. */
async function* received(stream: Stream): AsyncGenerator<Uint8Array> {
  if (stream.readStatus !== 'readable' && stream.readStatus !== 'paused') return
  // Fed only while the stream is not paused, and emptied by the loop below before the
  // caller decides to pause again: it holds what arrived during one step of the caller.
  const chunks: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const onMessage = (evt: StreamMessageEvent): void => {
    chunks.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray())
    wake?.()
  }
  const onEnd = (): void => {
    ended = true
    wake?.()
  }
  const onClose = (evt: StreamCloseEvent): void => {
    failure = evt.error
    // Closed cleanly while paused, the stream still holds bytes: they come on resume, then 'end'.
    if (failure !== undefined || stream.readBufferLength === 0) ended = true
    wake?.()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    for (;;) {
      const next = chunks.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (failure !== undefined) throw failure
      if (ended || stream.readableEnded) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}
