import { decodeGroupState, encodeGroupState } from 'ts-mls'
import type { GroupState } from 'ts-mls'
import type { PendingUpdate } from './update.js'
import { MlsError } from './errors.js'

/** Everything an MlsGroup persists, apart from the identity seed and the roster. */
export interface StoredGroup {
  /** ts-mls group state; its `signaturePrivateKey` is empty in storage. */
  readonly state: GroupState
  /** This member's uncommitted Update proposal, if any. */
  readonly pendingUpdate: PendingUpdate | undefined
}

const STATE_VERSION = 1
const KEY_LENGTH = 32
const EMPTY = new Uint8Array(0)

/**
 * Encodes the state as `version ‖ hasPending ‖ [hpkePublic ‖ hpkePrivate] ‖
 * ts-mls GroupState`. The identity seed that ts-mls keeps as the signature key
 * is left out, so a leaked state file never reveals the long-term identity;
 * {@link decodeStoredGroup} callers put it back from the keystore.
 */
export function encodeStoredGroup(stored: StoredGroup): Uint8Array {
  const body = encodeGroupState({ ...stored.state, signaturePrivateKey: EMPTY })
  const pending = stored.pendingUpdate
  const head = new Uint8Array(2 + (pending === undefined ? 0 : 2 * KEY_LENGTH))
  head[0] = STATE_VERSION
  if (pending !== undefined) {
    head[1] = 1
    head.set(pending.hpkePublicKey, 2)
    head.set(pending.hpkePrivateKey, 2 + KEY_LENGTH)
  }
  const out = new Uint8Array(head.length + body.length)
  out.set(head, 0)
  out.set(body, head.length)
  return out
}

/** Inverse of {@link encodeStoredGroup}; any defect is MLS_MALFORMED. The result's signature key is empty. */
export function decodeStoredGroup(bytes: Uint8Array): StoredGroup {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== STATE_VERSION) {
    throw new MlsError('MLS_MALFORMED', 'malformed or unknown MLS group state')
  }
  const hasPending = bytes[1]
  if (hasPending !== 0 && hasPending !== 1) throw new MlsError('MLS_MALFORMED', 'malformed MLS group state')
  let offset = 2
  let pendingUpdate: PendingUpdate | undefined
  if (hasPending === 1) {
    if (bytes.length < offset + 2 * KEY_LENGTH) throw new MlsError('MLS_MALFORMED', 'truncated MLS group state')
    pendingUpdate = {
      hpkePublicKey: bytes.slice(offset, offset + KEY_LENGTH),
      hpkePrivateKey: bytes.slice(offset + KEY_LENGTH, offset + 2 * KEY_LENGTH),
    }
    offset += 2 * KEY_LENGTH
  }
  const body = bytes.subarray(offset)
  let decoded: [GroupState, number] | undefined
  try {
    decoded = decodeGroupState(body, 0)
  } catch (err) {
    throw new MlsError('MLS_MALFORMED', 'malformed MLS group state', { cause: err })
  }
  if (decoded === undefined || decoded[1] !== body.length) throw new MlsError('MLS_MALFORMED', 'malformed MLS group state')
  const [state] = decoded
  if (state.signaturePrivateKey.length !== 0) throw new MlsError('MLS_MALFORMED', 'MLS group state must not carry a signature key')
  return { state, pendingUpdate }
}
