import {
  defaultCryptoProvider,
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
} from 'ts-mls'
import type {
  AuthenticationService,
  CiphersuiteImpl,
  CiphersuiteName,
  ClientConfig,
  KeyRetentionConfig,
  PaddingConfig,
  Signature,
} from 'ts-mls'
import { seedSigner, verifySignature } from '../../log/ed25519.js'
import type { Signer } from '../../log/types.js'
import { aes128GcmOpen, aes128GcmSeal, hkdfSha256, sha256 } from './native-primitives.js'

/** The one ciphersuite Burrow speaks (RFC 9420 suite 1). */
export const MLS_CIPHERSUITE: CiphersuiteName = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'

/**
 * How long decryption keys outlive their use.
 *
 * - `retainKeysForEpochs: 2` — after a commit, the secrets of the two previous
 *   epochs stay, so an application message sent just before a commit (or two
 *   quick key rotations) that reaches us after it still decrypts. Commits come
 *   from one committer and are applied in epoch order by the layer above, so a
 *   deeper window buys little: each retained epoch holds a full secret tree
 *   (measured: ts-mls's default of 4 is about 80 % of the state at 100
 *   members) and keeps old keys alive longer, weakening forward secrecy.
 *   ts-mls treats 0 as "keep all", so 1 is the real minimum.
 * - `retainKeysForGenerations: 10` — per sender and epoch, keys of up to 10
 *   skipped generations are kept for messages that arrive out of order (each
 *   author's log is replicated in order, so gaps are rare and short).
 * - `maximumForwardRatchetSteps: 200` — a sender may not make us derive more
 *   than 200 ratchet steps at once (bounds the work a hostile message causes).
 */
export const KEY_RETENTION: KeyRetentionConfig = {
  retainKeysForEpochs: 2,
  retainKeysForGenerations: 10,
  maximumForwardRatchetSteps: 200,
}

/** Pads every encrypted message to at least 256 bytes so short messages do not reveal their length. */
export const PADDING: PaddingConfig = { kind: 'padUntilLength', padUntilLength: 256 }

let suite: Promise<CiphersuiteImpl> | undefined

/**
 * The ciphersuite implementation, created once. ts-mls's default provider
 * (WebCrypto; measured 2.7 times faster than its pure-noble provider on
 * Node 20) keeps HPKE's key encapsulation; its Ed25519 is replaced by the
 * log layer's (see {@link nativeEd25519}), and SHA-256, HMAC, HKDF and the
 * AES-128-GCM of messages by synchronous node:crypto (native-primitives.ts).
 */
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE), defaultCryptoProvider).then((impl) => ({
    ...impl,
    hash: sha256,
    kdf: hkdfSha256,
    hpke: { ...impl.hpke, encryptAead: aes128GcmSeal, decryptAead: aes128GcmOpen },
    signature: nativeEd25519(impl.signature),
  }))
  return suite
}

/**
 * Ed25519 for MLS as the log layer does it: signing with libsodium, a
 * signer made once per key (ts-mls's WebCrypto signer imports the private key again
 * for every signature, about two thirds of the CPU time of encrypting a
 * message), verifying with libsodium's strict check, synchronously. Keys are
 * cached by their array (a group state keeps the same one from message to
 * message), never by value, so no copy of a seed is made. A key that is not a
 * 32-byte seed goes to ts-mls's own signer.
 */
function nativeEd25519(fallback: Signature): Signature {
  const signers = new WeakMap<Uint8Array, Signer>()
  return {
    ...fallback,
    async sign(signKey, message) {
      if (signKey.length !== 32) return fallback.sign(signKey, message)
      let signer = signers.get(signKey)
      if (signer === undefined) {
        signer = seedSigner(signKey)
        signers.set(signKey, signer)
      }
      return signer.sign(message)
    },
    async verify(publicKey, message, signature) {
      return verifySignature(publicKey, message, signature)
    },
  }
}

/** The ts-mls client configuration Burrow uses, with the given credential check. */
export function clientConfig(authService: AuthenticationService): ClientConfig {
  return {
    keyRetentionConfig: KEY_RETENTION,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: PADDING,
    authService,
  }
}
