import { inspect } from 'node:util'
import { isLoopbackIp } from '../../util/net.js'
import { TorError } from '../errors.js'
import type { ControlReply } from './reply-parser.js'

/** One `Port=` mapping of an onion service. */
export interface OnionPort {
  /** The port clients dial on the .onion address. */
  virtualPort: number
  /** Where tor forwards: `127.0.0.1:1234`, `[::1]:1234` or `unix:/absolute/path`. */
  target: string
}

/** Proof-of-work defence settings (tor ≥ 0.4.8); sent as keyword arguments, not flags. */
export interface PowDefenses {
  enabled: boolean
  queueRate?: number
  queueBurst?: number
}

/** Arguments of ADD_ONION. */
export interface AddOnionOptions {
  /** `NEW:ED25519-V3`, or `ED25519-V3:<base64 of the 64-byte expanded secret key>`. */
  key: string
  ports: OnionPort[]
  /** ADD_ONION flags such as `Detach`, `DiscardPK`; `V3Auth` is added when `clientAuthV3` is non-empty. */
  flags?: string[]
  /** Authorized clients: 52-character base32 x25519 public keys. */
  clientAuthV3?: string[]
  powDefenses?: PowDefenses
  /** Maximum concurrent streams per rendezvous circuit (0 = unlimited). */
  maxStreams?: number
}

/** What ADD_ONION returns. `privateKey` is only present for `NEW:` keys without `DiscardPK`. */
export interface AddOnionResult {
  /** The 56-character service id (the .onion address without `.onion`). */
  serviceId: string
  /** `ED25519-V3:<base64>`, tor's format for the key it generated. */
  privateKey?: string
}

/** Options of ONION_CLIENT_AUTH_ADD. */
export interface ClientAuthOptions {
  /** Up to 16 characters of `[A-Za-z0-9+-_]`. */
  nickname?: string
  /** Let tor store the key in its ClientOnionAuthDir. */
  permanent?: boolean
}

const SERVICE_ID = /^[a-z2-7]{56}$/
const BASE32_X25519_PUBLIC = /^[A-Za-z2-7]{52}$/
const FLAG = /^[A-Za-z0-9]+$/
/**
 * A unix socket path ADD_ONION can take as a target (`Port=443,unix:PATH`):
 * tor reads the argument unquoted (a quoted value is refused with 512) and
 * splits it at commas, so no blank, quote, comma, backslash or control
 * character; and no `#`: ADD_ONION accepts it, but tor then never reaches
 * the socket (checked with tor 0.4.9.11: self-checks through `/d/x#y/s.sock`
 * failed with SOCKS 0x01, through `/d/x=y/s.sock` they passed).
 */
export const ADD_ONION_UNIX_PATH = /^\/[^\s",\\#\x00-\x1f\x7f]+$/
const NICKNAME = /^[A-Za-z0-9+\-_]{1,16}$/

/** Throws TorError `TOR_CONTROL_ARGUMENT` unless `id` is a v3 service id (56 lower-case base32 characters, no `.onion`). */
export function assertServiceId(id: string): string {
  if (!SERVICE_ID.test(id)) throw new TorError('TOR_CONTROL_ARGUMENT', 'not a v3 onion service id (56 base32 characters, without .onion)')
  return id
}

function assertInteger(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new TorError('TOR_CONTROL_ARGUMENT', `${what} must be an integer in ${min}..${max}`)
  return n
}

/** True when `b64` is canonical base64 of exactly `bytes` bytes. */
function isBase64Of(b64: string, bytes: number): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false
  const decoded = Buffer.from(b64, 'base64')
  return decoded.length === bytes && decoded.toString('base64') === b64
}

function keyArgument(key: string): string {
  if (key === 'NEW:ED25519-V3') return key
  const prefix = 'ED25519-V3:'
  // The message never repeats the key: it is the service's identity secret.
  if (!key.startsWith(prefix) || !isBase64Of(key.slice(prefix.length), 64)) {
    throw new TorError('TOR_CONTROL_ARGUMENT', "onion key must be 'NEW:ED25519-V3' or 'ED25519-V3:' + base64 of 64 bytes")
  }
  return key
}

function portArgument({ virtualPort, target }: OnionPort): string {
  assertInteger(virtualPort, 1, 65535, 'virtual port')
  if (!(target.startsWith('unix:') && ADD_ONION_UNIX_PATH.test(target.slice('unix:'.length)))) {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target)
    const host = match?.[1] ?? match?.[2]
    if (match === null || host === undefined || !isLoopbackIp(host)) {
      throw new TorError('TOR_CONTROL_ARGUMENT', 'onion port target must be a loopback IP:port or unix:/absolute/path')
    }
    assertInteger(Number(match[3]), 1, 65535, 'target port')
  }
  return `Port=${virtualPort},${target}`
}

