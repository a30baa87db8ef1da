import { decodeCanonical, encodeCanonical } from '../log/cbor.js'
import { GroupError } from './errors.js'
import { GROUP_ID_LENGTH, GROUP_ID_NONCE_LENGTH } from './group-id.js'
import type { GroupManager } from './manager.js'

/**
 * `/burrow/keypackage/1`: how a group's owner gets a fresh MLS key package
 * from the peer it invites. One request and one response per stream, each a
 * canonical CBOR array behind a 4-byte big-endian length (the transport's
 * framing):
 *
 * ```
 * request   [group id, nonce]   82 58 20 <32-byte group id> 58 20 <32-byte nonce>   array(2), bytes(32), bytes(32): 69 bytes
 * response  [1, key package]    82 01 59 <u16 length> <MLSMessage(KeyPackage)>
 *           [0, refusal code]   82 00 70 50 45 45 52 …                   array(2), 0, text(16) "PEER_NOT_ALLOWED"
 * ```
 *
 * The nonce proves that the requester owns the group: the id must be
 * SHA-256("burrow/v1/group-id" ‖ requester's identity key ‖ nonce)
 * (group-id.ts), else the answer is the refusal `GROUP_ID_NOT_OWNED`. Other
 * refusals: `GROUP_RATE_LIMITED`, `GROUP_TOO_MANY_INVITATIONS`,
 * `GROUP_ALREADY_A_MEMBER`, `GROUP_INACTIVE`, `MALFORMED_REQUEST`.
 *
 * Both ends live here; the network is the caller's (node/ passes the
 * libp2p request function), so this layer stays free of it.
 */
export const KEY_PACKAGE_PROTOCOL = '/burrow/keypackage/1'

/** Largest request accepted (a request is 69 bytes). */
export const MAX_KEY_PACKAGE_REQUEST_BYTES = 1024

/** Largest response accepted (a key package is about 300 bytes). */
export const MAX_KEY_PACKAGE_RESPONSE_BYTES = 64 * 1024

const MAX_REFUSAL_CHARS = 40

/** Sends one request to the invitee and resolves with its response. */
export type AskPeer = (request: Uint8Array) => Promise<Uint8Array>

/** What a key-package request asks for: a package for our group `groupId`, with the `nonce` its id derives from. */
export interface KeyPackageRequest {
  readonly groupId: Uint8Array
  readonly nonce: Uint8Array
}

/** Encodes the request for a key package for `groupId`, proven ours by `nonce`. */
export function encodeKeyPackageRequest(request: KeyPackageRequest): Uint8Array {
  return encodeCanonical([request.groupId, request.nonce])
}

/** Reads a request; undefined when it is not one. */
export function decodeKeyPackageRequest(bytes: Uint8Array): KeyPackageRequest | undefined {
  try {
    const value = decodeCanonical(bytes)
    if (!Array.isArray(value) || value.length !== 2) return undefined
    const [groupId, nonce] = value as unknown[]
    if (groupId instanceof Uint8Array && groupId.length === GROUP_ID_LENGTH && nonce instanceof Uint8Array && nonce.length === GROUP_ID_NONCE_LENGTH) {
      return { groupId, nonce }
    }
  } catch {
    // Not canonical CBOR: not a request.
  }
  return undefined
}

/**
 * The invitee refused to give a key package: `GROUP_KEY_PACKAGE_REFUSED`,
 * with the invitee's code (as `[A-Z0-9_]` characters, at most 40), which
 * callers read to tell a refusal worth retrying (a rate limit, a member who
 * has not learnt of its removal yet) from one that is not.
 */
export class KeyPackageRefusedError extends GroupError {
  /** The invitee's refusal code, sanitized. */
  readonly refusal: string

  constructor(refusal: string) {
    super('GROUP_KEY_PACKAGE_REFUSED', `the peer refused to give a key package (${refusal})`)
    this.refusal = refusal
  }
}

/** Reads a response: the key package, or a typed error saying why there is none. */
export function decodeKeyPackageResponse(bytes: Uint8Array): Uint8Array {
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (cause) {
    throw new GroupError('GROUP_KEY_PACKAGE_REFUSED', 'the peer answered the key-package request with malformed data', { cause })
  }
  if (Array.isArray(value) && value.length === 2 && value[0] === 1 && value[1] instanceof Uint8Array) return value[1]
  if (Array.isArray(value) && value.length === 2 && value[0] === 0 && typeof value[1] === 'string') {
    // The refusal is the peer's text: shown only as a short code-like word.
    throw new KeyPackageRefusedError(value[1].slice(0, MAX_REFUSAL_CHARS).replace(/[^A-Z0-9_]/g, '?'))
  }
  throw new GroupError('GROUP_KEY_PACKAGE_REFUSED', 'the peer answered the key-package request with an unexpected message')
}

function refusal(code: string): Uint8Array {
  return encodeCanonical([0, code])
}

/**
 * Owner side: asks the invitee for a key package for our group (`nonce`
 * from `GroupManager.ownershipNonce`). Throws `GROUP_KEY_PACKAGE_REFUSED`
 * when the answer is a refusal or malformed; what `ask` throws (the peer
 * unreachable) passes through.
 */
export async function fetchKeyPackage(ask: AskPeer, request: KeyPackageRequest): Promise<Uint8Array> {
  return decodeKeyPackageResponse(await ask(encodeKeyPackageRequest(request)))
}

/**
 * Invitee side: answers a request from the peer whose identity key is
 * `inviter` (undefined when it is not on the allow-list). A fresh key
 * package is made and kept for the Welcome; `onPending` runs once the
 * invitation is recorded (the node shares the group log with the inviter).
 * Refusals travel as codes, never as exceptions.
 */
export async function answerKeyPackageRequest(
  groups: GroupManager,
  inviter: Uint8Array | undefined,
  request: Uint8Array,
  onPending?: (groupId: Uint8Array) => void,
): Promise<Uint8Array> {
  if (inviter === undefined) return refusal('PEER_NOT_ALLOWED')
  const asked = decodeKeyPackageRequest(request)
  if (asked === undefined) return refusal('MALFORMED_REQUEST')
  let keyPackage: Uint8Array
  try {
    keyPackage = await groups.createKeyPackage(asked.groupId, inviter, asked.nonce)
  } catch (err) {
    if (err instanceof GroupError) return refusal(err.code)
    throw err
  }
  onPending?.(asked.groupId)
  return encodeCanonical([1, keyPackage])
}
