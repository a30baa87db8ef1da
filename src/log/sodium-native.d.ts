// The libsodium binding Burrow uses (Ed25519 only); sodium-native ships no types, and
// @types/sodium-native (2.x) types its arguments as Buffer only.
declare module 'sodium-native' {
  interface Sodium {
    /** libsodium's `crypto_sign_verify_detached`: whether `signature` is a valid Ed25519 signature of `message` by `publicKey`. */
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
    /** libsodium's `crypto_sign_seed_keypair`: the key pair of a 32-byte seed, written into `publicKey` (32 bytes) and `secretKey` (64). */
    crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
    /** libsodium's `crypto_sign_detached`: the Ed25519 signature of `message`, written into `signature` (64 bytes). */
    crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
    /** Bytes of a secret key (seed and public key). */
    readonly crypto_sign_SECRETKEYBYTES: number
    /** A buffer in libsodium's guarded memory (`sodium_malloc`), zeroed when freed. */
    sodium_malloc(size: number): Buffer
  }
  const sodium: Sodium
  export default sodium
}
