import { connect, type LookupFunction, type Socket } from 'node:net'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64urlnopad } from '@scure/base'
import { AbortError, TimeoutError } from '../errors.js'
import { isLoopbackIp } from '../util/net.js'
import { parseOnionAddress } from './onion-address.js'
import { TorError, type TorErrorCode } from './errors.js'
import { socksReplyError } from './socks-errors.js'

/**
 * Where tor's SOCKS port is: a loopback IP literal and port, or a unix socket
 * path. Host names (even `localhost`) are refused: Burrow never resolves names.
 */
export type SocksEndpoint = { host: string; port: number } | { path: string }

/** Options of {@link dialOnion}. */
export interface DialOnionOptions {
  /** Tor's SOCKS port. */
  proxy: SocksEndpoint
  /** The peer's onion address, with or without `.onion`; validated before any socket opens. */
  address: string
  /** The onion service's virtual port, 1–65535. */
  port: number
  /**
   * Circuit isolation key. Sent as the SOCKS5 username (RFC 1929) so that tor's
   * `IsolateSOCKSAuth` keeps streams with different keys on different circuits.
   * Omitted: no authentication, and tor may share circuits with other dials.
   */
  isolation?: string
  /** Aborts the dial at any phase with {@link AbortError}. */
  signal?: AbortSignal
  /** Bound on the whole dial, from TCP connect to the CONNECT reply. Default {@link DEFAULT_DIAL_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** Default bound on a whole onion dial: tor itself may take up to about two minutes before answering. */
export const DEFAULT_DIAL_TIMEOUT_MS = 120_000

/**
 * The fixed RFC 1929 password sent with every isolation username. Tor's
 * SocksPort does not authenticate anyone: it only isolates circuits by the
 * (username, password) pair, so varying the username is enough and a constant
 * password makes plain that nothing secret travels here.
 */
export const ISOLATION_PASSWORD = 'burrow'

const SOCKS_VERSION = 0x05
const AUTH_VERSION = 0x01
const METHOD_NO_AUTH = 0x00
const METHOD_USERNAME_PASSWORD = 0x02
const METHOD_NONE_ACCEPTABLE = 0xff
const CMD_CONNECT = 0x01
const ATYP_IPV4 = 0x01
const ATYP_DOMAIN = 0x03
const ATYP_IPV6 = 0x04
const MAX_CREDENTIAL_BYTES = 255

/**
 * Opens a stream to `address:port` through tor's SOCKS5 port: CONNECT with
 * address type 3, so the `.onion` name goes to tor and nothing is ever resolved
 * locally. Resolves with the connected socket once tor reports success; bytes
 * the peer sent right after that stay readable on the socket. On any failure
 * the socket is destroyed and the promise rejects with a typed error:
 * {@link SocksReplyError} (tor's reason, including onion-specific ones), a
 * {@link TorError} with code `SOCKS_PROTOCOL`, `SOCKS_PROXY_CONNECTION` or
 * another `SOCKS_` code for bad options, `InvalidOnionAddressError`,
 * `TimeoutError` or `AbortError`. Invalid options are refused before any
 * connection to the proxy is made.
 */
export async function dialOnion(opts: DialOnionOptions): Promise<Socket> {
  const proxy = validateProxy(opts.proxy)
  const hostname = parseOnionAddress(opts.address)
  const port = validatePort(opts.port, 'SOCKS_INVALID_PORT', 'the onion port')
  const credentials = opts.isolation === undefined ? undefined : isolationCredentials(opts.isolation)
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TorError('SOCKS_INVALID_TIMEOUT')
  }
  if (opts.signal?.aborted) throw new AbortError('onion dial')

  const socket = 'path' in proxy ? connect({ path: proxy.path }) : connect({ host: proxy.host, port: proxy.port, lookup: refuseLookup })
  const reader = new HandshakeReader(socket)
  const timer = setTimeout(() => reader.fail(new TimeoutError('onion dial through tor SOCKS', timeoutMs)), timeoutMs)
  const onAbort = (): void => reader.fail(new AbortError('onion dial'))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await reader.connected()
    await negotiateAuth(socket, reader, credentials)
    await requestConnect(socket, reader, connectRequest(hostname, port))
    return socket
  } catch (err) {
    // A dead socket must not crash the process with a late 'error' once our listeners are gone.
    socket.on('error', ignoreError)
    socket.destroy()
    throw err
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
    reader.detach()
  }
}

interface Credentials {
  username: Uint8Array
  password: Uint8Array
}

