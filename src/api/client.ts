import { createConnection, type Socket } from 'node:net'
import { LocalApiError, NodeCallError } from './errors.js'
import { LineSplitter } from './line-splitter.js'
import {
  EVENTS,
  MAX_REQUEST_ID,
  MAX_REQUEST_LINE_BYTES,
  MAX_RESPONSE_LINE_BYTES,
  TRANSFER_METHODS,
  type ApiEvent,
  type EventName,
  type MethodName,
  type MethodParams,
  type MethodResults,
  type PeerJson,
} from './protocol.js'

/** Options of {@link LocalApiClient.connect}. */
export interface LocalApiClientOptions {
  /** Bound on connecting. Default 5 s. */
  connectTimeoutMs?: number
  /** Default bound on one call. Default 30 s; `group.invite` gets 200 s (it dials over Tor); `file.send` and `file.save` none (see protocol.ts). */
  callTimeoutMs?: number
}

/** Options of one {@link LocalApiClient.call}. */
export interface CallOptions {
  timeoutMs?: number
}

interface Pending {
  method: string
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout | undefined
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000
const DEFAULT_CALL_TIMEOUT_MS = 30_000
/** Slightly above the server's own 180 s bound, so the server's answer (with its code) normally wins. */
const SLOW_CALL_TIMEOUT_MS = 200_000
/** An invitation may wait for a peer; an add may publish a new onion service (uploads are awaited up to 120 s). */
const SLOW_METHODS = new Set<MethodName>(['group.invite', 'peers.add'])
const EVENT_SET = new Set<string>(EVENTS)

/**
 * A connection to a running node's local API.
 *
 * ```ts
 * const api = await LocalApiClient.connect(nodePaths(dir).socket)
 * const { peers } = await api.call('peers.list', {})
 * await api.close()
 * ```
 */
export class LocalApiClient {
  readonly #socket: Socket
  readonly #splitter = new LineSplitter(MAX_RESPONSE_LINE_BYTES)
  readonly #pending = new Map<number, Pending>()
  readonly #callTimeoutMs: number
  #nextId = 1
  #onEvent: ((event: ApiEvent) => void) | undefined
  #closedError: LocalApiError | undefined
  readonly #closeListeners: ((err: LocalApiError) => void)[] = []

  private constructor(socket: Socket, options: LocalApiClientOptions) {
    this.#socket = socket
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err) => this.#fail(new LocalApiError('API_CONNECTION_CLOSED', `the connection to the node failed: ${err.message}`, { cause: err })))
    socket.on('close', () => this.#fail(new LocalApiError('API_CONNECTION_CLOSED', 'the node closed the connection')))
  }

