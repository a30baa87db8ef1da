import { createHash } from 'node:crypto'
import { bytesEqual } from '../log/bytes.js'
import { DEFAULT_LIMITS } from '../log/types.js'
import { GroupError } from './errors.js'
import { decodeGroupPayload, encodeGroupPayload, MAX_PAYLOAD_PARTS, type GroupPayload, type WholePayload } from './payload.js'

/**
 * Payloads larger than one operation may carry. A Welcome holds the whole
 * ratchet tree: about 250 bytes a member, so past about 4,000 members it
 * outgrows the log's 1 MiB payload limit, and a commit's path can too.
 * Such a payload travels as 2 to {@link MAX_PAYLOAD_PARTS} consecutive
 * operations of its author, each `[7, index, count, digest, bytes]`, where
 * `digest` is the SHA-256 of the whole encoded payload and `bytes` its
 * `index`th slice. A reader takes them only all together: it waits until the
 * last one is stored, checks that they agree (kind, count, digest, order,
 * epoch) and that the whole hashes to the digest, and handles the whole as
 * one operation at the last part's place in the log.
 *
 * Only handshake payloads are cut (commit, Welcome, proposal): user content
 * is bounded well below the limit, and retention recognises it by its clear
 * kind, which a part would hide.
 */

/** Bytes a part adds around its slice: the array, kind, index, count and digest (measured: 44 at most; rounded up). */
const PART_OVERHEAD = 64

/** Largest payload of one operation, parts included. */
export const MAX_OPERATION_PAYLOAD_BYTES = DEFAULT_LIMITS.maxPayloadBytes

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/**
 * The encoded payloads of the operations that carry `payload`: itself alone
 * when it fits in `maxBytes`, its parts otherwise.
 *
 * @throws GroupError `GROUP_INVALID_ARGUMENT` when it does not fit (user content, or more than {@link MAX_PAYLOAD_PARTS} parts)
 */
export function payloadOperations(payload: GroupPayload, maxBytes: number = MAX_OPERATION_PAYLOAD_BYTES): Uint8Array[] {
  const whole = encodeGroupPayload(payload)
  if (whole.length <= maxBytes) return [whole]
  if (payload.kind !== 'commit' && payload.kind !== 'welcome' && payload.kind !== 'proposal') {
    throw new GroupError('GROUP_INVALID_ARGUMENT', `a ${payload.kind} payload of ${whole.length} bytes does not fit in one operation (${maxBytes} bytes)`)
  }
  const slice = maxBytes - PART_OVERHEAD
  const count = Math.ceil(whole.length / slice)
  if (count > MAX_PAYLOAD_PARTS) {
    throw new GroupError('GROUP_INVALID_ARGUMENT', `a ${payload.kind} of ${whole.length} bytes needs ${count} parts; at most ${MAX_PAYLOAD_PARTS} are allowed`)
  }
  const digest = sha256(whole)
  return Array.from({ length: count }, (_, index) => encodeGroupPayload({ kind: 'part', index, count, digest, bytes: whole.subarray(index * slice, (index + 1) * slice) }))
}

/** A part as stored: its decoded payload and the epoch tag of its operation. */
export interface StoredPart {
  readonly part: Extract<GroupPayload, { kind: 'part' }>
  readonly epoch: number | undefined
}

/**
 * The payload that `parts` (all of them, in log order) carry.
 *
 * @throws GroupError `GROUP_MALFORMED_PAYLOAD` when they disagree, miss one, hash to another digest, or carry parts again
 */
export function joinParts(parts: readonly StoredPart[]): WholePayload {
  const first = parts[0]
  if (first === undefined || first.part.index !== 0) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'a part without the parts before it')
  const { count, digest } = first.part
  if (parts.length !== count) throw new GroupError('GROUP_MALFORMED_PAYLOAD', `${parts.length} of ${count} parts`)
  parts.forEach(({ part, epoch }, i) => {
    if (part.index !== i || part.count !== count || !bytesEqual(part.digest, digest) || epoch !== first.epoch) {
      throw new GroupError('GROUP_MALFORMED_PAYLOAD', `part ${i} of ${count} does not follow the parts before it`)
    }
  })
  const whole = Buffer.concat(parts.map(({ part }) => part.bytes))
  if (!bytesEqual(sha256(whole), digest)) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'the parts do not hash to their digest')
  const payload = decodeGroupPayload(whole)
  if (payload.kind === 'part') throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'parts carry parts')
  return payload
}
