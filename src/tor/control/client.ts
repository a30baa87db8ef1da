import { EventEmitter } from 'node:events'
import { createConnection, type Socket } from 'node:net'
import { AbortError } from '../../errors.js'
import { silentLogger, type Logger } from '../../logging.js'
import { isLoopbackIp } from '../../util/net.js'
import { authenticate, type AuthOptions } from './auth.js'
import { TorCommandError, TorError } from '../errors.js'
import { parseEvent, type CircEvent, type HsDescEvent, type RawTorEvent, type StatusClientEvent, type TorEvent } from './events.js'
import { keywordArgs } from './key-values.js'
import {
  assertServiceId,
  buildAddOnionCommand,
  buildClientAuthAddCommand,
  parseAddOnionReply,
  type AddOnionOptions,
  type AddOnionResult,
  type ClientAuthOptions,
} from './onion.js'
import { assertKeyword } from './quote.js'
import { ReplyParser, type ControlReply } from './reply-parser.js'

/** Where tor's control port listens: a loopback TCP port or a unix socket. */
export type ControlEndpoint = { host: string; port: number } | { path: string }

/** Options of {@link TorControl.connect}. */
export interface ConnectOptions {
  /** Bound on establishing the connection. Default 10 s. */
  timeoutMs?: number
  /** Default bound on each command's reply. Default 30 s. */
  commandTimeoutMs?: number
  logger?: Logger
  /** Aborts the connection attempt (not the connection once made). */
  signal?: AbortSignal
}

/** Listener signatures of the events {@link TorControl} emits. */
export interface TorControlEventMap {
  /** Every asynchronous event tor sends (status 650). */
  event: (ev: TorEvent) => void
  /** Once, when the connection ends; `err` is set when it was lost rather than closed by us. */
  close: (err?: Error) => void
  STATUS_CLIENT: (ev: StatusClientEvent) => void
  HS_DESC: (ev: HsDescEvent) => void
  CIRC: (ev: CircEvent) => void
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000
const QUIT_TIMEOUT_MS = 1_000
const EVENT_NAME = /^[A-Z][A-Z0-9_]*$/
const TYPED_EVENTS = new Set(['STATUS_CLIENT', 'HS_DESC', 'CIRC'])
// Commands whose arguments are secrets: their pieces are scrubbed from tor's error text.
const SECRET_COMMANDS = new Set(['AUTHENTICATE', 'ADD_ONION', 'ONION_CLIENT_AUTH_ADD'])

/** A command waiting for its reply. An abandoned one (timed out) keeps its place in the queue. */
interface PendingCommand {
  keyword: string
  secrets: string[]
  resolve: (reply: ControlReply) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
  abandoned: boolean
}

/** Typed listener overloads, merged into the class below. */
export interface TorControl {
  on<K extends keyof TorControlEventMap>(event: K, listener: TorControlEventMap[K]): this
  on(event: string, listener: (ev: RawTorEvent) => void): this
  once<K extends keyof TorControlEventMap>(event: K, listener: TorControlEventMap[K]): this
  once(event: string, listener: (ev: RawTorEvent) => void): this
  off<K extends keyof TorControlEventMap>(event: K, listener: TorControlEventMap[K]): this
  off(event: string, listener: (ev: RawTorEvent) => void): this
}

/**
 * One long-lived connection to tor's control port (control-spec), in the
 * manner of stem: commands are queued FIFO and matched to tor's in-order
 * replies, asynchronous events are parsed and emitted, and every failure is a
 * typed {@link TorError}.
 *
 * Emits `event` for every 650 reply, the event's type (`STATUS_CLIENT`,
 * `HS_DESC`, `CIRC`, or any other upper-case name for raw events), and `close`
 * once. It never emits `error`, so an unhandled failure cannot crash the process.
 */
export class TorControl extends EventEmitter {
  readonly #socket: Socket
  readonly #parser = new ReplyParser()
  readonly #pending: PendingCommand[] = []
  readonly #log: Logger
  readonly #commandTimeoutMs: number
  #ended = false
  #closing: Promise<void> | undefined
  #socketError: Error | undefined