  /**
   * Connects to the node serving `socketPath`. Throws `API_NOT_RUNNING` when
   * no node answers there, `API_TIMEOUT` when connecting takes too long.
   */
  static connect(socketPath: string, options: LocalApiClientOptions = {}): Promise<LocalApiClient> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new LocalApiError('API_TIMEOUT', `the node did not accept a connection on ${socketPath} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve(new LocalApiClient(socket, options))
      })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        socket.destroy()
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new LocalApiError('API_NOT_RUNNING', `no node is running (nothing answers on ${socketPath}); start one with \`burrow start\``, { cause: err }))
        } else {
          reject(new LocalApiError('API_SOCKET_UNUSABLE', `cannot connect to ${socketPath}: ${err.message}`, { cause: err }))
        }
      })
    })
  }

  /**
   * Calls a method. Resolves with its result; rejects with {@link NodeCallError}
   * (the node's own code) or {@link LocalApiError} (`API_TIMEOUT`,
   * `API_CONNECTION_CLOSED`, `API_PROTOCOL`, …).
   */
  call(method: 'peers.add', params: { card: string }, options?: CallOptions): Promise<PeerJson>
  call(method: 'peers.add', params: { cards: string[] }, options?: CallOptions): Promise<{ peers: PeerJson[] }>
  call<M extends MethodName>(method: M, params: MethodParams[M], options?: CallOptions): Promise<MethodResults[M]>
  call<M extends MethodName>(method: M, params: MethodParams[M], options: CallOptions = {}): Promise<MethodResults[M]> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError)
    const id = this.#nextId
    this.#nextId = this.#nextId >= MAX_REQUEST_ID ? 1 : this.#nextId + 1
    // A transfer lasts as long as its file takes: by default it is not timed out (closing the connection ends it).
    const timeoutMs = options.timeoutMs ?? (TRANSFER_METHODS.has(method) ? undefined : SLOW_METHODS.has(method) ? Math.max(SLOW_CALL_TIMEOUT_MS, this.#callTimeoutMs) : this.#callTimeoutMs)
    return new Promise<MethodResults[M]>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#pending.delete(id)
              reject(new LocalApiError('API_TIMEOUT', `the node did not answer ${method} within ${timeoutMs} ms`))
            }, timeoutMs)
      const line = JSON.stringify({ id, method, params })
      if (Buffer.byteLength(line) > MAX_REQUEST_LINE_BYTES) {
        clearTimeout(timer)
        reject(new LocalApiError('API_BAD_REQUEST', `the ${method} request is longer than ${MAX_REQUEST_LINE_BYTES} bytes`))
        return
      }
      this.#pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer })
      this.#socket.write(`${line}\n`)
    })
  }

  /**
   * Subscribes this connection to node events (replacing an earlier
   * subscription); `onEvent` gets each pushed event. `group` limits group
   * and sync events to one group.
   */
  async subscribe(events: readonly EventName[], onEvent: (event: ApiEvent) => void, options: { group?: string } = {}): Promise<void> {
    this.#onEvent = onEvent
    await this.call('subscribe', { events: [...events], ...(options.group !== undefined ? { group: options.group } : {}) })
  }

  /** Sets what receives pushed events without subscribing: the progress of this connection's own transfers (`progress: true`). */
  onEvent(onEvent: (event: ApiEvent) => void): void {
    this.#onEvent = onEvent
  }

  /** Registers `listener` for the end of the connection (the node stopped, or {@link close}). */
  onClose(listener: (err: LocalApiError) => void): void {
    if (this.#closedError !== undefined) listener(this.#closedError)
    else this.#closeListeners.push(listener)
  }

  /** Closes the connection; calls still waiting reject with `API_CONNECTION_CLOSED`. */
  close(): Promise<void> {
    this.#fail(new LocalApiError('API_CONNECTION_CLOSED', 'the connection was closed by this client'))
    if (this.#socket.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      this.#socket.once('close', () => resolve())
      this.#socket.end()
      // end() waits for the peer's FIN; a node that hangs must not hold us.
      setTimeout(() => this.#socket.destroy(), 1000).unref()
    })
  }

  #onData(chunk: Buffer): void {
    for (const line of this.#splitter.push(chunk)) this.#onLine(line)
    if (this.#splitter.overflowed) {
      this.#fail(new LocalApiError('API_PROTOCOL', `the node sent a line longer than ${MAX_RESPONSE_LINE_BYTES} bytes`))
      this.#socket.destroy()
    }
  }

  #onLine(line: Buffer): void {
    let msg: unknown
    try {
      msg = JSON.parse(line.toString('utf8'))
    } catch {
      this.#fail(new LocalApiError('API_PROTOCOL', 'the node sent a line that is not JSON'))
      this.#socket.destroy()
      return
    }
    if (msg === null || typeof msg !== 'object') return
    const m = msg as Record<string, unknown>
    if (typeof m.event === 'string') {
      if (EVENT_SET.has(m.event)) this.#onEvent?.({ event: m.event as EventName, data: m.data } as ApiEvent)
      return
    }
    if (typeof m.id !== 'number') {
      // An answer to a request the server could not read at all: not one of ours, since ours are well-formed.
      return
    }
    const pending = this.#pending.get(m.id)
    if (pending === undefined) return
    this.#pending.delete(m.id)
    clearTimeout(pending.timer)
    const error = m.error as { code?: unknown; message?: unknown } | undefined
    if (error !== undefined && error !== null && typeof error === 'object') {
      const code = typeof error.code === 'string' ? error.code : 'API_PROTOCOL'
      const message = typeof error.message === 'string' ? error.message : 'the node answered with an error'
      pending.reject(new NodeCallError(pending.method, code, message))
    } else {
      pending.resolve(m.result)
    }
  }

  #fail(err: LocalApiError): void {
    if (this.#closedError !== undefined) return
    this.#closedError = err
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(err)
      this.#pending.delete(id)
    }
    for (const listener of this.#closeListeners.splice(0)) listener(err)
  }
}
