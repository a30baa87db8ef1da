import { decodeCanonical, encodeCanonical, type CborValue } from './cbor.js'
import { LogError } from './errors.js'
import {
  DEFAULT_LIMITS,
  HASH_LENGTH,
  HEADER_VERSION,
  LOG_ID_MAX_LENGTH,
  LOG_ID_MIN_LENGTH,
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  type DecodeLimits,
  type ExtensionValue,
  type Extensions,
  type Header,
  type UnsignedHeader,
} from './types.js'

/** Number of elements in the signed header array; the signing input has one fewer. */
const SIGNED_FIELDS = 9

/** Extension keys whose value type the format fixes. */
const KNOWN_EXTENSION_TYPES: Readonly<Record<string, 'boolean' | 'uint'>> = { prune: 'boolean', ts: 'uint', epoch: 'uint' }

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function checkBytes(v: unknown, what: string, min: number, max = min): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) {
    const size = min === max ? `${min}` : `${min}..${max}`
    throw new LogError('LOG_MALFORMED', `${what} must be a ${size}-byte byte string`)
  }
}

/** Throws `LOG_MALFORMED` unless the known extension keys carry values of their type. */
export function checkExtensions(extensions: Extensions): void {
  for (const [key, type] of Object.entries(KNOWN_EXTENSION_TYPES)) {
    const value = extensions.get(key)
    if (value === undefined) continue
    if (type === 'boolean' ? typeof value !== 'boolean' : !isUint(value)) {
      throw new LogError('LOG_MALFORMED', `extension "${key}" must be ${type === 'boolean' ? 'a boolean' : 'an unsigned integer'}`)
    }
  }
}

function checkVersion(version: unknown): void {
  if (version !== HEADER_VERSION) {
    throw new LogError('LOG_UNKNOWN_VERSION', `unknown header version ${typeof version === 'number' ? version : `(a ${typeof version})`}`)
  }
}

/**
 * Checks the structure of a header (rules D4 and D5 of
 * docs/log-format.md, on a decoded or hand-built header): the version, then
 * field types and lengths, payload hash present exactly when the payload
 * size is non-zero, known extension keys with values of their type.
 */
function checkHeaderFields(header: UnsignedHeader): void {
  checkVersion(header.version)
  checkBytes(header.author, 'author', PUBLIC_KEY_LENGTH)
  checkBytes(header.logId, 'log id', LOG_ID_MIN_LENGTH, LOG_ID_MAX_LENGTH)
  if (!isUint(header.seq)) throw new LogError('LOG_MALFORMED', 'seq must be an unsigned integer below 2^53')
  if (header.backlink !== null) checkBytes(header.backlink, 'backlink', HASH_LENGTH)
  if (!isUint(header.payloadSize)) throw new LogError('LOG_MALFORMED', 'payload size must be an unsigned integer')
  if (header.payloadHash === null) {
    if (header.payloadSize !== 0) throw new LogError('LOG_MALFORMED', 'payload hash missing for a non-empty payload')
  } else {
    checkBytes(header.payloadHash, 'payload hash', HASH_LENGTH)
    if (header.payloadSize === 0) throw new LogError('LOG_MALFORMED', 'payload hash present for an empty payload')
  }
  if (!(header.extensions instanceof Map)) throw new LogError('LOG_MALFORMED', 'extensions must be a map')
  checkExtensions(header.extensions)
}

/** {@link checkHeaderFields} and the signature's length: D4 and D5 for a signed header. */
export function checkSignedHeaderFields(header: Header): void {
  checkHeaderFields(header)
  checkBytes(header.signature, 'signature', SIGNATURE_LENGTH)
}

/** Rule D6: the declared payload size within the limit, checked after the whole structure. */
function checkDeclaredPayloadSize(header: UnsignedHeader, limits: DecodeLimits): void {
  if (header.payloadSize > limits.maxPayloadBytes) {
    throw new LogError('LOG_OVERSIZE', `declared payload of ${header.payloadSize} bytes exceeds the limit of ${limits.maxPayloadBytes}`)
  }
}

