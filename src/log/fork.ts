import { base64urlnopad } from '@scure/base'
import { bytesEqual, toHex } from './bytes.js'
import { decodeCanonical, encodeCanonical } from './cbor.js'
import { LogError } from './errors.js'
import { hashOf } from './hash.js'
import { decodeOperation } from './operation.js'
import { validateOperation } from './validate.js'
import { DEFAULT_LIMITS, type DecodeLimits, type LogId } from './types.js'

/**
 * Evidence that an author signed two different operations at the same
 * position of the same log. Self-contained: both signed headers are inside,
 * so anyone can check it with {@link verifyForkProof} and nothing else.
 */
export interface ForkProof {
  /** Signed header bytes of the operation with the smaller hash (bytewise). */
  readonly headerA: Uint8Array
  /** Signed header bytes of the operation with the larger hash. */
  readonly headerB: Uint8Array
}

/** What a valid fork proof establishes. */
export interface ForkFacts {
  /** The equivocating author's public key. */
  readonly author: Uint8Array
  /** The forked log. */
  readonly logId: LogId
  /** The sequence number both operations claim. */
  readonly seq: number
}

/** First element of the encoded proof array: the proof format version. */
const FORK_PROOF_VERSION = 1

/** Text form prefix, so a pasted proof says what it is. */
const TEXT_PREFIX = 'burrow-fork-proof:'

/**
 * Builds a proof from two conflicting signed headers, in a fixed order
 * (smaller operation hash first) so one fork always yields the same bytes.
 */
export function createForkProof(headerA: Uint8Array, headerB: Uint8Array): ForkProof {
  const ha = hashOf(headerA)
  const hb = hashOf(headerB)
  return Buffer.compare(ha, hb) <= 0 ? { headerA, headerB } : { headerA: headerB, headerB: headerA }
}

/**
 * Checks a fork proof (rules F4 to F8 of docs/log-format.md, in that
 * order): both headers decode, name the same author, log and seq,
 * differ, come in the order of their hashes, and are validly signed. Returns
 * the facts it proves; throws `LOG_INVALID_FORK_PROOF` otherwise.
 */
export function verifyForkProof(proof: ForkProof, limits: DecodeLimits = DEFAULT_LIMITS): ForkFacts {
  const a = asProofError(() => decodeOperation(proof.headerA, undefined, limits))
  const b = asProofError(() => decodeOperation(proof.headerB, undefined, limits))
  if (!bytesEqual(a.header.author, b.header.author)) throw new LogError('LOG_INVALID_FORK_PROOF', 'headers are by different authors')
  if (!bytesEqual(a.header.logId, b.header.logId)) throw new LogError('LOG_INVALID_FORK_PROOF', 'headers belong to different logs')
  if (a.header.seq !== b.header.seq) throw new LogError('LOG_INVALID_FORK_PROOF', 'headers have different sequence numbers')
  const order = Buffer.compare(a.hash, b.hash)
  if (order === 0) throw new LogError('LOG_INVALID_FORK_PROOF', 'both headers are the same operation')
  // One fork, one proof: otherwise the same fork could be stored or reported twice under different bytes.
  if (order > 0) throw new LogError('LOG_INVALID_FORK_PROOF', 'headers are not in the order of their hashes')
  asProofError(() => validateOperation(a))
  asProofError(() => validateOperation(b))
  return { author: a.header.author, logId: a.header.logId, seq: a.header.seq }
}

/** Runs `check`, turning a `LogError` about one header into `LOG_INVALID_FORK_PROOF`. */
function asProofError<T>(check: () => T): T {
  try {
    return check()
  } catch (cause) {
    if (cause instanceof LogError) throw new LogError('LOG_INVALID_FORK_PROOF', `fork proof header invalid: ${cause.code}`, { cause })
    throw cause
  }
}

/** Canonical CBOR of a proof: `[1, headerA, headerB]` with both headers as byte strings. */
export function encodeForkProof(proof: ForkProof): Uint8Array {
  return encodeCanonical([FORK_PROOF_VERSION, proof.headerA, proof.headerB])
}

/**
 * Decodes a proof's bytes (rules F1 to F3 of docs/log-format.md:
 * size, canonical CBOR, shape; call {@link verifyForkProof} for the rest).
 * Throws `LOG_INVALID_FORK_PROOF` for anything else.
 */
export function decodeForkProof(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): ForkProof {
  // Two headers plus the array and byte-string heads.
  const maxBytes = 2 * (limits.maxHeaderBytes + 9) + 2
  if (bytes.length > maxBytes) throw new LogError('LOG_INVALID_FORK_PROOF', `fork proof larger than ${maxBytes} bytes`)
  let value
  try {
    value = decodeCanonical(bytes)
  } catch (cause) {
    throw new LogError('LOG_INVALID_FORK_PROOF', 'fork proof is not canonical CBOR', { cause })
  }
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== FORK_PROOF_VERSION) {
    throw new LogError('LOG_INVALID_FORK_PROOF', 'fork proof must be [1, headerA, headerB]')
  }
  const [, headerA, headerB] = value as unknown[]
  if (!(headerA instanceof Uint8Array) || !(headerB instanceof Uint8Array)) {
    throw new LogError('LOG_INVALID_FORK_PROOF', 'fork proof headers must be byte strings')
  }
  return { headerA, headerB }
}

/** Hex digits of a proof's id. */
const FORK_ID_HEX_DIGITS = 16

/**
 * A short name for a proof: the first 16 hex digits of the SHA-256 of its
 * bytes. One fork has one proof (its headers come in a fixed order), so the
 * same fork gets the same id on every node that detects it.
 */
export function forkProofId(proof: ForkProof): string {
  return toHex(hashOf(encodeForkProof(proof))).slice(0, FORK_ID_HEX_DIGITS)
}

/** Text form of a proof: `burrow-fork-proof:` followed by unpadded base64url of its bytes. */
export function forkProofToText(proof: ForkProof): string {
  return TEXT_PREFIX + base64urlnopad.encode(encodeForkProof(proof))
}

/** Whitespace allowed around the text form: ASCII space, tab, CR and LF, nothing else. */
function isTextFormSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a
}

/**
 * Parses {@link forkProofToText} output, optionally surrounded by ASCII
 * space, tab, CR and LF (rules T1 and T2 of docs/log-format.md); throws
 * `LOG_INVALID_FORK_PROOF` on anything else. Structure only: call
 * {@link verifyForkProof}.
 */
export function forkProofFromText(text: string, limits: DecodeLimits = DEFAULT_LIMITS): ForkProof {
  let start = 0
  let end = text.length
  while (start < end && isTextFormSpace(text.charCodeAt(start))) start++
  while (end > start && isTextFormSpace(text.charCodeAt(end - 1))) end--
  if (!text.startsWith(TEXT_PREFIX, start)) throw new LogError('LOG_INVALID_FORK_PROOF', `fork proof text must start with ${TEXT_PREFIX}`)
  let bytes: Uint8Array
  try {
    // @scure/base is strict: only A-Z a-z 0-9 - _, no padding, no length of 4n+1, unused bits zero.
    bytes = base64urlnopad.decode(text.slice(start + TEXT_PREFIX.length, end))
  } catch (cause) {
    throw new LogError('LOG_INVALID_FORK_PROOF', 'fork proof text is not unpadded base64url', { cause })
  }
  return decodeForkProof(bytes, limits)
}
