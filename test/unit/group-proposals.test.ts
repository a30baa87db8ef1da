// A hostile member writes into its own log MLS proposals that only the
// owner may make: add someone, remove someone else, ReInit (which would end
// the group for everyone), ExternalInit, PreSharedKey, GroupContextExtensions
// and a custom type; or an update of its own leaf that the leaf policy
// refuses. The owner commits members' proposals automatically, so each must
// be refused from the proposal itself, recorded, and leave the owner's MLS
// state exactly as it was; everyone can still send, the owner can still
// invite, and every member reads the owner's next commit (no split). A
// hostile invitee's key package is held to the same leaf policy.
import { randomBytes } from 'node:crypto'
import { createProposal, encodeMlsMessage, type ClientState, type LeafNodeUpdate, type Proposal } from 'ts-mls'
import { getOwnLeafNode } from 'ts-mls/clientState.js'
import { signWithLabel } from 'ts-mls/crypto/signature.js'
import { encodeLeafNodeTBS } from 'ts-mls/leafNode.js'
import { describe, expect, it } from 'vitest'
import { encodeGroupPayload, createKeyPackage, MLS_CIPHERSUITE } from '../../src/group/index.js'
import { RosterAuthService, leafIdentity } from '../../src/group/mls/credential.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { bytesEqual, toHex } from '../../src/log/index.js'
import { appendRaw, deliver, invite, newIdentity, stateCopy, syncAll, text, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'
import { alteredKeyPackage } from './mls-helpers.js'

const member = trackedMembers()
/** `to` gets what `from` wrote of the group. */
const deliverTo = (to: Member, from: Member, groupId: Uint8Array): void => void deliver(from, to, groupId, from)

/** A owns a group with B and C, everyone synced (epoch 2). */
async function threeMembers(): Promise<{ a: Member; b: Member; c: Member; groupId: Uint8Array }> {
  const [a, b, c] = [member('a'), member('b'), member('c')]
  const { id: groupId } = await a.manager.create()
  await invite(a, b, groupId)
  await invite(a, c, groupId)
  await syncAll([a, b, c], groupId)
  return { a, b, c, groupId }
}

/** `m`'s ts-mls state as stored, with its signing key: a hostile client can sign any proposal with it. */
function clientStateOf(m: Member, groupId: Uint8Array): ClientState {
  const row = m.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }
  const { state } = decodeStoredGroup(new Uint8Array(row.state))
  return { ...state, signaturePrivateKey: m.identity.seed.slice(), clientConfig: clientConfig(new RosterAuthService(() => true)) }
}

function leafIndexOf(state: ClientState, identity: Uint8Array): number {
  const at = state.ratchetTree.findIndex((node) => node?.nodeType === 'leaf' && bytesEqual(leafIdentity(node.leaf) ?? new Uint8Array(), identity))
  if (at < 0) throw new Error('not a member')
  return at / 2
}

/** The HPKE key of `identity`'s leaf in `state`'s tree. */
function hpkeKeyOf(state: ClientState, identity: Uint8Array): Uint8Array {
  const node = state.ratchetTree[2 * leafIndexOf(state, identity)]
  if (node?.nodeType !== 'leaf') throw new Error('not a leaf')
  return node.leaf.hpkePublicKey
}

/** What a hostile leaf changes from an honest one. */
type LeafChange = Partial<Pick<LeafNodeUpdate, 'hpkePublicKey' | 'capabilities' | 'extensions'>>

/** Of at least {@link LeafChange}, `change`s that each break one rule of the leaf policy (mls/leaf-policy.ts). */
const hostileLeaves: [string, (ctx: { state: ClientState; other: Uint8Array }) => LeafChange][] = [
  ["another member's HPKE key", ({ state, other }) => ({ hpkePublicKey: hpkeKeyOf(state, other) })],
  ['no support for basic credentials', ({ state }) => ({ capabilities: { ...getOwnLeafNode(state).capabilities, credentials: ['x509'] } })],
  ['the all-zero HPKE key (a low-order X25519 point)', () => ({ hpkePublicKey: new Uint8Array(32) })],
  [
    'more than 1 KiB (an extension it lists in its capabilities)',
    ({ state }) => {
      const capabilities = getOwnLeafNode(state).capabilities
      return { capabilities: { ...capabilities, extensions: [...capabilities.extensions, 0xf0a2] }, extensions: [{ extensionType: 0xf0a2, extensionData: randomBytes(2048) }] }
    },
  ],
]

