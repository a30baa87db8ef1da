import { ed25519 } from '@noble/curves/ed25519.js'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { base32nopad } from '@scure/base'
import { TorError } from './errors.js'

/**
 * A v3 onion address in canonical form: 56 lower-case base32 characters
 * followed by `.onion`. Only {@link parseOnionAddress} and the constructors in
 * this module produce one, so holding the type means the checksum, version and
 * public key were checked.
 */
export type OnionAddress = string & { readonly __brand: 'OnionAddress' }

/** Why an input is not a v3 onion address (see {@link InvalidOnionAddressError.reason}). */
export type InvalidOnionAddressReason =
  | 'empty'
  | 'whitespace'
  | 'not-onion'
  | 'subdomain'
  | 'v2'
  | 'length'
  | 'alphabet'
  | 'version'
  | 'checksum'
  | 'public-key'

/**
 * An input was not a valid v3 onion address, or key bytes cannot form one.
 * Code `INVALID_ONION_ADDRESS`; a subclass of {@link TorError} because it
 * carries the {@link reason}, part of the public API.
 */
export class InvalidOnionAddressError extends TorError {
  declare readonly code: 'INVALID_ONION_ADDRESS'
  /** Which rule the input broke; stable, for callers and tests that branch on it. */
  readonly reason: InvalidOnionAddressReason

  constructor(reason: InvalidOnionAddressReason, message: string) {
    super('INVALID_ONION_ADDRESS', message)
    this.reason = reason
  }
}

const SUFFIX = '.onion'
const SERVICE_ID_LENGTH = 56
const V2_SERVICE_ID_LENGTH = 16
const PUBLIC_KEY_LENGTH = 32
const VERSION = 3
const CHECKSUM_PREFIX = new TextEncoder().encode('.onion checksum')
const MAX_QUOTED_INPUT = 80

/**
 * Parses a v3 onion address, with or without `.onion`, in any letter case,
 * and returns it in canonical form. Rejects v2 addresses, subdomains
 * (`www.<id>.onion`), surrounding whitespace, non-base32 characters, a
 * version byte other than 3, a bad checksum, and public keys tor itself would
 * refuse (not a point of the prime-order subgroup), so a dial never reaches
 * tor with an address it will answer with SOCKS 0xF6.
 */
export function parseOnionAddress(input: string): OnionAddress {
  if (typeof input !== 'string' || input.length === 0) {
    throw invalid('empty', 'an onion address is required but the input is empty', input)
  }
  if (/\s/.test(input)) throw invalid('whitespace', 'an onion address may not contain whitespace', input)

  const lower = input.toLowerCase()
  const hasSuffix = lower.endsWith(SUFFIX)
  const serviceId = hasSuffix ? lower.slice(0, -SUFFIX.length) : lower
  if (serviceId.includes('.')) {
    throw hasSuffix
      ? invalid('subdomain', 'subdomains of onion addresses are not accepted; give the bare 56-character address', input)
      : invalid('not-onion', 'not an onion address (looks like a host name or IP address)', input)
  }
  if (serviceId.includes(':')) {
    throw invalid('not-onion', 'not an onion address (looks like an IPv6 address or a host:port pair)', input)
  }
  if (serviceId.length === V2_SERVICE_ID_LENGTH) {
    throw invalid('v2', 'v2 onion addresses (16 characters) are obsolete and unsupported; a v3 address has 56', input)
  }
  if (serviceId.length !== SERVICE_ID_LENGTH) {
    throw invalid('length', `a v3 onion address has 56 base32 characters, this one has ${serviceId.length}`, input)
  }
  if (!/^[a-z2-7]+$/.test(serviceId)) {
    throw invalid('alphabet', 'an onion address may contain only the base32 characters a-z and 2-7', input)
  }

  const publicKey = decodeServiceId(serviceId as ServiceId, input)
  assertValidPublicKey(publicKey, input)
  return `${serviceId}${SUFFIX}` as OnionAddress
}

/** True when {@link parseOnionAddress} would accept `input`. */
export function isOnionAddress(input: string): boolean {
  try {
    parseOnionAddress(input)
    return true
  } catch (err) {
    if (err instanceof InvalidOnionAddressError) return false
    throw err
  }
}

