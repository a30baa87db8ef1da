import type { AuthenticationService, Credential, LeafNode } from 'ts-mls'
import type { IdentityKeyPair } from '../../keys/derive.js'
import { bytesEqual } from '../../log/bytes.js'

/** A member's long-term Ed25519 identity: its MLS credential and MLS signature key at once. */
export type MlsIdentity = Pick<IdentityKeyPair, 'seed' | 'publicKey'>

/**
 * Says whether an identity public key may be in the group. Supplied by the
 * layer above (from its signed membership log); must not throw.
 */
export type Roster = (identity: Uint8Array) => boolean

/** Length of an Ed25519 identity public key, the only identity a Burrow credential carries. */
export const IDENTITY_KEY_LENGTH = 32

/** The basic credential naming `publicKey`. */
export function credentialFor(publicKey: Uint8Array): Credential {
  return { credentialType: 'basic', identity: publicKey.slice() }
}

/**
 * The identity a credential speaks for, if it is bound: a basic credential
 * whose identity is a 32-byte key equal to the leaf's signature key. Anything
 * else (x509, other lengths, a credential naming someone else's key) is unbound.
 */
export function boundIdentity(credential: Credential, signaturePublicKey: Uint8Array): Uint8Array | undefined {
  if (credential.credentialType !== 'basic') return undefined
  const { identity } = credential
  if (identity.length !== IDENTITY_KEY_LENGTH || !bytesEqual(identity, signaturePublicKey)) return undefined
  return identity
}

/** The identity of a leaf in the ratchet tree, or undefined for a leaf that is not bound to one. */
export function leafIdentity(leaf: LeafNode): Uint8Array | undefined {
  return boundIdentity(leaf.credential, leaf.signaturePublicKey)
}

/**
 * ts-mls authentication service that accepts a credential only if it is bound
 * to its signature key and that key is on the roster (ts-mls's default accepts
 * anything). One instance serves one operation: `rejected` then tells whether
 * a failure of that operation came from this check.
 */
export class RosterAuthService implements AuthenticationService {
  /** Set once any credential was refused during this operation. */
  rejected = false
  readonly #roster: Roster

  constructor(roster: Roster) {
    this.#roster = roster
  }

  /** Accepts the credential only if it is bound to `signaturePublicKey` and on the roster. */
  async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
    const identity = boundIdentity(credential, signaturePublicKey)
    const ok = identity !== undefined && onRoster(this.#roster, identity)
    if (!ok) this.rejected = true
    return ok
  }
}

/** Asks the roster, treating a throwing roster as a refusal (fail closed). */
export function onRoster(roster: Roster, identity: Uint8Array): boolean {
  try {
    return roster(identity.slice()) === true
  } catch {
    return false
  }
}