function validateProxy(proxy: SocksEndpoint): SocksEndpoint {
  if (proxy !== null && typeof proxy === 'object' && 'path' in proxy) {
    if (typeof proxy.path !== 'string' || proxy.path.length === 0 || proxy.path.includes('\0')) {
      throw new TorError('SOCKS_INVALID_PROXY', 'the SOCKS unix socket path must be a non-empty string without NUL')
    }
    return proxy
  }
  if (proxy === null || typeof proxy !== 'object' || typeof proxy.host !== 'string' || !isLoopbackIp(proxy.host)) {
    throw new TorError('SOCKS_PROXY_NOT_LOOPBACK')
  }
  validatePort(proxy.port, 'SOCKS_INVALID_PROXY', 'the SOCKS proxy port')
  return proxy
}

function validatePort(port: number, code: TorErrorCode, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TorError(code, `${what} must be an integer from 1 to 65535, got ${String(port)}`)
  }
  return port
}

/**
 * RFC 1929 allows 1–255 bytes. An isolation key that does not fit is replaced
 * by a SHA-256 digest rather than truncated: truncation would merge distinct
 * keys onto one circuit, a digest keeps them apart.
 */
function isolationCredentials(isolation: string): Credentials {
  if (typeof isolation !== 'string' || isolation.length === 0) {
    throw new TorError('SOCKS_INVALID_ISOLATION')
  }
  const raw = new TextEncoder().encode(isolation)
  const username = raw.length <= MAX_CREDENTIAL_BYTES ? raw : new TextEncoder().encode(`sha256:${base64urlnopad.encode(sha256(raw))}`)
  return { username, password: new TextEncoder().encode(ISOLATION_PASSWORD) }
}

/** Node resolves only non-IP hosts; validation admits IP literals only, so this is a last guard, never a DNS query. */
const refuseLookup: LookupFunction = (_hostname, _options, callback) => {
  callback(new TorError('SOCKS_PROXY_NOT_LOOPBACK', 'refusing to resolve a host name for the SOCKS proxy'), '', 4)
}

function ignoreError(): void {}

/**
 * The greeting and, with an isolation key, RFC 1929 username/password. Bytes
 * on the wire (ours → tor, then tor's answer):
 *
 * ```
 * 05 01 02                  greeting: SOCKS5, one method, username/password
 *    05 02                  tor picks username/password (FF: none acceptable)
 * 01 <n> <user> <m> <pass>  credentials
 *    01 00                  accepted (tor accepts any; they only pick the circuit)
 * ```
 */
async function negotiateAuth(socket: Socket, reader: HandshakeReader, credentials: Credentials | undefined): Promise<void> {
  // Offer exactly one method: with an isolation key, falling back to no-auth would silently share circuits.
  const method = credentials === undefined ? METHOD_NO_AUTH : METHOD_USERNAME_PASSWORD
  socket.write(Uint8Array.of(SOCKS_VERSION, 1, method))
  const [version, chosen] = await reader.read(2)
  if (version !== SOCKS_VERSION) throw new TorError('SOCKS_PROTOCOL', `the proxy answered the greeting with version ${String(version)}, not SOCKS5`)
  if (chosen === METHOD_NONE_ACCEPTABLE) {
    throw new TorError('SOCKS_AUTH_METHOD_REJECTED', `the proxy accepts none of the offered authentication methods (offered 0x0${method})`)
  }
  if (chosen !== method) throw new TorError('SOCKS_PROTOCOL', `the proxy chose authentication method ${String(chosen)}, which was not offered`)
  if (credentials === undefined) return

  const { username, password } = credentials
  socket.write(Uint8Array.from([AUTH_VERSION, username.length, ...username, password.length, ...password]))
  const [authVersion, status] = await reader.read(2)
  if (authVersion !== AUTH_VERSION) throw new TorError('SOCKS_PROTOCOL', `the proxy answered username/password authentication with version ${String(authVersion)}`)
  if (status !== 0) throw new TorError('SOCKS_AUTH_FAILED')
}

function connectRequest(hostname: string, port: number): Uint8Array {
  const host = new TextEncoder().encode(hostname)
  return Uint8Array.from([SOCKS_VERSION, CMD_CONNECT, 0x00, ATYP_DOMAIN, host.length, ...host, port >> 8, port & 0xff])
}

/**
 * Sends CONNECT and consumes exactly the reply, leaving any early data from
 * the peer in the socket's buffer. Tor's reply (RFC 1928 §6; REP F0–F7 are
 * tor's ExtendedErrors, see socks-errors.ts):
 *
 * ```
 * 05 00 00 01 00000000 0000   success, bound address 0.0.0.0:0 (IPv4)
 * 05 F4 00 01 00000000 0000   failure: onion client authorization missing
 * ```
 */
