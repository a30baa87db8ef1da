import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { base64 } from '@scure/base'
import { TorError } from './errors.js'
import { onionAddressFromPublicKey, publicKeyFromOnionAddress, type OnionAddress } from './onion-address.js'
import { expandOnionSeed, onionServiceKeyBlob } from './onion-keys.js'

/**
 * Tor refuses an onion descriptor over 50,000 bytes, and every ClientAuthV3
 * entry takes room in it (padded to multiples of 16): 368 keys published on
 * tor 0.4.9.11, 369 made "HS descriptor that's too big" and no upload at all.
 * 300 leaves room for a longer descriptor (more introduction points, PoW
 * parameters) and counts our own key too.
 */
export const MAX_CLIENTS_PER_ONION = 300

/**
 * Onion services one node publishes at most: its own address (shard 0) and
 * shards 1–3. On the private network one tor published 10 services in 2.5 s
 * and 50 only half-way in 120 s; peers also probe this many addresses at
 * most, so it is part of the protocol: never lower it.
 */
export const MAX_ONION_SHARDS = 4

/** Domain separation of the shard blinding factor; never change it (it would move every shard's address). */
const SHARD_BLIND_STRING = new TextEncoder().encode('burrow/v1/onion-shard')
const NONCE_PREFIX_STRING = new TextEncoder().encode('burrow/v1/onion-shard-nonce')
const L = ed25519.Point.Fn.ORDER

/**
 * The blinding factor of shard `index` of the onion whose public key is
 * `publicKey`: SHA3-256(SHARD_BLIND_STRING ‖ publicKey ‖ index) clamped as
 * tor clamps its own blinding factor (rend-spec-v3 A.2), reduced mod ℓ.
 */
function blindingFactor(publicKey: Uint8Array, index: number): bigint {
  const h = sha3_256(new Uint8Array([...SHARD_BLIND_STRING, ...publicKey, index]))
  h[0] = (h[0] ?? 0) & 248
  h[31] = ((h[31] ?? 0) & 63) | 64
  return bytesToNumberLE(h) % L
}

function assertShardIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_ONION_SHARDS) {
    throw new TorError('INVALID_ONION_KEY', `an onion shard index is an integer from 0 to ${MAX_ONION_SHARDS - 1}, got ${String(index)}`)
  }
}

/**
 * The `.onion` address of shard `index` of the node at `onion`, computable by
 * anyone who holds its address (its contact card) and by no one else: the
 * shard's public key is `h·A` for the node's key `A`, the way tor blinds its
 * keys per time period. Shard 0 is the address itself.
 */
export function onionShardAddress(onion: OnionAddress, index: number): OnionAddress {
  assertShardIndex(index)
  if (index === 0) return onion
  const publicKey = publicKeyFromOnionAddress(onion)
  // Public data only (the address and a factor derived from it): the variable-time multiplication, 10 times faster, leaks nothing.
  const blinded = ed25519.Point.fromBytes(publicKey).multiplyUnsafe(blindingFactor(publicKey, index))
  return onionAddressFromPublicKey(blinded.toBytes())
}

/** Shard addresses computed so far: each costs about 2 ms (two key validations and a multiplication). */
const shardAddressCache = new Map<OnionAddress, readonly OnionAddress[]>()
const SHARD_ADDRESS_CACHE_SIZE = 4_096

/** Every address a node at `onion` may publish, its own first (remembered: a dialer asks again and again). */
export function onionShardAddresses(onion: OnionAddress): readonly OnionAddress[] {
  const known = shardAddressCache.get(onion)
  if (known !== undefined) return known
  const addresses = Object.freeze(Array.from({ length: MAX_ONION_SHARDS }, (_, i) => onionShardAddress(onion, i)))
  if (shardAddressCache.size >= SHARD_ADDRESS_CACHE_SIZE) shardAddressCache.clear()
  shardAddressCache.set(onion, addresses)
  return addresses
}

/**
 * The `ADD_ONION` key of shard `index` of the service keyed by `seed32`:
 * tor's expanded form `a' ‖ prefix'` with `a' = h·a mod ℓ` (tor takes the
 * scalar as is and signs with it, as it does with its own blinded keys) and a
 * nonce prefix derived from the seed's. Shard 0 is {@link onionServiceKeyBlob}.
 * The string is a secret: never log it.
 */
export function onionShardKeyBlob(seed32: Uint8Array, index: number): string {
  assertShardIndex(index)
  if (index === 0) return onionServiceKeyBlob(seed32)
  const expanded = expandOnionSeed(seed32)
  try {
    const scalar = bytesToNumberLE(expanded.subarray(0, 32)) % L
    const publicKey = ed25519.Point.BASE.multiply(scalar).toBytes()
    const blinded = numberToBytesLE((blindingFactor(publicKey, index) * scalar) % L, 32)
    const prefix = sha3_256(new Uint8Array([...NONCE_PREFIX_STRING, index, ...expanded.subarray(32)]))
    const key = new Uint8Array([...blinded, ...prefix])
    blinded.fill(0)
    prefix.fill(0)
    try {
      return `ED25519-V3:${base64.encode(key)}`
    } finally {
      key.fill(0)
    }
  } finally {
    expanded.fill(0)
  }
}
