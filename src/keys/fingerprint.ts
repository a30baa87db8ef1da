import { bytesToHex } from '@noble/hashes/utils.js'

/** Bytes of the identity key shown in a fingerprint: 80 bits, beyond reach of grinding a look-alike key. */
const FINGERPRINT_BYTES = 10

/**
 * Short, human-comparable fingerprint of an Ed25519 identity public key:
 * the first 10 bytes in hex, in groups of four (`1a2b 3c4d 5e6f 7a8b 9c0d`).
 * A prefix of the key itself rather than of a hash, because Ed25519 keys are
 * already uniform and a prefix can be checked against the full key by eye.
 */
export function identityFingerprint(publicKey: Uint8Array): string {
  return bytesToHex(publicKey.subarray(0, FINGERPRINT_BYTES)).replace(/(.{4})(?=.)/g, '$1 ')
}