/** An update of `state`'s own leaf, with a fresh HPKE key and `change` made to it, signed with its key as a hostile member can. */
async function updateWith(state: ClientState, change: LeafChange): Promise<Proposal> {
  const cs = await cipherSuite()
  const own = getOwnLeafNode(state)
  const tbs = {
    hpkePublicKey: await cs.hpke.exportPublicKey((await cs.hpke.generateKeyPair()).publicKey),
    signaturePublicKey: own.signaturePublicKey,
    credential: own.credential,
    capabilities: own.capabilities,
    extensions: own.extensions,
    ...change,
    leafNodeSource: 'update' as const,
    groupId: state.groupContext.groupId,
    leafIndex: state.privatePath.leafIndex,
  }
  const signature = await signWithLabel(state.signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(tbs), cs.signature)
  const { groupId: _groupId, leafIndex: _leafIndex, ...leaf } = tbs
  return { proposalType: 'update', update: { leafNode: { ...leaf, signature } } }
}

/** Signs and encrypts `proposal` with `m`'s keys (a PrivateMessage, as Burrow members send), and appends it to `m`'s log like GroupManager does. */
async function writeProposal(m: Member, groupId: Uint8Array, proposal: Proposal): Promise<Uint8Array> {
  const state = clientStateOf(m, groupId)
  const { message } = await createProposal(state, false, proposal, await cipherSuite())
  const op = appendRaw(m, groupId, encodeGroupPayload({ kind: 'proposal', proposal: encodeMlsMessage(message) }), { epoch: Number(state.groupContext.epoch) })
  return op.hash
}

type Forge = (ctx: { c: Member; state: ClientState }) => Promise<Proposal> | Proposal

const forbidden: [string, Forge][] = [
  ['add of an outsider', async () => ({ proposalType: 'add', add: { keyPackage: decodeKeyPackage((await createKeyPackage(newIdentity())).publicPackage) } })],
  ['remove of another member', ({ c, state }) => ({ proposalType: 'remove', remove: { removed: leafIndexOf(state, c.key) } })],
  ['ReInit', () => ({ proposalType: 'reinit', reinit: { groupId: randomBytes(32), version: 'mls10', cipherSuite: MLS_CIPHERSUITE, extensions: [] } })],
  ['ExternalInit', () => ({ proposalType: 'external_init', externalInit: { kemOutput: randomBytes(32) } })],
  ['PreSharedKey', () => ({ proposalType: 'psk', psk: { preSharedKeyId: { psktype: 'external', pskId: randomBytes(16), pskNonce: randomBytes(32) } } })],
  [
    'GroupContextExtensions',
    () => ({ proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [{ extensionType: 0xf0a0, extensionData: randomBytes(8) }] } }),
  ],
  ['a custom proposal type', () => ({ proposalType: 0xf0a1, proposalData: randomBytes(16) })],
  ...hostileLeaves.map(([name, change]): [string, Forge] => [`an update of its own leaf with ${name}`, ({ c, state }) => updateWith(state, change({ state, other: c.key }))]),
]

const stateOf = (m: Member, groupId: Uint8Array): string =>
  toHex((m.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }).state)

/**
 * The group of owner `a` and `members` is whole: everyone sends and reads, the
 * owner invites a new member, then commits a key rotation (a commit with a
 * path, which members check against the tree) that every member applies.
 */
async function stillWhole(a: Member, members: readonly Member[], groupId: Uint8Array): Promise<void> {
  const epoch = a.manager.get(groupId)!.epoch
  for (const m of [a, ...members]) await m.manager.send(groupId, text(`after from ${m.name}`))
  const d = member('d')
  await invite(a, d, groupId)
  await syncAll([a, ...members, d], groupId)
  await d.manager.send(groupId, text('after from d'))
  await a.manager.rotate(groupId)
  await a.manager.send(groupId, text('owner after'))
  await syncAll([a, ...members, d], groupId)
  const all = [...members, a].map((m) => `after from ${m.name}`)
  for (const m of [a, ...members]) {
    expect(m.manager.get(groupId)).toMatchObject({ active: true, epoch: epoch + 2 })
    expect(m.texts(groupId).sort()).toEqual([...all, 'after from d', 'owner after'].sort())
  }
  expect(d.texts(groupId)).toEqual(['after from d', 'owner after'])
  for (const m of [...members, d]) expect(m.manager.rejected(groupId)).toEqual([])
}

