import { createServer, type Server, type Socket } from 'node:net'
import { TypedEventEmitter } from '@libp2p/interface'
import type { ComponentLogger, Listener, ListenerEvents, Logger as ComponentLog, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { OnionListenError } from './errors.js'
import { OnionMultiaddrConnection } from './onion-connection.js'
import { UNATTRIBUTED_INBOUND_ADDR, loopbackListenPort } from './onion-multiaddr.js'

/** What an {@link OnionListener} needs. */
export interface OnionListenerInit {
  upgrader: Upgrader
  /** Our own `/onion3/<address>:<virtualPort>`: the only address the listener reports. */
  announce: Multiaddr
  logger: ComponentLogger
}

/**
 * Accepts the connections tor forwards from our onion service to a TCP port
 * on 127.0.0.1 and hands them to the upgrader (Noise, then the gater's
 * inbound check, then yamux). `getAddrs()` reports only the onion address,
 * never the local port, and every inbound connection carries
 * {@link UNATTRIBUTED_INBOUND_ADDR} as its remote address.
 */
export class OnionListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  readonly #init: OnionListenerInit
  readonly #log: ComponentLog
  readonly #connLog: ComponentLog
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Aborts upgrades still in progress when the listener closes. */
  readonly #shutdown = new AbortController()
  #port: number | undefined

  constructor(init: OnionListenerInit) {
    super()
    this.#init = init
    this.#log = init.logger.forComponent('burrow:onion-listener')
    this.#connLog = init.logger.forComponent('burrow:onion-connection')
    this.#server = createServer({ noDelay: true }, (socket) => this.#onSocket(socket))
    this.#server.on('error', (err) => this.safeDispatchEvent('error', { detail: err }))
  }

  /** The TCP port on 127.0.0.1 we are bound to (the onion service's target), once listening. */
  get port(): number | undefined {
    return this.#port
  }

  /** Binds `/ip4/127.0.0.1/tcp/<port>` (0: any free port). Refuses every other address. */
  async listen(ma: Multiaddr): Promise<void> {
    const port = loopbackListenPort(ma)
    if (port === undefined) throw new OnionListenError('the onion transport listens only on /ip4/127.0.0.1/tcp/<port>')
    if (this.#server.listening) throw new OnionListenError('the listener is already listening')
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new OnionListenError(`cannot listen on 127.0.0.1:${port}: ${err.message}`, { cause: err }))
      this.#server.once('error', onError)
      this.#server.listen({ host: '127.0.0.1', port }, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    const address = this.#server.address()
    this.#port = address !== null && typeof address === 'object' ? address.port : undefined
    this.#log('listening on 127.0.0.1:%d', this.#port)
    this.safeDispatchEvent('listening')
  }

  getAddrs(): Multiaddr[] {
    return this.#server.listening ? [this.#init.announce] : []
  }

  /** The announce address is fixed (our onion): nothing to amend. */
  updateAnnounceAddrs(): void {}

  /** Stops accepting, aborts upgrades in progress and closes every open socket. Idempotent. */
  async close(): Promise<void> {
    const wasListening = this.#server.listening
    const closed = wasListening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve()
    this.#shutdown.abort()
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
    this.#port = undefined
    if (wasListening) this.safeDispatchEvent('close')
  }

  #onSocket(socket: Socket): void {
    if (this.#shutdown.signal.aborted) {
      socket.destroy()
      return
    }
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    const maConn = new OnionMultiaddrConnection({
      socket,
      remoteAddr: UNATTRIBUTED_INBOUND_ADDR,
      direction: 'inbound',
      log: this.#connLog,
    })
    // The upgrader bounds this with the inbound upgrade timeout and runs the gater after Noise.
    this.#init.upgrader.upgradeInbound(maConn, { signal: this.#shutdown.signal }).catch((err: unknown) => {
      this.#log('inbound connection refused or failed to upgrade - %e', err)
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
    })
  }
}
