import { once } from 'node:events'
import type { Socket } from 'node:net'
import { StreamCloseEvent, type AbortOptions, type Logger as ComponentLog, type MessageStreamDirection } from '@libp2p/interface'
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { bytesEqual } from '../log/bytes.js'
import { EchoCheck, mssProposal } from './multistream.js'

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
 * What libp2p's upgrader writes first on an outbound connection, with Noise
 * our only encrypter: multistream-select's header and its proposal of Noise.
 * A listener that accepts answers with the very same bytes.
 */
export const NOISE_PROPOSAL = mssProposal('/noise')

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
  /** Outbound, until the first write: whether it may be the proposal of Noise to answer optimistically. */
  #firstWrite: boolean
  /** The listener's echo of our proposal while it is still to come: it is checked and dropped. */
  #awaitedEcho: EchoCheck | undefined
  /** Whether the close is ours (a graceful close was asked for here). */
  #closingHere = false

  constructor(init: OnionMultiaddrConnectionInit) {
    super({ remoteAddr: init.remoteAddr, direction: init.direction, log: init.log })
    const socket = init.socket
    this.#socket = socket
    this.#firstWrite = init.direction === 'outbound'
    // Small writes (multistream, Noise, yamux frames) must not wait for Nagle on the loopback hop.
    socket.setNoDelay(true)
    socket.on('data', (buf: Buffer) => this.#receive(buf))
    socket.on('error', (err) => this.abort(err))
    socket.once('end', () => this.onTransportClosed())
    socket.once('close', (hadError) => {
      if (hadError) this.abort(new Error('the connection to tor failed'))
      else this.onTransportClosed()
    })
    socket.on('drain', () => this.safeDispatchEvent('drain'))
  }

  /**
   * Optimistic multistream-select for the security handshake
   * (multistream.ts): when our first write proposes Noise, the listener's echo is
   * taken for given at once, so Noise's first message leaves with the
   * proposal instead of a Tor round trip later (0.57 s on the live profile;
   * a connection then costs the first dial and 1.5 round trips, not 2.5).
   * The real answer is still read and must be exactly that echo, or the
   * connection is aborted; a listener that refuses Noise fails the
   * connection as before. Noise then authenticates the peer, and the
   * allow-list gater decides, as before: nothing of who may connect changes.
   */
  #proposedNoise(data: OutgoingBytes): boolean {
    if (!this.#firstWrite) return false
    this.#firstWrite = false
    const bytes = Uint8Array.from([...data].flatMap((buf) => [...buf]))
    if (!bytesEqual(bytes, NOISE_PROPOSAL)) return false
    this.#awaitedEcho = new EchoCheck(NOISE_PROPOSAL)
    return true
  }

  #receive(buf: Uint8Array): void {
    const echo = this.#awaitedEcho
    if (echo === undefined) {
      this.onData(buf)
      return
    }
    const rest = echo.after(buf)
    if (rest === undefined) {
      this.#awaitedEcho = undefined
      this.abort(new Error('the listener did not accept Noise'))
      return
    }
    if (echo.complete) this.#awaitedEcho = undefined
    if (rest.length > 0) this.onData(rest)
  }

  override sendData(data: OutgoingBytes): SendResult {
    const socket = this.#socket
    if (this.#proposedNoise(data)) queueMicrotask(() => this.onData(NOISE_PROPOSAL.slice()))
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

  /**
   * Flushes pending writes, half-closes, and waits (bounded) for tor to close
   * its side: then tor has read our end and sent the stream's END to the
   * peer, and stopping the onion service or tor can no longer swallow it.
   * Closing without that wait, a node's stop reached some peers only when
   * their ping timed out (docs/performance.md, "Stopping").
   */
  override async sendClose(options?: AbortOptions): Promise<void> {
    const socket = this.#socket
    if (socket.destroyed) return
    this.#closingHere = true
    // Not destroySoon: it destroys the socket once our end is written, without waiting for tor's.
    socket.end()
    const timeout = AbortSignal.timeout(CLOSE_TIMEOUT_MS)
    const signal = options?.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    try {
      await once(socket, 'close', { signal })
    } catch {
      // Closing was asked for either way: a peer that does not finish in time is cut off.
      socket.destroy()
    }
  }

  /**
   * libp2p's close event after a graceful close leaves `local` unset, as after
   * the peer's; ours says that we closed, so that a disconnect's reason can
   * tell the two apart.
   */
  override dispatchEvent(evt: Event): boolean {
    const close = evt as Partial<StreamCloseEvent>
    if (evt.type === 'close' && this.#closingHere && close.local === undefined && close.error === undefined) return super.dispatchEvent(new StreamCloseEvent(true))
    return super.dispatchEvent(evt)
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
