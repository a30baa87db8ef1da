import { randomBytes } from 'node:crypto'
import { bytesEqual } from '../log/bytes.js'
import { hashOf } from '../log/hash.js'

/** Length of a group id (also the log id of the group's operations) and of the nonce it is derived from. */
export const GROUP_ID_LENGTH = 32
export const GROUP_ID_NONCE_LENGTH = 32

const LABEL = new TextEncoder().encode('burrow/v1/group-id')

/**
 * A group id is bound to its owner: SHA-256("burrow/v1/group-id" ‖ owner
 * identity key ‖ 32-byte nonce). The owner keeps the nonce and sends it with
 * every key-package request; an invitee answers only a request whose group
 * id derives from the requester's own key, so nobody can make it join a
 * group under an id that someone else's group already has (a squat), even
 * knowing that id and its nonce.
 */
export function groupIdOf(owner: Uint8Array, nonce: Uint8Array): Uint8Array {
  const input = new Uint8Array(LABEL.length + owner.length + nonce.length)
  input.set(LABEL, 0)
  input.set(owner, LABEL.length)
  input.set(nonce, LABEL.length + owner.length)
  return hashOf(input)
}

/** A fresh group id for `owner`, and the nonce that proves it. */
export function newGroupId(owner: Uint8Array): { id: Uint8Array; nonce: Uint8Array } {
  const nonce = new Uint8Array(randomBytes(GROUP_ID_NONCE_LENGTH))
  return { id: groupIdOf(owner, nonce), nonce }
}

/** True when `groupId` was derived from `owner`'s key and `nonce`. */
export function isGroupIdOf(groupId: Uint8Array, owner: Uint8Array, nonce: Uint8Array): boolean {
  return nonce.length === GROUP_ID_NONCE_LENGTH && bytesEqual(groupIdOf(owner, nonce), groupId)
}
