import { once } from 'node:events'
import type { Socket } from 'node:net'
import type { AbortOptions, Logger as ComponentLog, MessageStreamDirection } from '@libp2p/interface'
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What an {@link OnionMultiaddrConnection} wraps. */
export interface OnionMultiaddrConnectionInit {
  /** A connected socket: tor's SOCKS stream (outbound) or tor's forwarded connection to our listener (inbound). */
  socket: Socket
  /** The peer's onion multiaddr (outbound) or `UNATTRIBUTED_INBOUND_ADDR` (inbound): never an IP. */
  remoteAddr: Multiaddr
  direction: MessageStreamDirection
  log: ComponentLog
}

/** The base class's chunk list (its own `uint8arraylist` version, not the hoisted one). */
type OutgoingBytes = Parameters<AbstractMultiaddrConnection['sendData']>[0]

/** How long a graceful close may wait for the socket to finish before it is destroyed. */
const CLOSE_TIMEOUT_MS = 10_000

/**
 * A libp2p `MultiaddrConnection` over one local socket to or from tor (tor's
 * SOCKS socket outbound, our onion socket inbound; both unix sockets).
 * Unlike `@libp2p/tcp`'s, its `remoteAddr` is chosen by the transport instead
 * of read from the socket (which has no peer address), and it sets no socket
 * inactivity timeout: yamux keep-alives and libp2p's connection monitor judge
 * liveness end to end, where an idle timer on the local hop to tor cannot.
 */
export class OnionMultiaddrConnection extends AbstractMultiaddrConnection {
  readonly #socket: Socket

  constructor(init: OnionMultiaddrConnectionInit) {
    super({ remoteAddr: init.remoteAddr, direction: init.direction, log: init.log })
    const socket = init.socket
    this.#socket = socket
    // Small writes (multistream, Noise, yamux frames) must not wait for Nagle on the loopback hop.
    socket.setNoDelay(true)
    socket.on('data', (buf: Buffer) => this.onData(buf))
    socket.on('error', (err) => this.abort(err))
    socket.once('end', () => this.onTransportClosed())
    socket.once('close', (hadError) => {
      if (hadError) this.abort(new Error('the connection to tor failed'))
      else this.onTransportClosed()
    })
    socket.on('drain', () => this.safeDispatchEvent('drain'))
  }

  override sendData(data: OutgoingBytes): SendResult {
    const socket = this.#socket
    // Coalesce every write of this event-loop turn (Noise frames of yamux headers,
    // data, window updates) into one TCP segment. Tor relays each segment it reads
    // as its own cell and writes each cell separately to the far socket; there the
    // second small write arrived ~44 ms after the first (Nagle waiting for a
    // delayed ACK, as traced). Measured on the private network: echo RTT median
    // about 100 ms with one segment per frame, 12-24 ms with this (raw tor: ~20).
    if (socket.writableCorked === 0) {
      socket.cork()
      setImmediate(() => socket.uncork())
    }
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  /** Flushes pending writes, half-closes, and waits (bounded) for the socket to close. */
  override async sendClose(options?: AbortOptions): Promise<void> {
    const socket = this.#socket
    if (socket.destroyed) return
    socket.destroySoon()
    const timeout = AbortSignal.timeout(CLOSE_TIMEOUT_MS)
    const signal = options?.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    try {
      await once(socket, 'close', { signal })
    } catch {
      // Closing was asked for either way: a peer that does not finish in time is cut off.
      socket.destroy()
    }
  }

  /** Tor turns a closed local socket into a RELAY_END for the stream, so a plain destroy is the reset. */
  override sendReset(): void {
    this.#socket.destroy()
  }

  override sendPause(): void {
    this.#socket.pause()
  }

  override sendResume(): void {
    this.#socket.resume()
  }
}
