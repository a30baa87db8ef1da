import { hash } from 'node:crypto'
import type { Hash } from './types.js'

/**
 * SHA-256 of `bytes`: the operation hash (over signed header bytes) and the
 * payload hash. SHA-256 rather than p2panda's BLAKE3 because node's native
 * SHA-256 measured 3× (100 B) to 10× (1 KiB) faster than the pure-JS BLAKE3
 * available here; docs/log-format.md has the figures. One-shot
 * `crypto.hash` (Node ≥ 20.12) costs half of a `createHash` object for inputs this small.
 */
export function hashOf(bytes: Uint8Array): Hash {
  const digest = hash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}