  private constructor(socket: Socket, log: Logger, commandTimeoutMs: number) {
    super()
    this.#socket = socket
    this.#log = log
    this.#commandTimeoutMs = commandTimeoutMs
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err) => {
      this.#socketError = err
    })
    socket.on('close', () => this.#end(this.#socketError))
  }

  /**
   * Opens a control connection. TCP endpoints must be loopback IP literals
   * (no name is ever resolved). Authenticate before sending other commands.
   *
   * @throws TorError `TOR_CONTROL_ARGUMENT` for a non-loopback or malformed endpoint (before any connection attempt)
   * @throws TorError `TOR_CONTROL_TIMEOUT` or `TOR_CONTROL`, or AbortError, when the connection cannot be made
   */
  static async connect(endpoint: ControlEndpoint, opts: ConnectOptions = {}): Promise<TorControl> {
    assertEndpoint(endpoint)
    const log = opts.logger ?? silentLogger
    const socket = await openSocket(endpoint, opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, opts.signal)
    log.debug({ endpoint: describeEndpoint(endpoint) }, 'tor control: connected')
    return new TorControl(socket, log, opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS)
  }

  /** True once the connection has ended or {@link close} was called. */
  get closed(): boolean {
    return this.#ended || this.#closing !== undefined
  }

  /**
   * PROTOCOLINFO, then SAFECOOKIE with the configured cookie file or
   * HASHEDPASSWORD with the configured password; never NULL, plain COOKIE or
   * a cookie file the other end names.
   *
   * @throws TorError `TOR_AUTH_FAILED` when nothing works or tor fails the SAFECOOKIE check
   */
  authenticate(auth: AuthOptions): Promise<void> {
    return authenticate((line) => this.command(line), auth, this.#log)
  }

  /**
   * Sends one command line and resolves with tor's reply. Commands are
   * answered in order, so several may be in flight at once.
   *
   * @throws TorError `TOR_CONTROL_ARGUMENT` if `line` contains CR, LF or NUL (nothing is sent)
   * @throws {@link TorCommandError} for a 4xx/5xx reply (message names only the command keyword)
   * @throws TorError `TOR_CONTROL_TIMEOUT` when no reply comes in time; the late reply is then discarded
   * @throws TorError `TOR_CONTROL_CLOSED` when the connection is closed or lost first
   */
  command(line: string, opts: { timeoutMs?: number } = {}): Promise<ControlReply> {
    if (/[\r\n\0]/.test(line)) return Promise.reject(new TorError('TOR_CONTROL_ARGUMENT', 'command line contains CR, LF or NUL'))
    if (this.closed) return Promise.reject(new TorError('TOR_CONTROL_CLOSED', 'tor control connection is closed'))
    return this.#send(line, opts.timeoutMs ?? this.#commandTimeoutMs)
  }

  /**
   * GETINFO for `keys`; values come from `250-key=value` lines and from
   * `250+key=` data blocks alike.
   */
  async getInfo(keys: string[]): Promise<Record<string, string>> {
    if (keys.length === 0) throw new TorError('TOR_CONTROL_ARGUMENT', 'GETINFO needs at least one key')
    for (const k of keys) assertKeyword(k)
    const reply = await this.command(`GETINFO ${keys.join(' ')}`)
    const values = reply.lines
      .filter((line) => line.kind !== 'end')
      .map((line) => {
        const eq = line.text.indexOf('=')
        if (eq <= 0) throw new TorError('TOR_CONTROL_PROTOCOL', 'GETINFO reply line is not key=value')
        const key = line.text.slice(0, eq)
        return { raw: line.text, key, value: line.kind === 'data' ? (line.data ?? '') : line.text.slice(eq + 1) }
      })
    return keywordArgs(values)
  }

  /** SETEVENTS: replaces the subscribed set with `names` (an empty list unsubscribes from all). */
  async setEvents(names: string[]): Promise<void> {
    for (const n of names) if (!EVENT_NAME.test(n)) throw new TorError('TOR_CONTROL_ARGUMENT', 'event names are upper-case keywords')
    await this.command(names.length === 0 ? 'SETEVENTS' : `SETEVENTS ${names.join(' ')}`)
  }

  /** SIGNAL, e.g. `NEWNYM`, `HUP`, `SHUTDOWN`. */
  async signal(name: string): Promise<void> {
    if (!EVENT_NAME.test(name)) throw new TorError('TOR_CONTROL_ARGUMENT', 'signal names are upper-case keywords')
    await this.command(`SIGNAL ${name}`)
  }

  /** TAKEOWNERSHIP: tor exits when this connection closes. */
  async takeOwnership(): Promise<void> {
    await this.command('TAKEOWNERSHIP')
  }

  /**
   * ADD_ONION. With `clientAuthV3` non-empty `Flags=V3Auth` is added; PoW
   * settings go as keyword arguments. The key is never logged nor put in an error.
   */
  async addOnion(opts: AddOnionOptions): Promise<AddOnionResult> {
    const result = parseAddOnionReply(await this.command(buildAddOnionCommand(opts)))
    this.#log.info({ serviceId: result.serviceId, ports: opts.ports.map((p) => p.virtualPort) }, 'tor control: onion service added')
    return result
  }

  /** DEL_ONION for a service created on any control connection. */
  async delOnion(serviceId: string): Promise<void> {
    await this.command(`DEL_ONION ${assertServiceId(serviceId)}`)
  }

  /**
   * ONION_CLIENT_AUTH_ADD: our x25519 private key for a peer's service. Any
   * 25x reply is success (252 means tor already had the descriptor cached).
   */
  async onionClientAuthAdd(serviceId: string, x25519PrivateKeyBase64: string, opts: ClientAuthOptions = {}): Promise<void> {
    await this.command(buildClientAuthAddCommand(serviceId, x25519PrivateKeyBase64, opts))
  }

  /** ONION_CLIENT_AUTH_REMOVE; removing a key tor does not have (251) is not an error. */
  async onionClientAuthRemove(serviceId: string): Promise<void> {
    await this.command(`ONION_CLIENT_AUTH_REMOVE ${assertServiceId(serviceId)}`)
  }

  /**
   * Sends QUIT (waiting at most 1 s for tor's answer), then destroys the
   * socket. Idempotent; commands still pending reject with `TOR_CONTROL_CLOSED`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    if (this.#ended) return
    await this.#send('QUIT', QUIT_TIMEOUT_MS).catch(() => undefined)
    this.#end(undefined)
  }

  #send(line: string, timeoutMs: number): Promise<ControlReply> {
    const keyword = /^[A-Za-z0-9_+]+/.exec(line)?.[0]?.toUpperCase() ?? 'command'
    const secrets = SECRET_COMMANDS.has(keyword) ? line.split(/[\s=,:"]+/).slice(1).filter((s) => s.length >= 8) : []
    return new Promise<ControlReply>((resolve, reject) => {
      const pending: PendingCommand = {
        keyword,
        secrets,
        resolve,
        reject,
        abandoned: false,
        timer: setTimeout(() => {
          // Keep the slot: tor still answers this command, and that answer must not go to the next one.
          pending.abandoned = true
          reject(new TorError('TOR_CONTROL_TIMEOUT', `tor ${keyword} timed out after ${timeoutMs} ms`))
        }, timeoutMs),
      }
      this.#pending.push(pending)
      this.#log.trace({ command: keyword }, 'tor control: command sent')
      this.#socket.write(`${line}\r\n`)
    })
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) return
    let replies: ControlReply[]
    try {
      replies = this.#parser.push(chunk)
    } catch (err) {
      this.#end(err instanceof Error ? err : new TorError('TOR_CONTROL_PROTOCOL', 'unparseable data from tor'))
      return
    }
    for (const reply of replies) {
      if (this.#ended) return
      if (reply.status === 650) {
        this.#dispatchEvent(reply)
        continue
      }
      const pending = this.#pending.shift()
      if (pending === undefined) {
        this.#end(new TorError('TOR_CONTROL_PROTOCOL', `tor sent a ${reply.status} reply that answers no command`))
        return
      }
      this.#settle(pending, reply)
    }
  }

  #settle(pending: PendingCommand, reply: ControlReply): void {
    clearTimeout(pending.timer)
    if (pending.abandoned) {
      this.#log.debug({ command: pending.keyword, status: reply.status }, 'tor control: discarded the reply to a timed-out command')
      return
    }
    if (reply.status < 400) {
      pending.resolve(reply)
      return
    }
    let message = reply.lines.map((l) => l.text).join('\n')
    for (const s of pending.secrets) message = message.split(s).join('[redacted]')
    pending.reject(new TorCommandError(pending.keyword, reply.status, message))
  }

  #dispatchEvent(reply: ControlReply): void {
    const ev = parseEvent(reply)
    this.#emitSafely('event', ev)
    if (TYPED_EVENTS.has(ev.type) && 'raw' in ev) {
      this.#log.warn({ type: ev.type }, 'tor control: malformed event, delivered raw on "event" only')
    } else if (EVENT_NAME.test(ev.type)) {
      this.#emitSafely(ev.type, ev)
    }
  }

  /** Listener exceptions must not unwind into the socket handler and break reply matching. */
  #emitSafely(name: string, ...args: unknown[]): void {
    try {
      this.emit(name, ...args)
    } catch (err) {
      this.#log.error({ event: name, err: err instanceof Error ? err.message : String(err) }, 'tor control: a listener threw')
    }
  }

