import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { open } from 'node:fs/promises'
import type { Logger } from '../../logging.js'
import { TorCommandError, TorError } from '../errors.js'
import { parseKeyValues } from './key-values.js'
import { quoteString } from './quote.js'
import type { ControlReply } from './reply-parser.js'

/** Credentials the caller can offer; tor's PROTOCOLINFO decides which get used. */
export interface AuthOptions {
  /** Cookie file to use instead of the one PROTOCOLINFO names. */
  cookieFile?: string
  /** Plain password for HASHEDPASSWORD authentication. */
  password?: string
}

/** What PROTOCOLINFO says about authentication. */
export interface ProtocolInfo {
  /** Offered methods, e.g. `['COOKIE', 'SAFECOOKIE']`. */
  methods: string[]
  /** Absolute path of the auth cookie, when cookie methods are offered. */
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

/** Parses the reply to `PROTOCOLINFO 1`. @throws TorError `TOR_CONTROL_PROTOCOL` when the AUTH line is missing */
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
 * Reads tor's auth cookie. The path may come from PROTOCOLINFO, i.e. from
 * whoever listens on the port, so only a regular file of exactly 32 bytes is
 * read: never a device or a large file.
 */
export async function readCookieFile(path: string): Promise<Buffer> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw new TorError('TOR_AUTH_FAILED', 'cannot open the tor auth cookie file', { cause: err })
  })
  try {
    const stat = await handle.stat()
    if (!stat.isFile() || stat.size !== COOKIE_BYTES) throw new TorError('TOR_AUTH_FAILED', `tor auth cookie file is not a ${COOKIE_BYTES}-byte file`)
    const cookie = Buffer.alloc(COOKIE_BYTES)
    const { bytesRead } = await handle.read(cookie, 0, COOKIE_BYTES, 0)
    if (bytesRead !== COOKIE_BYTES) throw new TorError('TOR_AUTH_FAILED', 'tor auth cookie file shrank while being read')
    return cookie
  } finally {
    await handle.close()
  }
}

/**
 * Authenticates a fresh control connection: PROTOCOLINFO, then the strongest
 * method both sides can do: SAFECOOKIE > COOKIE > HASHEDPASSWORD > NULL.
 * SAFECOOKIE checks tor's proof of the cookie (constant time) before sending
 * ours, and a wrong proof is fatal: falling back to COOKIE would hand the
 * cookie to whoever answered.
 *
 * @throws TorError `TOR_AUTH_FAILED` when no method is usable or tor rejects the credential
 */
export async function authenticate(send: SendCommand, auth: AuthOptions, log: Logger): Promise<void> {
  const info = parseProtocolInfo(await send('PROTOCOLINFO 1'))
  const offered = new Set(info.methods)
  log.debug({ methods: info.methods, torVersion: info.torVersion }, 'tor control: PROTOCOLINFO')
  const problems: string[] = []

  const cookiePath = auth.cookieFile ?? info.cookieFile
  if ((offered.has('SAFECOOKIE') || offered.has('COOKIE')) && cookiePath !== undefined) {
    const cookie = await readCookieFile(cookiePath).catch((err: unknown) => {
      problems.push(err instanceof Error ? err.message : String(err))
      return undefined
    })
    if (cookie !== undefined) {
      try {
        if (offered.has('SAFECOOKIE')) {
          const proof = await safeCookieChallenge(send, cookie).catch((err: unknown) => {
            // A refused AUTHCHALLENGE proves nothing either way; a bad server hash throws past this.
            if (!(err instanceof TorCommandError)) throw err
            problems.push(`AUTHCHALLENGE refused (${err.status})`)
            return undefined
          })
          if (proof !== undefined) return await sendAuthenticate(send, proof, 'SAFECOOKIE', log)
        }
        if (offered.has('COOKIE')) return await sendAuthenticate(send, cookie.toString('hex'), 'COOKIE', log)
      } finally {
        cookie.fill(0)
      }
    }
  }
  if (offered.has('HASHEDPASSWORD') && auth.password !== undefined) {
    return sendAuthenticate(send, quoteString(auth.password), 'HASHEDPASSWORD', log)
  }
  if (offered.has('NULL')) return sendAuthenticate(send, undefined, 'NULL', log)

  const detail = problems.length > 0 ? `; ${problems.join('; ')}` : ''
  throw new TorError('TOR_AUTH_FAILED', `no usable tor authentication method (tor offers ${info.methods.join(',') || 'none'})${detail}`)
}

/** Runs AUTHCHALLENGE and returns the hex client proof, after verifying tor's. */
async function safeCookieChallenge(send: SendCommand, cookie: Buffer): Promise<string> {
  const clientNonce = randomBytes(NONCE_BYTES)
  const reply = await send(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString('hex')}`)
  const text = reply.lines[reply.lines.length - 1]?.text ?? ''
  const kv = parseKeyValues(text)
  const hex64 = /^[0-9A-Fa-f]{64}$/
  if (!text.startsWith('AUTHCHALLENGE ') || !hex64.test(kv.SERVERHASH ?? '') || !hex64.test(kv.SERVERNONCE ?? '')) {
    throw new TorError('TOR_CONTROL_PROTOCOL', 'malformed AUTHCHALLENGE reply')
  }
  const serverNonce = Buffer.from(kv.SERVERNONCE as string, 'hex')
  const { serverHash, clientHash } = safeCookieHashes(cookie, clientNonce, serverNonce)
  if (!timingSafeEqual(serverHash, Buffer.from(kv.SERVERHASH as string, 'hex'))) {
    throw new TorError('TOR_AUTH_FAILED', 'tor failed the SAFECOOKIE check: whoever listens on this control port does not know the cookie')
  }
  return clientHash.toString('hex')
}

async function sendAuthenticate(send: SendCommand, credential: string | undefined, method: string, log: Logger): Promise<void> {
  try {
    await send(credential === undefined ? 'AUTHENTICATE' : `AUTHENTICATE ${credential}`)
  } catch (err) {
    if (err instanceof TorCommandError) throw new TorError('TOR_AUTH_FAILED', `tor rejected ${method} authentication (${err.status})`, { cause: err })
    throw err
  }
  log.debug({ method }, 'tor control: authenticated')
}
