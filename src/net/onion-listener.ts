import { chmod, lstat, unlink } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { dirname } from 'node:path'
import { TypedEventEmitter } from '@libp2p/interface'
import type { ComponentLogger, Listener, ListenerEvents, Logger as ComponentLog, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { OnionMultiaddrConnection } from './onion-connection.js'
import { assertUnixSocketPath } from '../tor/socket-path.js'
import { UNATTRIBUTED_INBOUND_ADDR, unixListenPath } from './onion-multiaddr.js'
import { NetError } from './errors.js'

/** What an {@link OnionListener} needs. */
export interface OnionListenerInit {
  upgrader: Upgrader
  /** Our own `/onion3/<address>:<virtualPort>`: the only address the listener reports. */
  announce: Multiaddr
  logger: ComponentLogger
}

/**
 * Accepts the connections tor forwards from our onion service to a unix
 * socket in a private (0700) directory and hands them to the upgrader (Noise,
 * then the gater's inbound check, then yamux). There is no TCP listener: no
 * other local user can reach the node without going through tor and its
 * client authorization. `getAddrs()` reports only the onion address, never
 * the socket, and every inbound connection carries
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
  #path: string | undefined

  constructor(init: OnionListenerInit) {
    super()
    this.#init = init
    this.#log = init.logger.forComponent('burrow:onion-listener')
    this.#connLog = init.logger.forComponent('burrow:onion-connection')
    this.#server = createServer({ noDelay: true }, (socket) => this.#onSocket(socket))
    this.#server.on('error', (err) => this.safeDispatchEvent('error', { detail: err }))
  }

  /** The unix socket we listen on (the onion service's target), once listening. */
  get path(): string | undefined {
    return this.#path
  }

  /**
   * Listens on `/unix/<absolute path>` and nothing else. The socket's folder
   * must be ours and private (no group or other permission bits); a socket
   * left there by a crashed run is replaced, any other file is not.
   */
  async listen(ma: Multiaddr): Promise<void> {
    const path = unixListenPath(ma)
    if (path === undefined) throw new NetError('ONION_LISTEN_FAILED', 'the onion transport listens only on a unix socket, /unix/<absolute path>')
    if (this.#server.listening) throw new NetError('ONION_LISTEN_FAILED', 'the listener is already listening')
    await prepareSocketPath(path)
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new NetError('ONION_LISTEN_FAILED', `cannot listen on ${path}: ${err.message}`, { cause: err }))
      this.#server.once('error', onError)
      this.#server.listen({ path }, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    // The folder already keeps others out; the socket's own mode says so too.
    await chmod(path, 0o600)
    this.#path = path
    this.#log('listening on %s', path)
    this.safeDispatchEvent('listening')
  }

  getAddrs(): Multiaddr[] {
    return this.#server.listening ? [this.#init.announce] : []
  }

  /** The announce address is fixed (our onion): nothing to amend. */
  updateAnnounceAddrs(): void {}

  /**
   * Refuses every connection tor forwards from now on and aborts upgrades in
   * progress; established connections stay, to be closed gracefully. Idempotent.
   */
  refuse(): void {
    this.#shutdown.abort()
  }

  /** Stops accepting, aborts upgrades in progress and closes every open socket. Idempotent. */
  async close(): Promise<void> {
    const wasListening = this.#server.listening
    const closed = wasListening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve()
    this.refuse()
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
    this.#path = undefined
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

/**
 * Checks that `path` can be the onion service's socket: short enough for a
 * unix socket address, in a folder that only this user owns and may enter;
 * removes a socket a crashed run left there (any other kind of file stays).
 *
 * @throws NetError `ONION_LISTEN_FAILED` saying what is wrong
 */
export async function prepareSocketPath(path: string): Promise<void> {
  try {
    assertUnixSocketPath(path, 'the onion service socket')
  } catch (err) {
    throw new NetError('ONION_LISTEN_FAILED', (err as Error).message, { cause: err })
  }
  await assertPrivateFolder(dirname(path))
  await removeStaleSocket(path)
}

/** Refuses a socket folder that another user owns or may enter: tor's forwarded connections must be the only way in. */
async function assertPrivateFolder(folder: string): Promise<void> {
  const stat = await lstat(folder).catch((err: unknown) => {
    throw new NetError('ONION_LISTEN_FAILED', `cannot use ${folder} for the onion service socket: ${(err as Error).message}`, { cause: err })
  })
  const uid = process.getuid?.()
  if (!stat.isDirectory() || (stat.mode & 0o077) !== 0 || (uid !== undefined && stat.uid !== uid)) {
    throw new NetError('ONION_LISTEN_FAILED', `the onion service socket must be in a folder only this user can enter (mode 0700); ${folder} is not`)
  }
}

/** Removes a socket a crashed run left behind (listening on it would fail); any other kind of file is left alone. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined)
  if (stat === undefined) return
  if (!stat.isSocket()) throw new NetError('ONION_LISTEN_FAILED', `${path} exists and is not a socket; refusing to replace it`)
  await unlink(path)
}