describe('group manager: members may only update their own key or leave', () => {
  it.each(forbidden)('the owner refuses %s from a member, records it, and nothing changes', async (_name, forge) => {
    const { a, b, c, groupId } = await threeMembers()
    const hash = await writeProposal(b, groupId, await forge({ c, state: clientStateOf(b, groupId) }))
    const ownerStateBefore = stateOf(a, groupId)

    await syncAll([a, b, c], groupId)
    expect(a.manager.rejected(groupId).map((r) => [toHex(r.hash), r.code, r.author && toHex(r.author)])).toEqual([[toHex(hash), 'GROUP_PROPOSAL_REFUSED', b.hex]])
    // No commit was made for it: the owner's MLS state is byte for byte what it was, and nobody moved on.
    expect(stateOf(a, groupId)).toBe(ownerStateBefore)
    for (const m of [a, b, c]) expect(m.manager.get(groupId)).toMatchObject({ active: true, epoch: 2 })

    await stillWhole(a, [b, c], groupId)
  })

  it("a member's own update and leave are still committed", async () => {
    const { a, b, c, groupId } = await threeMembers()
    await b.manager.rotate(groupId)
    await syncAll([a, b, c], groupId)
    await c.manager.leave(groupId)
    await syncAll([a, b, c], groupId)
    expect(a.manager.rejected(groupId)).toEqual([])
    expect(a.manager.get(groupId)).toMatchObject({ epoch: 4, members: [a.key, b.key].sort(Buffer.compare) })
    expect(c.manager.get(groupId)?.active).toBe(false)
    await b.manager.send(groupId, text('b after'))
    await syncAll([a, b], groupId)
    expect(a.texts(groupId)).toEqual(['b after'])
  })

  it('a member proposing again in every epoch does not keep another member\'s proposal from being committed', async () => {
    const { a, b, c, groupId } = await threeMembers()
    // The one the owner turned to first by key, proposing again each time its update is committed.
    const [pushy, patient] = toHex(b.key) < toHex(c.key) ? [b, c] : [c, b]
    const oneRound = async (): Promise<void> => {
      await pushy.manager.rotate(groupId)
      for (const m of [pushy, patient]) deliverTo(a, m, groupId)
      await a.manager.processPending()
      for (const m of [pushy, patient]) {
        deliverTo(m, a, groupId)
        await m.manager.processPending()
      }
    }
    await patient.manager.rotate(groupId)
    await oneRound()
    expect(patient.manager.get(groupId)?.pendingProposal).toBe('update')
    // Left out once, asked again at the next epoch: its turn comes before the member just served.
    await oneRound()
    expect(patient.manager.get(groupId)?.pendingProposal).toBeNull()
    await patient.manager.send(groupId, text('patient after'))
    await syncAll([a, b, c], groupId)
    expect(a.texts(groupId)).toEqual(['patient after'])
  })

  it('a commit written by a member is refused (members never commit)', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const forged = await stateCopy(b, groupId).commitPending()
    const op = appendRaw(b, groupId, encodeGroupPayload({ kind: 'commit', commit: forged.commit, proposals: [] }), { epoch: 2 })
    await syncAll([a, b, c], groupId)
    for (const m of [a, c]) {
      expect(m.manager.rejected(groupId).map((r) => [toHex(r.hash), r.code])).toEqual([[toHex(op.hash), 'GROUP_NOT_FROM_OWNER']])
      expect(m.manager.get(groupId)).toMatchObject({ active: true, epoch: 2 })
    }
  })
})

describe('group manager: the owner holds invitees to the leaf policy', () => {
  it.each(hostileLeaves)("an invitee's key package whose leaf has %s is refused, naming the invitee; nothing changes", async (_name, change) => {
    const { a, b, c, groupId } = await threeMembers()
    const m = member('m')
    const honest = await m.manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    const hostile = await alteredKeyPackage(honest, m.identity, { leaf: change({ state: clientStateOf(a, groupId), other: c.key }) })
    const ownerStateBefore = stateOf(a, groupId)

    await expect(a.manager.invite(groupId, m.key, hostile)).rejects.toMatchObject({
      code: 'GROUP_INVALID_ARGUMENT',
      message: expect.stringMatching(new RegExp(`^the key package of ${m.hex.slice(0, 16)} is refused: `)),
    })
    expect(stateOf(a, groupId)).toBe(ownerStateBefore)
    expect(a.manager.get(groupId)).toMatchObject({ epoch: 2, members: [a.key, b.key, c.key].sort(Buffer.compare) })
    await stillWhole(a, [b, c], groupId)
  })

  it('a key package whose init key is the all-zero X25519 point is refused', async () => {
    const { a, groupId } = await threeMembers()
    const m = member('m')
    const honest = await m.manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    const hostile = await alteredKeyPackage(honest, m.identity, { initKey: new Uint8Array(32) })
    await expect(a.manager.invite(groupId, m.key, hostile)).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT', message: expect.stringMatching(/an init key that is not a usable X25519 key$/) })
  })
})
