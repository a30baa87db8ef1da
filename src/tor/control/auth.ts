import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Logger } from '../../logging.js'
import { TorCommandError, TorError } from '../errors.js'
import { parseKeyValues } from './key-values.js'
import { quoteString } from './quote.js'
import type { ControlReply } from './reply-parser.js'

/**
 * The credential the user configured. Burrow authenticates only with this:
 * SAFECOOKIE with `cookieFile` (tor proves it knows the cookie before we
 * prove anything), or HASHEDPASSWORD with `password`. Never NULL, never plain
 * COOKIE, never a cookie path the other end suggests.
 */
export type AuthOptions = { cookieFile: string; password?: string } | { cookieFile?: string; password: string }

/**
 * What PROTOCOLINFO says about authentication. All of it comes from whoever
 * answers on the control port: it decides nothing, it only explains a refusal.
 */
export interface ProtocolInfo {
  /** Offered methods, e.g. `['COOKIE', 'SAFECOOKIE']`. */
  methods: string[]
  /** Where the other end says its cookie is. Never read; shown as a hint only. */
  cookieFile?: string
  /** Tor's version string. */
  torVersion?: string
}

/** Sends one command line and resolves with its reply (rejects on 4xx/5xx). */
export type SendCommand = (line: string) => Promise<ControlReply>

/** Tor's cookie is exactly this long; anything else is not a tor cookie. */
export const COOKIE_BYTES = 32
const NONCE_BYTES = 32
const SERVER_TO_CONTROLLER = 'Tor safe cookie authentication server-to-controller hash'
const CONTROLLER_TO_SERVER = 'Tor safe cookie authentication controller-to-server hash'
const HEX64 = /^[0-9A-Fa-f]{64}$/
const MAX_HINT_CHARS = 200

/**
 * Parses the reply to `PROTOCOLINFO 1` (control-spec §3.21):
 *
 * ```
 * 250-PROTOCOLINFO 1
 * 250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/home/ann/.burrow/tor/control_auth_cookie"
 * 250-VERSION Tor="0.4.9.11"
 * 250 OK
 * ```
 *
 * @throws TorError `TOR_CONTROL_PROTOCOL` when the AUTH line is missing
 */
export function parseProtocolInfo(reply: ControlReply): ProtocolInfo {
  let info: ProtocolInfo | undefined
  let torVersion: string | undefined
  for (const line of reply.lines) {
    if (line.text.startsWith('AUTH ')) {
      const kv = parseKeyValues(line.text)
      info = { methods: (kv.METHODS ?? '').split(',').filter((m) => m !== '') }
      if (kv.COOKIEFILE !== undefined) info.cookieFile = kv.COOKIEFILE
    } else if (line.text.startsWith('VERSION ')) {
      torVersion = parseKeyValues(line.text).Tor
    }
  }
  if (info === undefined) throw new TorError('TOR_CONTROL_PROTOCOL', 'PROTOCOLINFO reply has no AUTH line')
  if (torVersion !== undefined) info.torVersion = torVersion
  return info
}

/**
 * The two SAFECOOKIE proofs (control-spec AUTHCHALLENGE): HMAC-SHA256 keyed
 * with tor's fixed strings over cookie ‖ client nonce ‖ server nonce.
 */
export function safeCookieHashes(cookie: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): { serverHash: Buffer; clientHash: Buffer } {
  const mac = (key: string): Buffer => createHmac('sha256', key).update(cookie).update(clientNonce).update(serverNonce).digest()
  return { serverHash: mac(SERVER_TO_CONTROLLER), clientHash: mac(CONTROLLER_TO_SERVER) }
}

/**
 * Reads the tor auth cookie at the path the user configured. Only a regular
 * file of exactly 32 bytes is read: never a device or a large file. It is
 * opened non-blocking, so a FIFO planted at the path (by whoever can write
 * the cookie's folder) is refused at once instead of hanging authentication.
 *
 * @throws TorError `TOR_AUTH_FAILED`, naming `path`, when the file is missing, unreadable or not a cookie
 */
export async function readCookieFile(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch((err: unknown) => {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new TorError('TOR_AUTH_FAILED', `cannot read the tor control cookie file you configured, ${path} (${reason})`, { cause: err })
  })
  try {
    const stat = await handle.stat()
    if (!stat.isFile() || stat.size !== COOKIE_BYTES) {
      throw new TorError('TOR_AUTH_FAILED', `the tor control cookie file you configured, ${path}, is not a ${COOKIE_BYTES}-byte file`)
    }
    const cookie = Buffer.alloc(COOKIE_BYTES)
    const { bytesRead } = await handle.read(cookie, 0, COOKIE_BYTES, 0)
    if (bytesRead !== COOKIE_BYTES) throw new TorError('TOR_AUTH_FAILED', `the tor control cookie file ${path} shrank while being read`)
    return cookie
  } finally {
    await handle.close()
  }
}