/**
 * Builds the ADD_ONION command line after validating every part, so nothing
 * caller-supplied can add arguments or lines. Proof-of-work settings are
 * keyword arguments (`PoWDefensesEnabled=1`): tor rejects them as flags.
 */
export function buildAddOnionCommand(opts: AddOnionOptions): string {
  const parts = ['ADD_ONION', keyArgument(opts.key)]
  const clientAuth = opts.clientAuthV3 ?? []
  for (const k of clientAuth) {
    if (!BASE32_X25519_PUBLIC.test(k)) throw new TorError('TOR_CONTROL_ARGUMENT', 'ClientAuthV3 key must be 52 base32 characters')
  }
  const flags = new Set(opts.flags ?? [])
  for (const f of flags) if (!FLAG.test(f)) throw new TorError('TOR_CONTROL_ARGUMENT', 'ADD_ONION flags must be alphanumeric')
  if (clientAuth.length > 0) flags.add('V3Auth')
  if (flags.size > 0) parts.push(`Flags=${[...flags].join(',')}`)
  if (opts.maxStreams !== undefined) parts.push(`MaxStreams=${assertInteger(opts.maxStreams, 0, 65535, 'MaxStreams')}`)

  const pow = opts.powDefenses
  if (pow !== undefined) {
    if (pow.enabled) {
      parts.push('PoWDefensesEnabled=1')
      if (pow.queueRate !== undefined) parts.push(`PoWQueueRate=${assertInteger(pow.queueRate, 0, 2 ** 31 - 1, 'PoWQueueRate')}`)
      if (pow.queueBurst !== undefined) parts.push(`PoWQueueBurst=${assertInteger(pow.queueBurst, 0, 2 ** 31 - 1, 'PoWQueueBurst')}`)
    } else if (pow.queueRate !== undefined || pow.queueBurst !== undefined) {
      throw new TorError('TOR_CONTROL_ARGUMENT', 'PoW queue settings need powDefenses.enabled')
    }
  }

  if (opts.ports.length === 0) throw new TorError('TOR_CONTROL_ARGUMENT', 'ADD_ONION needs at least one port')
  for (const p of opts.ports) parts.push(portArgument(p))
  for (const k of clientAuth) parts.push(`ClientAuthV3=${k}`)
  return parts.join(' ')
}

/**
 * Reads ServiceID and PrivateKey from an ADD_ONION reply (control-spec §3.27):
 *
 * ```
 * 250-ServiceID=z3eg73s63ledjjmmma2wceunr7cefwy2lvznwsuqvnuqg5foduzaefid
 * 250-PrivateKey=ED25519-V3:<88 base64 characters, only for NEW: keys>
 * 250 OK
 * ```
 *
 * The result prints (JSON, util.inspect) with the private key replaced by a placeholder.
 *
 * @throws TorError `TOR_CONTROL_PROTOCOL` when the service id is missing or malformed
 */
export function parseAddOnionReply(reply: ControlReply): AddOnionResult {
  let serviceId: string | undefined
  let privateKey: string | undefined
  for (const line of reply.lines) {
    const eq = line.text.indexOf('=')
    if (eq === -1) continue
    const key = line.text.slice(0, eq)
    if (key === 'ServiceID') serviceId = line.text.slice(eq + 1)
    else if (key === 'PrivateKey') privateKey = line.text.slice(eq + 1)
  }
  if (serviceId === undefined || !SERVICE_ID.test(serviceId)) throw new TorError('TOR_CONTROL_PROTOCOL', 'ADD_ONION reply has no valid ServiceID')
  if (privateKey === undefined) return { serviceId }
  const result: AddOnionResult = { serviceId, privateKey }
  const printable = (): object => ({ serviceId, privateKey: '[redacted]' })
  Object.defineProperty(result, 'toJSON', { value: printable, enumerable: false })
  Object.defineProperty(result, inspect.custom, { value: printable, enumerable: false })
  return result
}

/** Builds ONION_CLIENT_AUTH_ADD for a peer's service and our x25519 private key (base64 of 32 bytes). */
export function buildClientAuthAddCommand(serviceId: string, x25519PrivateKeyBase64: string, opts: ClientAuthOptions = {}): string {
  assertServiceId(serviceId)
  if (!isBase64Of(x25519PrivateKeyBase64, 32)) throw new TorError('TOR_CONTROL_ARGUMENT', 'client auth key must be base64 of 32 bytes')
  const parts = ['ONION_CLIENT_AUTH_ADD', serviceId, `x25519:${x25519PrivateKeyBase64}`]
  if (opts.nickname !== undefined) {
    if (!NICKNAME.test(opts.nickname)) throw new TorError('TOR_CONTROL_ARGUMENT', 'client auth nickname must be 1-16 of [A-Za-z0-9+-_]')
    parts.push(`ClientName=${opts.nickname}`)
  }
  if (opts.permanent === true) parts.push('Flags=Permanent')
  return parts.join(' ')
}
