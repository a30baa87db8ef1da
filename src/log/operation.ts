import { bytesEqual } from './bytes.js'
import { isSeedSigner } from './ed25519.js'
import { hashOf } from './hash.js'
import { encodeHeader, encodeUnsignedHeader, decodeHeader, signingInputOf } from './header.js'
import { markSignatureVerified } from './validate.js'
import {
  DEFAULT_LIMITS,
  HEADER_VERSION,
  type DecodeLimits,
  type ExtensionValue,
  type Extensions,
  type Hash,
  type Header,
  type LogId,
  type Operation,
  type Signer,
  type UnsignedHeader,
} from './types.js'
import { LogError } from './errors.js'

/** What {@link createOperation} needs to build and sign an operation. */
export interface CreateOperationInput {
  /** The author's signing key. */
  readonly signer: Signer
  /** Log the operation is appended to. */
  readonly logId: LogId
  /** Position in the log: 0 for the first operation, previous seq + 1 after. */
  readonly seq: number
  /** Hash of the operation at `seq - 1`; null at seq 0. */
  readonly backlink: Hash | null
  /** Payload bytes; omitted or empty for an operation without payload. */
  readonly payload?: Uint8Array
  /** Extensions (`prune`, `ts`, `epoch`, or others); a Map or a plain object. */
  readonly extensions?: Extensions | Readonly<Record<string, ExtensionValue>>
}

function toExtensionsMap(input: CreateOperationInput['extensions']): Extensions {
  if (input === undefined) return new Map()
  if (input instanceof Map) return input
  return new Map(Object.entries(input))
}

/**
 * Builds, signs and hashes a new operation. Does not check the chain: pass
 * the result to `validateOperation` (the store does) to catch a wrong seq or
 * backlink. Throws `LOG_MALFORMED` for fields the format cannot carry.
 */
export function createOperation(input: CreateOperationInput): Operation {
  const payload = input.payload !== undefined && input.payload.length > 0 ? input.payload : undefined
  const unsigned: UnsignedHeader = {
    version: HEADER_VERSION,
    author: input.signer.publicKey,
    logId: input.logId,
    seq: input.seq,
    backlink: input.backlink,
    payloadHash: payload === undefined ? null : hashOf(payload),
    payloadSize: payload?.length ?? 0,
    extensions: toExtensionsMap(input.extensions),
  }
  const signingInput = encodeUnsignedHeader(unsigned)
  const signature = input.signer.sign(signingInput)
  const header: Header = { ...unsigned, signature }
  const headerBytes = encodeHeader(header)
  const op: Operation = payload === undefined
    ? { header, headerBytes, hash: hashOf(headerBytes) }
    : { header, headerBytes, hash: hashOf(headerBytes), payload }
  // A seed signer's signature verifies by construction, over what a verifier will read from
  // headerBytes when that is what was signed: the store skips checking it again (37 µs of a send).
  if (isSeedSigner(input.signer) && bytesEqual(signingInputOf(headerBytes), signingInput)) markSignatureVerified(op)
  return op
}

/**
 * Decodes an operation received as signed header bytes plus, optionally, its
 * payload. Checks sizes, encoding and structure only (rules D1 to D6 of
 * docs/log-format.md); call `validateOperation` before trusting it. A
 * payload of 0 bytes for a header that declares none counts as no payload.
 * Throws only `LogError`s.
 */
export function decodeOperation(
  headerBytes: Uint8Array,
  payloadBytes?: Uint8Array,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Operation {
  if (payloadBytes !== undefined && payloadBytes.length > limits.maxPayloadBytes) {
    throw new LogError('LOG_OVERSIZE', `payload of ${payloadBytes.length} bytes exceeds the limit of ${limits.maxPayloadBytes}`)
  }
  const header = decodeHeader(headerBytes, limits)
  // Own the bytes: callers often pass views into reusable network buffers
  // (`new Uint8Array`, not `slice`, which only makes a view of a Buffer).
  const ownBytes = new Uint8Array(headerBytes)
  const hash = hashOf(ownBytes)
  if (payloadBytes === undefined || (payloadBytes.length === 0 && header.payloadSize === 0)) {
    return { header, headerBytes: ownBytes, hash }
  }
  return { header, headerBytes: ownBytes, hash, payload: payloadBytes }
}
