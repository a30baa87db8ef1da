// The one libsodium binding Burrow uses; sodium-native ships no types, and
// @types/sodium-native (2.x) types its arguments as Buffer only.
declare module 'sodium-native' {
  interface Sodium {
    /** libsodium's `crypto_sign_verify_detached`: whether `signature` is a valid Ed25519 signature of `message` by `publicKey`. */
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  }
  const sodium: Sodium
  export default sodium
}
