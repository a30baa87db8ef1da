/**
 * Data types of Burrow's signed append-only logs. The byte layout they map
 * to is specified in docs/log-format.md.
 */

/** The only header format version this code reads and writes. */
export const HEADER_VERSION = 1

/** Length of an operation or payload hash (SHA-256). */
export const HASH_LENGTH = 32

/** Length of an Ed25519 public key. */
export const PUBLIC_KEY_LENGTH = 32

/** Length of an Ed25519 signature. */
export const SIGNATURE_LENGTH = 64

/** Bounds on a log id's length in bytes (the group layer uses 32-byte topic ids). */
export const LOG_ID_MIN_LENGTH = 1
/** Upper bound on a log id's length in bytes. */
export const LOG_ID_MAX_LENGTH = 64

/** Opaque identifier of a log, 1..64 bytes. An author's log is identified by (author, log id). */
export type LogId = Uint8Array

/** A 32-byte SHA-256 digest. */
export type Hash = Uint8Array

/**
 * A value that may appear in the extensions map. Integers are limited to the
 * safe-integer range (|n| ≤ 2⁵³−1); floats, tags and `undefined` are not part
 * of the format, so every value has exactly one canonical encoding.
 */
export type ExtensionValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly ExtensionValue[]
  | ReadonlyMap<string, ExtensionValue>

/**
 * Header extensions. Known keys have fixed types: `prune` (boolean: every
 * operation below this one may be dropped), `ts` (unsigned integer,
 * milliseconds since the Unix epoch), `epoch` (unsigned integer, MLS epoch).
 * Unknown keys are kept, signed and re-encoded as received.
 */
export type Extensions = ReadonlyMap<string, ExtensionValue>

/**
 * A signed operation header.
 *
 * Integers are JavaScript numbers, not bigints: the format allows u64 but
 * this implementation accepts only values up to 2⁵³−1 (a sequence number
 * would take 285 years at one operation per microsecond to get there), which
 * keeps the hot path free of bigint arithmetic and maps directly onto
 * SQLite INTEGER columns. Larger values are rejected when decoding.
 */
export interface Header {
  /** Format version; always {@link HEADER_VERSION}. */
  readonly version: number
  /** Author's Ed25519 public key (32 bytes). */
  readonly author: Uint8Array
  /** The author's log this operation belongs to. */
  readonly logId: LogId
  /** Position in the log, starting at 0 and growing by exactly 1. */
  readonly seq: number
  /** Hash of the operation at `seq - 1`; null exactly when `seq` is 0. */
  readonly backlink: Hash | null
  /** Hash of the payload; null exactly when `payloadSize` is 0. */
  readonly payloadHash: Hash | null
  /** Payload length in bytes. */
  readonly payloadSize: number
  /** Extensions map, signed like every other field. */
  readonly extensions: Extensions
  /** Ed25519 signature over the unsigned header encoding (64 bytes). */
  readonly signature: Uint8Array
}

/** The header fields covered by the signature: everything except the signature itself. */
export type UnsignedHeader = Omit<Header, 'signature'>

/**
 * An operation: its decoded header, the exact signed header bytes it was
 * decoded from (or encoded to), the operation hash, and the payload when it is
 * present (a deleted or not-yet-fetched payload is `undefined`).
 */
export interface Operation {
  /** Decoded header. */
  readonly header: Header
  /** Canonical CBOR encoding of the signed header. */
  readonly headerBytes: Uint8Array
  /** Operation hash: SHA-256 of `headerBytes`. */
  readonly hash: Hash
  /** Payload bytes, absent when deleted or not fetched. */
  readonly payload?: Uint8Array
}

/**
 * Something that signs with an Ed25519 key. `NodeKeys` from the keys module
 * fits as `{ publicKey: keys.identity.publicKey, sign: (m) => keys.sign(m) }`.
 */
export interface Signer {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Returns the 64-byte Ed25519 signature of `message`. */
  sign(message: Uint8Array): Uint8Array
}

/** Size limits applied while decoding untrusted bytes. */
export interface DecodeLimits {
  /** Largest accepted signed header, in bytes. */
  readonly maxHeaderBytes: number
  /** Largest accepted payload (declared or actual), in bytes. */
  readonly maxPayloadBytes: number
}

/** Default limits: 4 KiB headers, 1 MiB payloads. */
export const DEFAULT_LIMITS: DecodeLimits = Object.freeze({ maxHeaderBytes: 4096, maxPayloadBytes: 1024 * 1024 })
