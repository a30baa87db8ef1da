import type { CiphersuiteImpl, KeyPackage, LeafNode } from 'ts-mls'
import { encodeLeafNode } from 'ts-mls/leafNode.js'
import { getHpkePublicKey, type RatchetTree } from 'ts-mls/ratchetTree.js'
import { bytesEqual } from '../../log/bytes.js'
import { MLS_CIPHERSUITE } from './suite.js'

/**
 * One policy for every leaf a peer puts in a group's tree, run by the owner
 * (the only committer) on an invitee's key package before adding it and on
 * the new leaf of a member's Update before committing it.
 *
 * ts-mls 1.6.4 checks such a leaf's signature, credential and lifetime, but
 * not what RFC 9420 §7.3 asks of it beside the tree: an encryption key found
 * nowhere else in the tree, and support for the credential types in use.
 * Members check both when they process a commit with a path; the owner does
 * not when it makes one. So a leaf reusing another member's HPKE key, or not
 * supporting `basic` credentials, entered the owner's tree and every member
 * refused the owner's next commit: the group split for good. ts-mls does not
 * check either that an HPKE key is a usable X25519 key (one of low order
 * froze every later commit with a path), nor bound a leaf's size (one
 * member's leaf of megabytes went into every member's state and Welcome).
 *
 * A leaf must be like those Burrow makes (key-package.ts, update.ts):
 * - capabilities that include version mls10, Burrow's ciphersuite and
 *   `basic` credentials (the lists are not compared whole: ts-mls adds
 *   random GREASE values to them);
 * - no leaf extensions (and a key package, no extensions either);
 * - HPKE keys (the leaf's, and a key package's init key) of 32 bytes that a
 *   trial HPKE encapsulation accepts, so not a low-order X25519 point, the
 *   leaf's different from every leaf and parent key in the tree;
 * - at most {@link MAX_LEAF_BYTES} encoded.
 */

/**
 * Largest encoded leaf. Burrow's own measure 234 to 260 bytes (200 key
 * packages; up to 120 more with every GREASE value ts-mls may add).
 */
export const MAX_LEAF_BYTES = 1024

/** Length of an X25519 public key, the only HPKE key of {@link MLS_CIPHERSUITE}. */
const HPKE_KEY_LENGTH = 32

/** Why `leaf` may not enter `tree`, or undefined when it may. */
export async function leafRefusal(leaf: LeafNode, tree: RatchetTree, cs: CiphersuiteImpl): Promise<string | undefined> {
  const size = encodeLeafNode(leaf).length
  if (size > MAX_LEAF_BYTES) return `an encoded leaf of ${size} bytes, more than ${MAX_LEAF_BYTES}`
  const { versions, ciphersuites, credentials } = leaf.capabilities
  if (!versions.includes('mls10') || !ciphersuites.includes(MLS_CIPHERSUITE) || !credentials.includes('basic')) {
    return "capabilities without MLS 1.0, Burrow's ciphersuite or basic credentials"
  }
  if (leaf.extensions.length > 0) return 'leaf extensions'
  if (!(await usableHpkeKey(leaf.hpkePublicKey, cs))) return 'an HPKE key that is not a usable X25519 key'
  if (tree.some((node) => node !== undefined && bytesEqual(getHpkePublicKey(node), leaf.hpkePublicKey))) return 'an HPKE key already in the tree'
  return undefined
}

/** Why the leaf policy refuses `keyPackage` for a group whose tree is `tree`, or undefined when it may be added. */
export async function keyPackageRefusal(keyPackage: KeyPackage, tree: RatchetTree, cs: CiphersuiteImpl): Promise<string | undefined> {
  if (keyPackage.extensions.length > 0) return 'key package extensions'
  if (!(await usableHpkeKey(keyPackage.initKey, cs))) return 'an init key that is not a usable X25519 key'
  return leafRefusal(keyPackage.leafNode, tree, cs)
}

/** True when `key` is 32 bytes that HPKE encapsulates to (a low-order point yields an all-zero secret, which X25519 refuses). */
async function usableHpkeKey(key: Uint8Array, cs: CiphersuiteImpl): Promise<boolean> {
  if (key.length !== HPKE_KEY_LENGTH) return false
  try {
    await cs.hpke.seal(await cs.hpke.importPublicKey(key), new Uint8Array(0), new Uint8Array(0))
    return true
  } catch {
    return false
  }
}
