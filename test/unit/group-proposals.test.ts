// A hostile member writes into its own log MLS proposals that only the
// owner may make: add someone, remove someone else, ReInit (which would end
// the group for everyone), ExternalInit, PreSharedKey, GroupContextExtensions
// and a custom type. The owner commits members' proposals automatically, so
// each must be refused from the proposal itself, recorded, and leave the
// owner's MLS state exactly as it was; everyone can still send and the owner
// can still invite.
import { randomBytes } from 'node:crypto'
import { createProposal, encodeMlsMessage, type ClientState, type Proposal } from 'ts-mls'
import { describe, expect, it } from 'vitest'
import { encodeGroupPayload, createKeyPackage, MLS_CIPHERSUITE } from '../../src/group/index.js'
import { RosterAuthService, leafIdentity } from '../../src/group/mls/credential.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { bytesEqual, toHex } from '../../src/log/index.js'
import { appendRaw, invite, newIdentity, stateCopy, syncAll, text, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

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
]

const stateOf = (m: Member, groupId: Uint8Array): string =>
  toHex((m.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }).state)

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

    // Everyone still sends and reads, and the owner still invites.
    for (const m of [a, b, c]) await m.manager.send(groupId, text(`after from ${m.name}`))
    const d = member('d')
    await invite(a, d, groupId)
    await syncAll([a, b, c, d], groupId)
    await d.manager.send(groupId, text('after from d'))
    await syncAll([a, b, c, d], groupId)
    for (const m of [a, b, c]) {
      expect(m.manager.get(groupId)).toMatchObject({ active: true, epoch: 3 })
      expect(m.texts(groupId).sort()).toEqual(['after from a', 'after from b', 'after from c', 'after from d'])
    }
    expect(d.texts(groupId)).toEqual(['after from d'])
    for (const m of [b, c, d]) expect(m.manager.rejected(groupId)).toEqual([])
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
