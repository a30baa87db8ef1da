import { bytesEqual } from './bytes.js'
import { verifySignature } from './ed25519.js'
import { hashOf } from './hash.js'
import { checkSignedHeaderFields, encodeHeader, isPrunePoint, signingInputOf } from './header.js'
import type { Hash, Header, LogId, Operation } from './types.js'
import { LogError } from './errors.js'

/**
 * Operations whose signature a `VerifierPool` worker (verify-pool.ts) already checked
 * against their `headerBytes` (which nothing changes after decoding). Weak:
 * a mark lives as long as its operation.
 */
const signatureVerified = new WeakSet<Operation>()

/** Records that `op`'s signature verified (for `verify-pool.ts`, which checks it off the main thread, and `createOperation`, whose seed signers sign validly by construction). */
export function markSignatureVerified(op: Operation): void {
  signatureVerified.add(op)
}

/**
 * The facts about a previous operation that the chain check needs, for
 * callers (the store) that hold them without a decoded header.
 */
export interface ChainLink {
  /** Author of the previous operation. */
  readonly author: Uint8Array
  /** Log of the previous operation. */
  readonly logId: LogId
  /** Its sequence number. */
  readonly seq: number
  /** Its operation hash. */
  readonly hash: Hash
}

/**
 * Validates one operation; throws the first rule it breaks (V1 to V5 of
 * docs/log-format.md: structure, seq/backlink consistency, payload, chain,
 * signature — cheap checks first, so junk costs no signature verification).
 *
 * `previous` selects the chain check:
 * - `undefined`: none (context-free check, e.g. of a fork proof header);
 * - `null`: the log has no retained operation before this one, so `op` must
 *   be at seq 0 or carry the prune flag (the start of a pruned log, whose
 *   backlink names an operation nobody has to keep);
 * - an operation, header or {@link ChainLink}: `op` must directly follow it.
 *
 * `op` must come from `decodeOperation` or `createOperation`: the signature is
 * checked against `op.headerBytes`, the other rules against `op.header`.
 * An absent payload (deleted or not fetched) skips only the payload checks.
 */
export function validateOperation(op: Operation, previous?: Operation | Header | ChainLink | null): void {
  const { header } = op
  checkSignedHeaderFields(header)
  if (header.seq === 0 && header.backlink !== null) throw new LogError('LOG_WRONG_BACKLINK', 'backlink present at seq 0')
  if (header.seq > 0 && header.backlink === null) throw new LogError('LOG_WRONG_BACKLINK', `backlink missing at seq ${header.seq}`)
  if (op.payload !== undefined) {
    if (op.payload.length !== header.payloadSize) throw new LogError('LOG_PAYLOAD_SIZE_MISMATCH', `payload is ${op.payload.length} bytes, header says ${header.payloadSize}`)
    if (header.payloadHash !== null && !bytesEqual(hashOf(op.payload), header.payloadHash)) {
      throw new LogError('LOG_PAYLOAD_HASH_MISMATCH')
    }
  }
  if (previous === null) {
    if (header.seq > 0 && !isPrunePoint(header)) {
      throw new LogError('LOG_WRONG_SEQ', `seq ${header.seq} has no previous operation and is not a prune point`)
    }
  } else if (previous !== undefined) {
    validateBacklink(header, previous)
  }
  if (!signatureVerified.has(op) && !verifySignature(header.author, signingInputOf(op.headerBytes), header.signature)) {
    throw new LogError('LOG_INVALID_SIGNATURE')
  }
}

/** Checks that `header` directly follows `previous` in the same author's log. */
function validateBacklink(header: Header, previous: Operation | Header | ChainLink): void {
  const prev = toChainLink(previous)
  if (!bytesEqual(prev.author, header.author) || !bytesEqual(prev.logId, header.logId)) {
    throw new LogError('LOG_WRONG_BACKLINK', 'previous operation belongs to another log')
  }
  if (prev.seq + 1 !== header.seq) {
    throw new LogError('LOG_WRONG_SEQ', `expected seq ${prev.seq + 1}, got ${header.seq}`)
  }
  if (header.backlink === null || !bytesEqual(header.backlink, prev.hash)) {
    throw new LogError('LOG_WRONG_BACKLINK', `backlink at seq ${header.seq} does not name the previous operation`)
  }
}

function toChainLink(previous: Operation | Header | ChainLink): ChainLink {
  if ('headerBytes' in previous) {
    const { author, logId, seq } = previous.header
    return { author, logId, seq, hash: previous.hash }
  }
  if ('signature' in previous) {
    const { author, logId, seq } = previous
    return { author, logId, seq, hash: hashOf(encodeHeader(previous)) }
  }
  return previous
}
