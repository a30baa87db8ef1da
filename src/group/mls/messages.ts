import { decodeMlsMessage, encodeMlsMessage } from 'ts-mls'
import type { ContentTypeName, KeyPackage, MLSMessage, PrivateMessage, PublicMessage, Welcome } from 'ts-mls'
import { MlsError } from './errors.js'

/** What the clear framing of a group message says, readable without any key. */
export interface MessageEpoch {
  /** Group the message claims to belong to. */
  readonly groupId: Uint8Array
  /** Epoch it was sent in: the layer above buffers messages from epochs it has not reached. */
  readonly epoch: bigint
  /** `application`, `proposal` or `commit` (in the clear in both wire formats). */
  readonly contentType: ContentTypeName
  /** `private` (encrypted; all Burrow sends) or `public` (signed only). */
  readonly wireformat: 'private' | 'public'
}

/** Decodes one whole MLSMessage; trailing bytes, wrong versions and decoder exceptions are MLS_MALFORMED. */
export function decodeMessage(bytes: Uint8Array): MLSMessage {
  if (!(bytes instanceof Uint8Array)) throw new MlsError('MLS_MALFORMED', 'MLS message must be a Uint8Array')
  let decoded: [MLSMessage, number] | undefined
  try {
    decoded = decodeMlsMessage(bytes, 0)
  } catch (err) {
    throw new MlsError('MLS_MALFORMED', 'malformed MLS message', { cause: err })
  }
  if (decoded === undefined) throw new MlsError('MLS_MALFORMED', 'malformed MLS message')
  const [message, length] = decoded
  if (length !== bytes.length) throw new MlsError('MLS_MALFORMED', 'trailing bytes after MLS message')
  if (message.version !== 'mls10') throw new MlsError('MLS_MALFORMED', 'unsupported MLS protocol version')
  return message
}

/** A PrivateMessage or PublicMessage, as decoded from the wire. */
export type GroupMessage =
  | { readonly wireformat: 'private'; readonly message: PrivateMessage }
  | { readonly wireformat: 'public'; readonly message: PublicMessage }

/** Decodes a group message (handshake or application); other MLS messages are MLS_MALFORMED. */
export function decodeGroupMessage(bytes: Uint8Array): GroupMessage {
  const decoded = decodeMessage(bytes)
  switch (decoded.wireformat) {
    case 'mls_private_message':
      return { wireformat: 'private', message: decoded.privateMessage }
    case 'mls_public_message':
      return { wireformat: 'public', message: decoded.publicMessage }
    default:
      throw new MlsError('MLS_MALFORMED', `expected a group message, got ${decoded.wireformat}`)
  }
}

/**
 * Reads group id, epoch and content type from the clear framing of a
 * PrivateMessage or PublicMessage, without decrypting or verifying anything:
 * the answer is only a claim, used to order and buffer messages before
 * {@link MlsGroup.process} authenticates them. Throws MLS_MALFORMED.
 */
export function messageEpoch(bytes: Uint8Array): MessageEpoch {
  const group = decodeGroupMessage(bytes)
  const framing = group.wireformat === 'private' ? group.message : group.message.content
  return {
    groupId: framing.groupId.slice(),
    epoch: framing.epoch,
    contentType: framing.contentType,
    wireformat: group.wireformat,
  }
}

/** Encodes a PrivateMessage for the wire. */
export function encodePrivateMessage(privateMessage: PrivateMessage): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage })
}

/** Encodes a Welcome for the wire. */
export function encodeWelcome(welcome: Welcome): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome })
}

/** Decodes a Welcome; anything else is MLS_MALFORMED. */
export function decodeWelcome(bytes: Uint8Array): Welcome {
  const decoded = decodeMessage(bytes)
  if (decoded.wireformat !== 'mls_welcome') throw new MlsError('MLS_MALFORMED', `expected a welcome, got ${decoded.wireformat}`)
  return decoded.welcome
}

/** Encodes a KeyPackage for the wire. */
export function encodeKeyPackage(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage })
}

/** Decodes a KeyPackage (its signature is checked later, when it is added); anything else is MLS_MALFORMED. */
export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const decoded = decodeMessage(bytes)
  if (decoded.wireformat !== 'mls_key_package') {
    throw new MlsError('MLS_MALFORMED', `expected a key package, got ${decoded.wireformat}`)
  }
  return decoded.keyPackage
}
