// Shared fixtures for the mls-*.test.ts files (not a test file itself).
import { ed25519 } from '@noble/curves/ed25519.js'
import type { KeyPackage, LeafNodeKeyPackage } from 'ts-mls'
import { signKeyPackage } from 'ts-mls/keyPackage.js'
import { signLeafNodeKeyPackage } from 'ts-mls/leafNode.js'
import { expect } from 'vitest'
import { createGroup, createKeyPackage, joinFromWelcome, MlsError, type MlsGroup, type MlsIdentity, type Roster } from '../../src/group/mls/index.js'
import { decodeKeyPackage, encodeKeyPackage } from '../../src/group/mls/messages.js'
import { cipherSuite } from '../../src/group/mls/suite.js'

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A random Ed25519 identity. */
export function newIdentity(): MlsIdentity {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

/** A roster backed by a mutable set, so tests can strike members off. */
export function rosterOf(...ids: MlsIdentity[]): { roster: Roster; remove(id: MlsIdentity): void; add(id: MlsIdentity): void } {
  const keys = new Set(ids.map((i) => hex(i.publicKey)))
  return {
    roster: (identity) => keys.has(hex(identity)),
    remove: (id) => void keys.delete(hex(id.publicKey)),
    add: (id) => void keys.add(hex(id.publicKey)),
  }
}

/** Adds `joiner` to `owner`'s group; returns both new groups and the commit for the others. */
export async function addMember(owner: MlsGroup, joiner: MlsIdentity, roster: Roster): Promise<{ owner: MlsGroup; joined: MlsGroup; commit: Uint8Array }> {
  const kp = await createKeyPackage(joiner)
  const added = await owner.addMembers([kp.publicPackage])
  const joined = await joinFromWelcome(added.welcome, kp, joiner, roster)
  return { owner: added.group, joined, commit: added.commit }
}

/** Alice owns a group with Bob and Carol, all at the same epoch. */
export async function threeMembers(): Promise<{
  ids: { alice: MlsIdentity; bob: MlsIdentity; carol: MlsIdentity }
  roster: ReturnType<typeof rosterOf>
  alice: MlsGroup
  bob: MlsGroup
  carol: MlsGroup
}> {
  const ids = { alice: newIdentity(), bob: newIdentity(), carol: newIdentity() }
  const roster = rosterOf(ids.alice, ids.bob, ids.carol)
  let alice = await createGroup(text('group-1'), ids.alice, roster.roster)
  const withBob = await addMember(alice, ids.bob, roster.roster)
  alice = withBob.owner
  let bob = withBob.joined
  const withCarol = await addMember(alice, ids.carol, roster.roster)
  alice = withCarol.owner
  bob = (await bob.process(withCarol.commit)).group
  return { ids, roster, alice, bob, carol: withCarol.joined }
}

/** Sends `message` from `from` and checks `to` decrypts it; returns both new groups. */
export async function say(from: MlsGroup, to: MlsGroup, message: string): Promise<[MlsGroup, MlsGroup]> {
  const sent = await from.encrypt(text(message))
  const got = await to.process(sent.message)
  expect(got.kind).toBe('application')
  if (got.kind !== 'application') throw new Error('unreachable')
  expect(str(got.plaintext)).toBe(message)
  return [sent.group, got.group]
}

/** Runs `fn` and returns the typed MLS error it throws (fails the test otherwise). */
export async function mlsErrorOf(fn: () => Promise<unknown> | unknown): Promise<MlsError> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MlsError)
    return err as MlsError
  }
  throw new Error('expected an MLS error, got none')
}

/**
 * `publicPackage` (an encoded key package of `identity`) with `change` made
 * to it and to its leaf, signed again with the identity's key: what a
 * hostile invitee can hand over.
 */
export async function alteredKeyPackage(
  publicPackage: Uint8Array,
  identity: MlsIdentity,
  change: { leaf?: Partial<LeafNodeKeyPackage>; initKey?: Uint8Array; extensions?: KeyPackage['extensions'] },
): Promise<Uint8Array> {
  const { signature: _signature, leafNode, ...tbs } = decodeKeyPackage(publicPackage)
  const { signature: _leafSignature, ...leaf } = leafNode
  const s = (await cipherSuite()).signature
  const signedLeaf = await signLeafNodeKeyPackage({ ...leaf, ...change.leaf }, identity.seed, s)
  return encodeKeyPackage(await signKeyPackage({ ...tbs, ...(change.initKey ? { initKey: change.initKey } : {}), ...(change.extensions ? { extensions: change.extensions } : {}), leafNode: signedLeaf }, identity.seed, s))
}