function unsignedFields(h: UnsignedHeader): CborValue[] {
  return [h.version, h.author, h.logId, h.seq, h.backlink, h.payloadHash, h.payloadSize, h.extensions]
}

/** The signature input: the canonical CBOR array of the eight unsigned fields. */
export function encodeUnsignedHeader(header: UnsignedHeader): Uint8Array {
  checkHeaderFields(header)
  checkDeclaredPayloadSize(header, DEFAULT_LIMITS)
  return encodeCanonical(unsignedFields(header))
}

/** The canonical CBOR encoding of a signed header: the nine-element array hashed into the operation hash. */
export function encodeHeader(header: Header): Uint8Array {
  checkSignedHeaderFields(header)
  checkDeclaredPayloadSize(header, DEFAULT_LIMITS)
  return encodeCanonical([...unsignedFields(header), header.signature])
}

/**
 * Decodes untrusted signed header bytes: rules D1 to D6 of
 * docs/log-format.md, in that order (size, CBOR of the subset, canonical form,
 * version, structure, declared payload size). Does NOT check the signature or
 * the chain (see `validateOperation`). Throws only `LogError`s.
 *
 * The header of test/vectors/log-operations.json's first vector (seq 0, a
 * 12-byte payload, `ts` extension), 209 bytes:
 * ```
 * 89                        array(9)
 *   01                      version 1
 *   58 20 03a107bf…5531b8   author: bytes(32), Ed25519 public key
 *   58 20 42424242…424242   log id: bytes(32)
 *   00                      seq 0
 *   f6                      backlink: null (seq 0 has none)
 *   58 20 dd289a6a…086ec5   payload hash: bytes(32), SHA-256 of the payload
 *   0c                      payload size 12
 *   a1 62 7473              extensions: map(1), "ts" →
 *      1b 0000018bcfe56800    1700000000000 (ms)
 *   58 40 e5d83d5a……        signature: bytes(64) over the first eight items as array(8)
 * ```
 */
export function decodeHeader(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): Header {
  if (bytes.length > limits.maxHeaderBytes) throw new LogError('LOG_OVERSIZE', `header of ${bytes.length} bytes exceeds the limit of ${limits.maxHeaderBytes}`)
  const value = decodeCanonical(bytes)
  if (!Array.isArray(value) || value.length === 0) throw new LogError('LOG_MALFORMED', 'header must be a non-empty array')
  const fields = value as readonly ExtensionValue[]
  // Version first, so a future format with another layout reports as such.
  checkVersion(fields[0])
  if (fields.length !== SIGNED_FIELDS) throw new LogError('LOG_MALFORMED', `header must have ${SIGNED_FIELDS} fields`)
  const [version, author, logId, seq, backlink, payloadHash, payloadSize, extensions, signature] = fields
  const header = { version, author, logId, seq, backlink, payloadHash, payloadSize, extensions, signature } as Header
  checkSignedHeaderFields(header)
  checkDeclaredPayloadSize(header, limits)
  return header
}

/** True when the header carries the prune flag: every earlier operation of its log may be dropped. */
export function isPrunePoint(header: UnsignedHeader): boolean {
  return header.extensions.get('prune') === true
}

// A canonical signed header is 0x89 (array of 9), the eight unsigned fields,
// then the signature as 0x58 0x40 followed by 64 bytes; the signing input is
// 0x88 (array of 8) followed by the same eight fields.
const SIGNATURE_SUFFIX = 2 + SIGNATURE_LENGTH

/**
 * The signature input of canonically encoded signed header bytes, derived by
 * slicing rather than re-encoding: it swaps the array head 0x89 for 0x88 and
 * drops the trailing signature item. Only meaningful for bytes that passed
 * {@link decodeHeader} or came from {@link encodeHeader}.
 */
export function signingInputOf(headerBytes: Uint8Array): Uint8Array {
  const input = headerBytes.slice(0, headerBytes.length - SIGNATURE_SUFFIX)
  input[0] = 0x88
  return input
}
