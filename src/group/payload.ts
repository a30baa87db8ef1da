import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import { LogError } from '../log/errors.js'
import { GroupError } from './errors.js'

/**
 * What a group operation carries: always MLS ciphertexts (or a Welcome, also
 * encrypted), never plaintext or local labels.
 *
 * Encoded as a canonical CBOR array whose first element is the kind:
 * `[1, message]`, `[2, commit, [proposal, …]]`, `[3, welcome]`, `[4, proposal]`,
 * `[5, message]`, `[6, message]`, `[7, index, count, digest, bytes]`. Kind 7
 * is one part of a commit, Welcome or proposal too large for one operation
 * (parts.ts); the parts are consecutive operations of one author. Kinds 1, 5 and 6 are all MLS application
 * messages: kind 1's plaintext is the user's message as given, kind 5's the
 * owner's group setting (setting.ts), kind 6's a typed body (app-body.ts: a
 * file announcement, the owner's retention period or keepers, a message sent
 * again).
 * An application message of 190 bytes of MLS ciphertext:
 * ```
 * 82             array(2)
 *   01           kind 1: application
 *   58 be        bytes(190):
 *     0001 0002 …  MLSMessage: version mls10, wire format 2 (PrivateMessage), then the ciphertext
 * ```
 * A commit bundles the raw proposal messages it references, so every member
 * can apply them right before the commit even without the proposer's log.
 */
export type GroupPayload =
  | { readonly kind: 'application'; readonly message: Uint8Array }
  | { readonly kind: 'commit'; readonly commit: Uint8Array; readonly proposals: readonly Uint8Array[] }
  | { readonly kind: 'welcome'; readonly welcome: Uint8Array }
  | { readonly kind: 'proposal'; readonly proposal: Uint8Array }
  | { readonly kind: 'setting'; readonly message: Uint8Array }
  | { readonly kind: 'typed'; readonly message: Uint8Array }
  | { readonly kind: 'part'; readonly index: number; readonly count: number; readonly digest: Uint8Array; readonly bytes: Uint8Array }

/** A payload as its handlers see it: parts joined (parts.ts). */
export type WholePayload = Exclude<GroupPayload, { readonly kind: 'part' }>

const KIND_CODES = { application: 1, commit: 2, welcome: 3, proposal: 4, setting: 5, typed: 6, part: 7 } as const

/** Most parts one payload may be cut into: 16 MiB whole at most, the work a hostile owner's parts may cause. */
export const MAX_PAYLOAD_PARTS = 16

/**
 * Whether stored payload bytes are a user's application message (kind 1 or
 * 6), read from the clear kind alone: what retention may delete without
 * decrypting. Handshake messages stay, and so do the owner's settings
 * (kind 5): the latest one is the group's current name.
 */
export function isApplicationPayload(bytes: Uint8Array): boolean {
  // `82 01` or `82 06`: an array of 2 items, then the kind.
  return bytes.length > 2 && bytes[0] === 0x82 && (bytes[1] === KIND_CODES.application || bytes[1] === KIND_CODES.typed)
}

/** Whether stored payload bytes are a part (kind 7, parts.ts), read from the clear kind alone: `85 07`, an array of 5 items, then the kind. */
export function isPartPayload(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x85 && bytes[1] === KIND_CODES.part
}

/** Most proposals one commit may bundle: bounds the work a hostile owner's payload causes. */
export const MAX_BUNDLED_PROPOSALS = 256

/** Encodes a payload for an operation. */
export function encodeGroupPayload(payload: GroupPayload): Uint8Array {
  let value: CborValue
  switch (payload.kind) {
    case 'application':
      value = [KIND_CODES.application, payload.message]
      break
    case 'commit':
      value = [KIND_CODES.commit, payload.commit, [...payload.proposals]]
      break
    case 'welcome':
      value = [KIND_CODES.welcome, payload.welcome]
      break
    case 'proposal':
      value = [KIND_CODES.proposal, payload.proposal]
      break
    case 'setting':
      value = [KIND_CODES.setting, payload.message]
      break
    case 'typed':
      value = [KIND_CODES.typed, payload.message]
      break
    case 'part':
      value = [KIND_CODES.part, payload.index, payload.count, payload.digest, payload.bytes]
      break
  }
  return encodeCanonical(value)
}

/** Decodes untrusted payload bytes; anything else than a well-formed payload is `GROUP_MALFORMED_PAYLOAD`. */
export function decodeGroupPayload(bytes: Uint8Array): GroupPayload {
  let value: CborValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof LogError) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'payload is not canonical CBOR', { cause: err })
    throw err
  }
  if (!Array.isArray(value) || value.length < 2) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'payload must be an array of at least 2 items')
  const items = value as readonly CborValue[]
  const [kind, body, extra] = items
  const bodyBytes = (): Uint8Array => {
    if (!(body instanceof Uint8Array) || body.length === 0) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'payload body must be a non-empty byte string')
    return body
  }
  const arity = (n: number): void => {
    if (items.length !== n) throw new GroupError('GROUP_MALFORMED_PAYLOAD', `payload of kind ${String(kind)} must have ${n} items`)
  }
  switch (kind) {
    case KIND_CODES.application:
      arity(2)
      return { kind: 'application', message: bodyBytes() }
    case KIND_CODES.commit: {
      arity(3)
      if (!Array.isArray(extra)) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'commit bundle must be an array')
      const proposals = extra as readonly CborValue[]
      if (proposals.length > MAX_BUNDLED_PROPOSALS) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'commit bundles too many proposals')
      for (const p of proposals) {
        if (!(p instanceof Uint8Array) || p.length === 0) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'bundled proposal must be a non-empty byte string')
      }
      return { kind: 'commit', commit: bodyBytes(), proposals: proposals as readonly Uint8Array[] }
    }
    case KIND_CODES.welcome:
      arity(2)
      return { kind: 'welcome', welcome: bodyBytes() }
    case KIND_CODES.proposal:
      arity(2)
      return { kind: 'proposal', proposal: bodyBytes() }
    case KIND_CODES.setting:
      arity(2)
      return { kind: 'setting', message: bodyBytes() }
    case KIND_CODES.typed:
      arity(2)
      return { kind: 'typed', message: bodyBytes() }
    case KIND_CODES.part: {
      arity(5)
      const [, index, count, digest, bytes] = items
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 2 || count > MAX_PAYLOAD_PARTS) {
        throw new GroupError('GROUP_MALFORMED_PAYLOAD', `a payload comes in 2 to ${MAX_PAYLOAD_PARTS} parts`)
      }
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'part index out of range')
      if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'part digest must be 32 bytes')
      if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'part bytes must be a non-empty byte string')
      return { kind: 'part', index, count, digest, bytes }
    }
    default:
      throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'unknown payload kind')
  }
}
