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
} from 'ts-mls'

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
 * The ciphersuite implementation, created once. The default provider uses
 * WebCrypto for AES-GCM, SHA-256 and Ed25519; measured 2.7 times faster than
 * ts-mls's pure-noble provider on Node 20.
 */
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE), defaultCryptoProvider)
  return suite
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
