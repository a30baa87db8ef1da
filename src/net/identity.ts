import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PeerId, Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { NetError } from './errors.js'

const SEED_LENGTH = 32

/**
 * The node's libp2p identity key from its 32-byte Ed25519 seed: the same seed
 * always gives the same PeerId. (`privateKeyFromRaw` is not used on purpose:
 * given 32 bytes it builds a secp256k1 key.) The result is secret.
 */
export async function identityKeyFromSeed(seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    const got = seed instanceof Uint8Array ? `${seed.length} bytes` : typeof seed
    throw new NetError('NET_INVALID_OPTIONS', `the identity seed must be ${SEED_LENGTH} bytes, got ${got}`)
  }
  return generateKeyPairFromSeed('Ed25519', seed)
}

/** The PeerId (`12D3KooW…`) that {@link identityKeyFromSeed} gives for `seed`. */
export async function peerIdFromIdentitySeed(seed: Uint8Array): Promise<Ed25519PeerId> {
  return peerIdFromPrivateKey(await identityKeyFromSeed(seed))
}
