import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { equalBytes } from '@noble/curves/utils.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { bech32m } from '@scure/base'
import { onionAddressFromPublicKey, parseOnionAddress, publicKeyFromOnionAddress, type OnionAddress } from '../tor/onion-address.js'
import type { NodeKeys } from './derive.js'
import { decodeDisplayName, DISPLAY_NAME_MAX_BYTES, encodeDisplayName } from './display-name.js'
import { KeysError } from './errors.js'

/**
 * What a node hands to a peer so the peer can reach it: who it is (identity
 * key), where it listens (onion address) and the key to authorize it as a
 * client of the peer's own onion service.
 */
export interface ContactCard {
  /** Card format version. */
  readonly version: 1
  /** Ed25519 identity public key (32 bytes); it signed the card. */
  readonly identityKey: Uint8Array
  /** The node's onion service address. */
  readonly onionAddress: OnionAddress
  /** X25519 client-authorization public key (32 bytes). */
  readonly clientAuthKey: Uint8Array
  /** Optional name the node's owner chose; unverified, for display only. */
  readonly displayName?: string
}

/** bech32m human-readable prefix of an encoded card. */
export const CONTACT_CARD_PREFIX = 'burrow'

/** The only card version this code reads and writes. */
export const CONTACT_CARD_VERSION = 1

/*
 * A card is one line of bech32m text: prefix `burrow`, separator `1`, the
 * body in 5-bit characters, a 6-character checksum. The node derived from
 * a seed of 32 × 0x07, without a name (273 characters; 375 with a 64-byte name):
 *   burrow1q9ncvv8y94l4sajk2…8qcuu87s
 *          └ q = 00000: the first 5 bits of version byte 0x01
 * Binary body of version 1, before bech32m:
 *   version (1) | identity key (32) | onion service public key (32) |
 *   client-auth key (32) | name length n (1, 0 = no name, ≤ 64) | name (n, UTF-8) |
 *   Ed25519 signature (64) by the identity key over SIGNING_CONTEXT ‖ all preceding bytes.
 * A fixed binary layout rather than CBOR: there is exactly one encoding of
 * each card, so the signed bytes need no canonicalisation, and it is shorter.
 * The context string keeps a card signature from being valid as any other
 * Burrow signature (operations, MLS) and vice versa.
 */
const SIGNING_CONTEXT = new TextEncoder().encode('burrow/v1/contact-card')
const KEY_LENGTH = 32
const SIGNATURE_LENGTH = 64
const FIXED_LENGTH = 1 + 3 * KEY_LENGTH + 1
const MIN_BODY_LENGTH = FIXED_LENGTH + SIGNATURE_LENGTH
const MAX_BODY_LENGTH = MIN_BODY_LENGTH + DISPLAY_NAME_MAX_BYTES
// Longest valid text: prefix, separator, 5 bits per character, 6 checksum characters.
const MAX_TEXT_LENGTH = CONTACT_CARD_PREFIX.length + 1 + Math.ceil((MAX_BODY_LENGTH * 8) / 5) + 6

/**
 * The card describing `keys`' node. Throws `INVALID_DISPLAY_NAME` for a
 * name that is empty, longer than 64 UTF-8 bytes, or holds control or
 * text-direction characters.
 */
export function createContactCard(keys: NodeKeys, displayName?: string): ContactCard {
  if (displayName !== undefined) encodeDisplayName(displayName)
  return {
    version: CONTACT_CARD_VERSION,
    identityKey: keys.identity.publicKey.slice(),
    onionAddress: keys.onionAddress,
    clientAuthKey: keys.clientAuth.publicKey.slice(),
    ...(displayName === undefined ? {} : { displayName }),
  }
}

/**
 * Encodes and signs `card` as one line of text (`burrow1…`, 273 to 375
 * characters). `keys` must be the node the card describes: a node signs only
 * its own keys, so a stale or foreign card cannot be re-signed by mistake.
 * Throws `INVALID_CONTACT_CARD` or `INVALID_DISPLAY_NAME`.
 */
export function encodeContactCard(card: ContactCard, keys: NodeKeys): string {
  if (card.version !== CONTACT_CARD_VERSION) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: unsupported card version ${String(card.version)}`)
  const onionKey = publicKeyFromOnionAddress(parseOnionAddress(card.onionAddress))
  if (
    !equalBytes(card.identityKey, keys.identity.publicKey) ||
    !equalBytes(onionKey, publicKeyFromOnionAddress(keys.onionAddress)) ||
    !equalBytes(card.clientAuthKey, keys.clientAuth.publicKey)
  ) {
    throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card does not describe the node whose keys would sign it`)
  }
  const name = card.displayName === undefined ? new Uint8Array(0) : encodeDisplayName(card.displayName)
  const unsigned = concatBytes(
    Uint8Array.of(CONTACT_CARD_VERSION),
    card.identityKey,
    onionKey,
    card.clientAuthKey,
    Uint8Array.of(name.length),
    name,
  )
  const body = concatBytes(unsigned, keys.sign(concatBytes(SIGNING_CONTEXT, unsigned)))
  return bech32m.encode(CONTACT_CARD_PREFIX, bech32m.toWords(body), false)
}

