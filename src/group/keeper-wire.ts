import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import { LogError } from '../log/errors.js'
import { decodeDisplayName, encodeDisplayName, type ContactCard } from '../keys/index.js'
import { onionAddressFromPublicKey, publicKeyFromOnionAddress } from '../tor/onion-address.js'
import { GroupError } from './errors.js'
import { GROUP_ID_LENGTH, GROUP_ID_NONCE_LENGTH } from './group-id.js'
import { FILE_ID_LENGTH } from './app-body.js'

/**
 * What keepers are told, in canonical CBOR: the peer entries of a keepers
 * list (inside the group's MLS-encrypted data, app-body.ts) and the
 * messages of `/burrow/keeper/1` between a group's owner or members and a
 * keeper (one request and one response per stream, each behind the
 * transport's 4-byte length).
 *
 * A peer entry is what a contact card says, unsigned: the owner passes on
 * the cards it holds, and the owner's word (MLS-authenticated in the group,
 * pinned on the keeper) is what vouches for them.
 * ```
 * peer      [identity key, onion key, client-auth key, name or null]
 *           84 58 20 <32> 58 20 <32> 58 20 <32> 63 626f62                  ... "bob"
 * order     [1, group id, nonce, [member peers], [keeper peers], retention ms or null]
 *           86 01 58 20 <group id> 58 20 <nonce> 81 <peer> 80 1a 9a7ec800   30 days, no co-keeper
 * release   [2, group id]                        82 02 58 20 <group id>
 * claim     [3, group id, [file id, …]]          83 03 58 20 <group id> 81 50 <16-byte file id>
 * response  [1]  accepted                        81 01
 *           [0, code]  refused                   82 00 6e 4b45455045525f52454655534544   "KEEPER_REFUSED"
 *                                                (at most 40 characters [A-Z0-9_] are shown)
 * ```
 * An order proves its sender owns the group with the nonce the group id
 * derives from (group-id.ts), says who the group's members and co-keepers are and how long
 * its operations are kept; a release ends the keeping; a claim, from a
 * member, names files of the group (their ids are not secret: a file's key
 * is) so that the keeper shares their logs (`fileLogId(group, file)`).
 */
export const KEEPER_PROTOCOL = '/burrow/keeper/1'

/** Most keepers a group lists. */
export const MAX_KEEPERS = 8
/** Most members an order names (MLS groups here stay far below). */
export const MAX_ORDER_MEMBERS = 1000
/** Most file ids in one claim (a member sends more claims for more files). */
export const MAX_CLAIM_FILES = 512
/** Largest request: an order of MAX_ORDER_MEMBERS + MAX_KEEPERS peers of at most 180 bytes each. */
export const MAX_KEEPER_REQUEST_BYTES = 192 * 1024
/** Largest response. */
export const MAX_KEEPER_RESPONSE_BYTES = 128

const KEY_LENGTH = 32
const MAX_REFUSAL_CHARS = 40

/** A keeper request, decoded and checked. */
export type KeeperRequest =
  | { readonly type: 'order'; readonly groupId: Uint8Array; readonly nonce: Uint8Array; readonly members: readonly ContactCard[]; readonly keepers: readonly ContactCard[]; readonly retentionMs: number | null }
  | { readonly type: 'release'; readonly groupId: Uint8Array }
  | { readonly type: 'claim'; readonly groupId: Uint8Array; readonly fileIds: readonly Uint8Array[] }

const TYPE_CODES = { order: 1, release: 2, claim: 3 } as const

const bad = (what: string): GroupError => new GroupError('KEEPER_MALFORMED', what)

/** A peer entry as CBOR. */
export function encodePeerEntry(card: ContactCard): CborValue {
  return [card.identityKey, publicKeyFromOnionAddress(card.onionAddress), card.clientAuthKey, card.displayName ?? null]
}

/** Reads a peer entry; `KEEPER_MALFORMED` unless it is one. */
export function decodePeerEntry(value: CborValue): ContactCard {
  if (!Array.isArray(value) || value.length !== 4) throw bad('a peer entry is an array of 4 items')
  const [identityKey, onionKey, clientAuthKey, name] = value as CborValue[]
  for (const key of [identityKey, onionKey, clientAuthKey]) {
    if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) throw bad('a peer entry carries three 32-byte keys')
  }
  if (name !== null && typeof name !== 'string') throw bad('a peer entry name is text or null')
  let displayName: string | undefined
  try {
    if (typeof name === 'string') displayName = decodeDisplayName(encodeDisplayName(name))
  } catch (cause) {
    throw new GroupError('KEEPER_MALFORMED', 'a peer entry has an invalid name', { cause })
  }
  let onionAddress
  try {
    onionAddress = onionAddressFromPublicKey(onionKey as Uint8Array)
  } catch (cause) {
    throw new GroupError('KEEPER_MALFORMED', 'a peer entry has an invalid onion key', { cause })
  }
  return {
    version: 1,
    identityKey: identityKey as Uint8Array,
    onionAddress,
    clientAuthKey: clientAuthKey as Uint8Array,
    ...(displayName !== undefined ? { displayName } : {}),
  }
}

