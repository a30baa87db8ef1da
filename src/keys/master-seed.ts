import { getRandomValues } from 'node:crypto'
import { KeysError } from './errors.js'

/** Length in bytes of a master seed: every key of a node is derived from these 32 bytes. */
export const MASTER_SEED_LENGTH = 32

/** Draws a fresh master seed from the operating system's CSPRNG. */
export function generateMasterSeed(): Uint8Array {
  return getRandomValues(new Uint8Array(MASTER_SEED_LENGTH))
}

/** Throws `INVALID_MASTER_SEED` unless `seed` is a 32-byte array. */
export function assertMasterSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== MASTER_SEED_LENGTH) {
    throw new KeysError('INVALID_MASTER_SEED', `a master seed must be 32 bytes, got ${seed instanceof Uint8Array ? seed.length : -1}`)
  }
}