/**
 * Authenticates a fresh control connection with the credential the user
 * configured, and with nothing else:
 *
 * 1. `PROTOCOLINFO 1` (nothing secret is sent).
 * 2. With `cookieFile`, if SAFECOOKIE is offered: `AUTHCHALLENGE` with our
 *    nonce; tor's answer must prove it knows the cookie (checked in constant
 *    time) before `AUTHENTICATE` sends our proof. A refused or wrong challenge
 *    ends here: there is no fallback.
 * 3. Otherwise with `password`, if HASHEDPASSWORD is offered: `AUTHENTICATE "password"`.
 *
 * Whoever binds the control port while tor is down (any local user, for a
 * TCP port) can offer NULL or COOKIE with a COOKIEFILE of its choosing; both
 * are refused, so it learns no cookie and never sees the commands that carry
 * keys (ADD_ONION, ONION_CLIENT_AUTH_ADD). HASHEDPASSWORD gives no such proof
 * (tor never proves it knows the password), which is why SAFECOOKIE comes first.
 *
 * @throws TorError `TOR_AUTH_FAILED` when no configured method is offered, the cookie cannot be read, tor fails the SAFECOOKIE check, or tor rejects the credential
 */
export async function authenticate(send: SendCommand, auth: AuthOptions, log: Logger): Promise<void> {
  if (auth.cookieFile === undefined && auth.password === undefined) {
    throw new TorError('TOR_AUTH_FAILED', 'no tor control credential configured: give the cookie file (SAFECOOKIE) or the password (HASHEDPASSWORD) of your tor')
  }
  const info = parseProtocolInfo(await send('PROTOCOLINFO 1'))
  const offered = new Set(info.methods)
  log.debug({ methods: info.methods, torVersion: info.torVersion }, 'tor control: PROTOCOLINFO')

  if (auth.cookieFile !== undefined && offered.has('SAFECOOKIE')) {
    const cookie = await readCookieFile(auth.cookieFile).catch((err: unknown) => {
      throw withCookieHint(err, info, auth.cookieFile)
    })
    try {
      return await sendAuthenticate(send, await safeCookieChallenge(send, cookie), 'SAFECOOKIE', log)
    } finally {
      cookie.fill(0)
    }
  }
  if (auth.password !== undefined && offered.has('HASHEDPASSWORD')) {
    return sendAuthenticate(send, quoteString(auth.password), 'HASHEDPASSWORD', log)
  }
  const configured = [auth.cookieFile !== undefined ? 'SAFECOOKIE with your cookie file' : '', auth.password !== undefined ? 'HASHEDPASSWORD with your password' : '']
    .filter((m) => m !== '')
    .join(' or ')
  throw withCookieHint(
    new TorError(
      'TOR_AUTH_FAILED',
      `tor's control port offers ${info.methods.join(',') || 'no method'}; Burrow authenticates only by ${configured} (never NULL or plain COOKIE, which would hand our keys to whoever listens there)`,
    ),
    info,
    auth.cookieFile,
  )
}

/**
 * Adds where the other end says its cookie is, as a hint for the user (it is
 * never read). Quoted and cut short: it is text from an untrusted peer.
 */
function withCookieHint(err: unknown, info: ProtocolInfo, configured: string | undefined): unknown {
  if (!(err instanceof TorError) || info.cookieFile === undefined || info.cookieFile === configured) return err
  const hint = JSON.stringify(info.cookieFile.slice(0, MAX_HINT_CHARS))
  return new TorError(err.code, `${err.message} (the control port names the cookie file ${hint}; if that is your tor's, configure it as cookieFile)`, { cause: err.cause })
}

/**
 * Runs AUTHCHALLENGE and returns the hex client proof, after verifying tor's.
 * Tor's answer (control-spec §3.24):
 *
 * ```
 * 250 AUTHCHALLENGE SERVERHASH=<64 hex> SERVERNONCE=<64 hex>
 * ```
 */
async function safeCookieChallenge(send: SendCommand, cookie: Buffer): Promise<string> {
  const clientNonce = randomBytes(NONCE_BYTES)
  const reply = await send(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString('hex')}`).catch((err: unknown) => {
    if (err instanceof TorCommandError) throw new TorError('TOR_AUTH_FAILED', `tor refused AUTHCHALLENGE (${err.status}); no other method is tried`, { cause: err })
    throw err
  })
  const text = reply.lines[reply.lines.length - 1]?.text ?? ''
  const kv = parseKeyValues(text)
  if (!text.startsWith('AUTHCHALLENGE ') || !HEX64.test(kv.SERVERHASH ?? '') || !HEX64.test(kv.SERVERNONCE ?? '')) {
    throw new TorError('TOR_CONTROL_PROTOCOL', 'malformed AUTHCHALLENGE reply')
  }
  const serverNonce = Buffer.from(kv.SERVERNONCE as string, 'hex')
  const { serverHash, clientHash } = safeCookieHashes(cookie, clientNonce, serverNonce)
  if (!timingSafeEqual(serverHash, Buffer.from(kv.SERVERHASH as string, 'hex'))) {
    throw new TorError('TOR_AUTH_FAILED', 'tor failed the SAFECOOKIE check: whoever listens on this control port does not know the cookie')
  }
  return clientHash.toString('hex')
}

async function sendAuthenticate(send: SendCommand, credential: string, method: string, log: Logger): Promise<void> {
  try {
    await send(`AUTHENTICATE ${credential}`)
  } catch (err) {
    if (err instanceof TorCommandError) throw new TorError('TOR_AUTH_FAILED', `tor rejected ${method} authentication (${err.status})`, { cause: err })
    throw err
  }
  log.debug({ method }, 'tor control: authenticated')
}