/** Reads a list of at most `max` peer entries with distinct identity keys. */
export function decodePeerList(value: CborValue, max: number, what: string): ContactCard[] {
  if (!Array.isArray(value)) throw bad(`${what} is an array`)
  if (value.length > max) throw bad(`${what} holds at most ${max} peers`)
  const cards = (value as CborValue[]).map(decodePeerEntry)
  const seen = new Set(cards.map((c) => Buffer.from(c.identityKey).toString('hex')))
  if (seen.size !== cards.length) throw bad(`${what} names a peer twice`)
  return cards
}

function decodeStrict(bytes: Uint8Array): CborValue {
  try {
    return decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof LogError) throw new GroupError('KEEPER_MALFORMED', 'not canonical CBOR', { cause: err })
    throw err
  }
}

function groupIdOf(value: CborValue): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== GROUP_ID_LENGTH) throw bad('a group id is 32 bytes')
  return value
}

/** Encodes a keeper request. */
export function encodeKeeperRequest(request: KeeperRequest): Uint8Array {
  switch (request.type) {
    case 'order':
      return encodeCanonical([TYPE_CODES.order, request.groupId, request.nonce, request.members.map(encodePeerEntry), request.keepers.map(encodePeerEntry), request.retentionMs])
    case 'release':
      return encodeCanonical([TYPE_CODES.release, request.groupId])
    case 'claim':
      return encodeCanonical([TYPE_CODES.claim, request.groupId, [...request.fileIds]])
  }
}

/** Reads a keeper request; anything malformed or out of bounds is `KEEPER_MALFORMED`. */
export function decodeKeeperRequest(bytes: Uint8Array): KeeperRequest {
  if (bytes.length > MAX_KEEPER_REQUEST_BYTES) throw bad(`a request is at most ${MAX_KEEPER_REQUEST_BYTES} bytes`)
  const value = decodeStrict(bytes)
  if (!Array.isArray(value) || value.length === 0) throw bad('a request is a non-empty array')
  const items = value as CborValue[]
  switch (items[0]) {
    case TYPE_CODES.order: {
      if (items.length !== 6) throw bad('an order has 6 items')
      const nonce = items[2]
      if (!(nonce instanceof Uint8Array) || nonce.length !== GROUP_ID_NONCE_LENGTH) throw bad('a group id nonce is 32 bytes')
      const retention = items[5]
      if (retention !== null && (typeof retention !== 'number' || !Number.isSafeInteger(retention) || retention <= 0)) throw bad('a retention period is a positive integer or null')
      return {
        type: 'order',
        groupId: groupIdOf(items[1]!),
        nonce,
        members: decodePeerList(items[3]!, MAX_ORDER_MEMBERS, 'the member list'),
        keepers: decodePeerList(items[4]!, MAX_KEEPERS, 'the keeper list'),
        retentionMs: retention,
      }
    }
    case TYPE_CODES.release:
      if (items.length !== 2) throw bad('a release has 2 items')
      return { type: 'release', groupId: groupIdOf(items[1]!) }
    case TYPE_CODES.claim: {
      if (items.length !== 3) throw bad('a claim has 3 items')
      const ids = items[2]
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_CLAIM_FILES) throw bad(`a claim names 1 to ${MAX_CLAIM_FILES} files`)
      for (const id of ids) if (!(id instanceof Uint8Array) || id.length !== FILE_ID_LENGTH) throw bad('a file id is 16 bytes')
      return { type: 'claim', groupId: groupIdOf(items[1]!), fileIds: ids as Uint8Array[] }
    }
    default:
      throw bad('unknown keeper request')
  }
}

/** The keeper's answer: accepted, or a refusal code. */
export function encodeKeeperResponse(refusal?: string): Uint8Array {
  return encodeCanonical(refusal === undefined ? [1] : [0, refusal])
}

/**
 * Reads the keeper's answer: resolves when accepted; throws
 * `KEEPER_NOT_ALLOWED` when the keeper's user has not allowed us to order it
 * yet (ask again later), `KEEPER_REFUSED` (with the keeper's code,
 * sanitized) for any other refusal, or `KEEPER_MALFORMED`.
 */
export function decodeKeeperResponse(bytes: Uint8Array): void {
  const value = decodeStrict(bytes)
  if (Array.isArray(value) && value.length === 1 && value[0] === 1) return
  if (Array.isArray(value) && value.length === 2 && value[0] === 0 && typeof value[1] === 'string') {
    if (value[1] === 'KEEPER_NOT_ALLOWED') throw new GroupError('KEEPER_NOT_ALLOWED', 'the keeper has not allowed us to order it yet')
    const code = value[1].slice(0, MAX_REFUSAL_CHARS).replace(/[^A-Z0-9_]/g, '?')
    throw new GroupError('KEEPER_REFUSED', `the keeper refused (${code})`)
  }
  throw bad('unexpected keeper response')
}