/**
 * The onion address of an onion service whose identity key is
 * `ed25519PublicKey` (rend-spec [ONIONADDRESS]):
 * `base32(pub ‖ SHA3-256(".onion checksum" ‖ pub ‖ 0x03)[:2] ‖ 0x03) + ".onion"`.
 */
export function onionAddressFromPublicKey(ed25519PublicKey: Uint8Array): OnionAddress {
  if (!(ed25519PublicKey instanceof Uint8Array) || ed25519PublicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new InvalidOnionAddressError('public-key', `an onion service public key has 32 bytes, got ${describeLength(ed25519PublicKey)}`)
  }
  assertValidPublicKey(ed25519PublicKey, undefined)
  const raw = new Uint8Array(PUBLIC_KEY_LENGTH + 3)
  raw.set(ed25519PublicKey, 0)
  raw.set(checksumOf(ed25519PublicKey, VERSION), PUBLIC_KEY_LENGTH)
  raw[PUBLIC_KEY_LENGTH + 2] = VERSION
  return `${base32nopad.encode(raw).toLowerCase()}${SUFFIX}` as OnionAddress
}

/** The 32-byte Ed25519 identity key inside an onion address (a fresh copy). */
export function publicKeyFromOnionAddress(addr: OnionAddress): Uint8Array {
  return decodeServiceId(serviceIdOf(addr) as ServiceId, addr)
}

/** The 56 characters before `.onion`: what tor's control port calls the ServiceID. */
export function serviceIdOf(addr: OnionAddress): string {
  return addr.slice(0, -SUFFIX.length)
}

type ServiceId = string & { readonly __serviceId: true }

/** Decodes 56 lower-case base32 characters, checks version and checksum, returns the public key. */
function decodeServiceId(serviceId: ServiceId, input: string): Uint8Array {
  // 56 base32 characters are exactly 35 bytes, so no padding bits can hide data.
  const raw = base32nopad.decode(serviceId.toUpperCase())
  const publicKey = raw.slice(0, PUBLIC_KEY_LENGTH)
  const version = raw[PUBLIC_KEY_LENGTH + 2]
  if (version !== VERSION) {
    throw invalid('version', `the onion address has version byte ${String(version)}, only version 3 is supported`, input)
  }
  const expected = checksumOf(publicKey, VERSION)
  if (raw[PUBLIC_KEY_LENGTH] !== expected[0] || raw[PUBLIC_KEY_LENGTH + 1] !== expected[1]) {
    throw invalid('checksum', 'the onion address checksum does not match (a typo or a truncated address)', input)
  }
  return publicKey
}

function checksumOf(publicKey: Uint8Array, version: number): Uint8Array {
  const data = new Uint8Array(CHECKSUM_PREFIX.length + PUBLIC_KEY_LENGTH + 1)
  data.set(CHECKSUM_PREFIX, 0)
  data.set(publicKey, CHECKSUM_PREFIX.length)
  data[data.length - 1] = version
  return sha3_256(data).slice(0, 2)
}

/**
 * Tor refuses service keys that are not on the curve, have small order or carry
 * a torsion component (`ed25519_validate_pubkey` in hs_address_is_valid); we
 * refuse the same keys so the address check here agrees with tor's.
 */
function assertValidPublicKey(publicKey: Uint8Array, input: string | undefined): void {
  let ok: boolean
  try {
    const point = ed25519.Point.fromBytes(publicKey)
    ok = !point.isSmallOrder() && point.isTorsionFree()
  } catch {
    ok = false
  }
  if (!ok) {
    const message = 'the onion address does not hold a valid Ed25519 public key'
    throw input === undefined ? new InvalidOnionAddressError('public-key', message) : invalid('public-key', message, input)
  }
}

/** Quotes the input in the message only when it is short, printable ASCII: anything else could garble logs. */
function invalid(reason: InvalidOnionAddressReason, message: string, input: unknown): InvalidOnionAddressError {
  if (typeof input === 'string' && input.length > 0 && /^[\x20-\x7e]+$/.test(input)) {
    const shown = input.length > MAX_QUOTED_INPUT ? `${input.slice(0, MAX_QUOTED_INPUT)}…` : input
    return new InvalidOnionAddressError(reason, `${message}: ${JSON.stringify(shown)}`)
  }
  return new InvalidOnionAddressError(reason, message)
}

function describeLength(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length}` : typeof value
}