  /**
   * Ends the connection once: destroys the socket, rejects what is pending
   * (with `cause` itself if it is one of ours, e.g. a protocol error) and
   * emits `close`, with an error unless {@link close} was called.
   */
  #end(cause: Error | undefined): void {
    if (this.#ended) return
    this.#ended = true
    this.#socket.destroy()
    const intentional = this.#closing !== undefined
    const failure =
      cause instanceof TorError
        ? cause
        : new TorError('TOR_CONTROL_CLOSED', intentional ? 'tor control connection closed' : 'tor control connection lost', cause === undefined ? undefined : { cause })
    for (const pending of this.#pending.splice(0)) {
      clearTimeout(pending.timer)
      if (!pending.abandoned) pending.reject(failure)
    }
    if (intentional) {
      this.#log.debug('tor control: closed')
      this.#emitSafely('close')
    } else {
      this.#log.warn({ err: failure.message }, 'tor control: connection ended unexpectedly')
      this.#emitSafely('close', failure)
    }
  }
}

function assertEndpoint(endpoint: ControlEndpoint): void {
  if ('path' in endpoint) {
    if (typeof endpoint.path !== 'string' || endpoint.path === '' || endpoint.path.includes('\0')) {
      throw new TorError('TOR_CONTROL_ARGUMENT', 'control socket path must be a non-empty string')
    }
    return
  }
  if (!isLoopbackIp(endpoint.host)) throw new TorError('TOR_CONTROL_ARGUMENT', 'control port host must be a loopback IP literal (127.0.0.0/8 or ::1)')
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw new TorError('TOR_CONTROL_ARGUMENT', 'control port must be an integer in 1..65535')
  }
}

function describeEndpoint(endpoint: ControlEndpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `${endpoint.host}:${endpoint.port}`
}

/** Connects within `timeoutMs`, honouring `signal`; the socket is destroyed on any failure. */
function openSocket(endpoint: ControlEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('tor control connect'))
    const socket = 'path' in endpoint ? createConnection({ path: endpoint.path }) : createConnection({ host: endpoint.host, port: endpoint.port })
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.off('connect', onConnect)
      socket.off('error', onError)
      if (err === undefined) return resolve(socket)
      socket.destroy()
      reject(err)
    }
    const onConnect = (): void => finish()
    const onError = (err: Error): void =>
      finish(new TorError('TOR_CONTROL', `cannot connect to tor's control port at ${describeEndpoint(endpoint)}`, { cause: err }))
    const onAbort = (): void => finish(new AbortError('tor control connect'))
    const timer = setTimeout(() => finish(new TorError('TOR_CONTROL_TIMEOUT', `tor control connect timed out after ${timeoutMs} ms`)), timeoutMs)
    socket.once('connect', onConnect)
    socket.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