/**
 * Decodes a card pasted by a user: trims surrounding whitespace, accepts
 * all-lower or all-upper case, and checks the bech32m checksum, the version,
 * the layout, the display name rules, every key (valid, not of small order)
 * and the identity key's signature over the whole card. Every failure is an
 * `INVALID_CONTACT_CARD` whose message says which check failed.
 */
export function decodeContactCard(text: string): ContactCard {
  try {
    return decodeBody(decodeText(text))
  } catch (err) {
    if (err instanceof KeysError && err.code === 'INVALID_CONTACT_CARD') throw err
    if (err instanceof KeysError && err.code === 'INVALID_DISPLAY_NAME') throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: ${err.message}`, { cause: err })
    throw new KeysError('INVALID_CONTACT_CARD', 'invalid contact card: malformed card', { cause: err })
  }
}

function decodeText(text: string): Uint8Array {
  if (typeof text !== 'string') throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: a card is text`)
  const trimmed = text.trim()
  if (trimmed.length === 0) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card is empty`)
  if (trimmed.length > MAX_TEXT_LENGTH) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card is too long`)
  const decoded = bech32m.decodeUnsafe(trimmed, false)
  if (decoded === undefined) {
    if (/[\r\n]/.test(trimmed)) {
      throw new KeysError('INVALID_CONTACT_CARD', 'invalid contact card: a card is one line: the first line of `burrow card` output, without the fingerprint line')
    }
    throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: checksum or character error: the card was changed or not copied completely`)
  }
  if (decoded.prefix !== CONTACT_CARD_PREFIX) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: not a Burrow card (prefix "${decoded.prefix}")`)
  const body = bech32m.fromWordsUnsafe(decoded.words)
  if (body === undefined) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card has invalid padding`)
  return body
}

function decodeBody(body: Uint8Array): ContactCard {
  const version = body[0]
  if (version !== CONTACT_CARD_VERSION) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: unsupported card version ${String(version)}`)
  if (body.length < MIN_BODY_LENGTH) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card is too short`)
  const nameLength = body[FIXED_LENGTH - 1] ?? 0
  if (nameLength > DISPLAY_NAME_MAX_BYTES) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the display name is too long`)
  const signedLength = FIXED_LENGTH + nameLength
  if (body.length !== signedLength + SIGNATURE_LENGTH) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the card has the wrong length`)

  const field = (index: number): Uint8Array => body.slice(1 + index * KEY_LENGTH, 1 + (index + 1) * KEY_LENGTH)
  const identityKey = field(0)
  const onionKey = field(1)
  const clientAuthKey = field(2)
  assertEd25519PublicKey(identityKey)
  const signed = concatBytes(SIGNING_CONTEXT, body.subarray(0, signedLength))
  if (!ed25519.verify(body.subarray(signedLength), signed, identityKey, { zip215: false })) {
    throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the signature does not match the identity key`)
  }
  assertX25519PublicKey(clientAuthKey)
  let onionAddress: OnionAddress
  try {
    onionAddress = onionAddressFromPublicKey(onionKey)
  } catch (err) {
    throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the onion service key is not a valid Ed25519 public key`, { cause: err })
  }
  return {
    version: CONTACT_CARD_VERSION,
    identityKey,
    onionAddress,
    clientAuthKey,
    ...(nameLength === 0 ? {} : { displayName: decodeDisplayName(body.subarray(FIXED_LENGTH, signedLength)) }),
  }
}

/**
 * Strict RFC 8032 encoding and not of small order: with a small-order key,
 * signatures verify for any message, so anyone could forge such a card.
 */
function assertEd25519PublicKey(key: Uint8Array): void {
  let ok: boolean
  try {
    ok = !ed25519.Point.fromBytes(key, false).isSmallOrder()
  } catch {
    ok = false
  }
  if (!ok) throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the identity key is not a valid Ed25519 public key`)
}

// Any clamped scalar times a small-order point is the identity; noble throws on
// that all-zero result, which is how small-order keys are detected.
const PROBE_SCALAR = new Uint8Array(32).fill(0x42)

function assertX25519PublicKey(key: Uint8Array): void {
  try {
    x25519.getSharedSecret(PROBE_SCALAR, key)
  } catch (err) {
    throw new KeysError('INVALID_CONTACT_CARD', `invalid contact card: the client-authorization key is not a usable X25519 public key`, { cause: err })
  }
}