async function requestConnect(socket: Socket, reader: HandshakeReader, request: Uint8Array): Promise<void> {
  socket.write(request)
  // Judge the reply code first: a failure reply's bound address is meaningless, and a proxy may cut it short.
  const [version, reply] = await reader.read(2)
  if (version !== SOCKS_VERSION) throw new TorError('SOCKS_PROTOCOL', `the proxy answered CONNECT with version ${String(version)}, not SOCKS5`)
  if (reply !== 0x00) throw socksReplyError(reply ?? -1)
  const [reserved, addressType] = await reader.read(2)
  if (reserved !== 0x00) throw new TorError('SOCKS_PROTOCOL', `the proxy's CONNECT reply has a non-zero reserved byte (${String(reserved)})`)
  let addressLength: number
  if (addressType === ATYP_IPV4) addressLength = 4
  else if (addressType === ATYP_IPV6) addressLength = 16
  else if (addressType === ATYP_DOMAIN) addressLength = (await reader.read(1))[0] ?? 0
  else throw new TorError('SOCKS_PROTOCOL', `the proxy's CONNECT reply has unknown address type ${String(addressType)}`)
  await reader.read(addressLength + 2)
}

/**
 * Reads exact byte counts during the handshake in paused mode, so nothing past
 * the handshake is ever taken out of the socket. `fail` (timeout, abort,
 * connection loss) rejects the pending and all later waits with that error.
 */
class HandshakeReader {
  /** The one outstanding wait; `size` 0 means "until connected". */
  private waiter: { size: number; resolve: (bytes: Buffer) => void; reject: (err: Error) => void } | undefined
  private failure: Error | undefined
  private isConnected = false

  constructor(private readonly socket: Socket) {
    socket.on('connect', this.handleConnect)
    socket.on('readable', this.handleReadable)
    socket.on('end', this.handleEnd)
    socket.on('error', this.handleError)
    socket.on('close', this.handleClose)
  }

  async connected(): Promise<void> {
    if (this.isConnected && this.failure === undefined) return
    await this.wait(0)
  }

  read(size: number): Promise<Buffer> {
    return this.wait(size)
  }

  fail(err: Error): void {
    if (this.failure !== undefined) return
    this.failure = err
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.reject(err)
  }

  /** Hands the socket back to the caller: once our 'readable' listener is gone, a 'data' listener or pipe starts the flow. */
  detach(): void {
    this.socket.off('connect', this.handleConnect)
    this.socket.off('readable', this.handleReadable)
    this.socket.off('end', this.handleEnd)
    this.socket.off('error', this.handleError)
    this.socket.off('close', this.handleClose)
  }

  private wait(size: number): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise<Buffer>((resolve, reject) => {
      this.waiter = { size, resolve, reject }
      if (size > 0) this.handleReadable()
    })
  }

  private readonly handleConnect = (): void => {
    this.isConnected = true
    const waiter = this.waiter
    if (waiter?.size !== 0) return
    this.waiter = undefined
    waiter.resolve(Buffer.alloc(0))
  }

  private readonly handleReadable = (): void => {
    const waiter = this.waiter
    if (waiter === undefined || waiter.size === 0) return
    const bytes = this.socket.read(waiter.size) as Buffer | null
    if (bytes === null) return
    if (bytes.length < waiter.size) {
      // read() hands out a short buffer only once the stream has ended.
      this.fail(new TorError('SOCKS_PROXY_CONNECTION', `tor closed the SOCKS connection in the middle of a reply (${bytes.length} of ${waiter.size} bytes)`))
      return
    }
    this.waiter = undefined
    waiter.resolve(bytes)
  }

  private readonly handleEnd = (): void => {
    this.fail(new TorError('SOCKS_PROXY_CONNECTION', 'tor closed the SOCKS connection before the handshake finished'))
  }

  private readonly handleError = (err: Error): void => {
    this.fail(
      this.isConnected
        ? new TorError('SOCKS_PROXY_CONNECTION', "the connection to tor's SOCKS port failed during the handshake", { cause: err })
        : new TorError('SOCKS_PROXY_CONNECTION', "could not connect to tor's SOCKS port (is tor running?)", { cause: err }),
    )
  }

  private readonly handleClose = (): void => {
    this.fail(new TorError('SOCKS_PROXY_CONNECTION', "the connection to tor's SOCKS port closed before the handshake finished"))
  }
}
