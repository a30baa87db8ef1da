import { describe, expect, it } from 'vitest'
import { encodeAppBody } from '../../src/group/app-body.js'
import { decodeGroupPayload, encodeGroupPayload } from '../../src/group/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { toHex } from '../../src/log/index.js'
import { appendRaw, invite, type Member, operationsOf, stateCopy, syncAll, text } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

/** A owns a group with B, C and D, everyone synced. */
async function fourMembers(): Promise<{ a: Member; b: Member; c: Member; d: Member; groupId: Uint8Array }> {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(member) as [Member, Member, Member, Member]
  const { id: groupId } = await a.manager.create()
  for (const m of [b, c, d]) await invite(a, m, groupId)
  await syncAll([a, b, c, d], groupId)
  return { a, b, c, d, groupId }
}

/** B rotates its key `rounds` times, each committed by the owner and synced among A, B and D while C is away. */
async function churnWithoutC(a: Member, b: Member, d: Member, groupId: Uint8Array, rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await b.manager.rotate(groupId)
    await syncAll([a, b, d], groupId)
  }
}

/** Kinds of the payloads in `author`'s log as `m` holds it (a typed body stays opaque: `typed`). */
const kindsOf = (m: Member, author: Member, groupId: Uint8Array): string[] =>
  operationsOf(m, author, groupId).flatMap((op) => (op.payload === undefined ? [] : [decodeGroupPayload(op.payload).kind]))

describe('a message written more than two epochs behind is sent again', () => {
  it('reaches every member exactly once, and its sender still sees one entry', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    const written = await c.manager.send(groupId, text('c: written while away'))
    await churnWithoutC(a, b, d, groupId)
    expect(a.manager.get(groupId)!.epoch - written.epoch).toBe(3)
    await syncAll([a, b, c, d], groupId)
    for (const m of [a, b, d]) {
      expect(m.texts(groupId)).toEqual(['c: written while away'])
      // Shown in the original's place: its seq and epoch.
      expect(m.manager.messages(groupId, { limit: 10 })[0]).toMatchObject({ seq: written.seq, epoch: written.epoch })
      // The original was unreadable (and stays recorded as such); the resend is not a rejection.
      expect(m.manager.rejected(groupId).map((r) => [r.code, r.seq])).toEqual([['MLS_WRONG_EPOCH', written.seq]])
    }
    expect(c.texts(groupId)).toEqual(['c: written while away'])
    expect(kindsOf(a, c, groupId).filter((k) => k === 'typed')).toHaveLength(1)
    // A restart and more passes send nothing more: the resend was decided once, with the commit.
    c.restart()
    await c.manager.processPending()
    await syncAll([a, b, c, d], groupId)
    expect(kindsOf(a, c, groupId).filter((k) => k === 'typed')).toHaveLength(1)
    for (const m of [a, b, c, d]) expect(m.texts(groupId)).toEqual(['c: written while away'])
    // Its author's deletion of the one entry removes it everywhere.
    await c.manager.deleteEntry(groupId, { messageId: c.manager.messages(groupId, { limit: 10 })[0]!.id })
    await syncAll([a, b, c, d], groupId)
    for (const m of [a, b, c, d]) expect(m.texts(groupId)).toEqual([])
  })

  it('the owner invites three while C is away: nothing is sent again, so the newcomers get nothing of before they joined', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    await c.manager.send(groupId, text('c: before the newcomers'))
    const newcomers = ['e', 'f', 'g'].map(member)
    for (const m of newcomers) {
      await invite(a, m, groupId)
      await syncAll([a, b, d, ...newcomers], groupId)
    }
    await syncAll([a, b, c, d, ...newcomers], groupId)
    // A resend would be encrypted for the newcomers too: the message stays lost for the others (a known limit).
    expect(kindsOf(a, c, groupId)).not.toContain('typed')
    expect(c.texts(groupId)).toEqual(['c: before the newcomers'])
    for (const m of [a, b, d, ...newcomers]) expect(m.texts(groupId)).toEqual([])
  })

  it('a member whose message the others read in time shows nothing twice', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    await c.manager.send(groupId, text('c: read in time'))
    await syncAll([a, b, c, d], groupId)
    await churnWithoutC(a, b, d, groupId)
    await syncAll([a, b, c, d], groupId)
    // C cannot tell that the others read it, so it sends it again; they drop the resend.
    expect(kindsOf(a, c, groupId).filter((k) => k === 'typed')).toHaveLength(1)
    for (const m of [a, b, c, d]) {
      expect(m.texts(groupId)).toEqual(['c: read in time'])
      expect(m.manager.rejected(groupId)).toEqual([])
    }
  })

  it('seven behind: sent again once, at the last epoch, where everyone reads it', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    await c.manager.send(groupId, text('c: seven behind'))
    await churnWithoutC(a, b, d, groupId, 7)
    await syncAll([a, b, c, d], groupId)
    expect(kindsOf(a, c, groupId).filter((k) => k === 'typed')).toHaveLength(1)
    for (const m of [a, b, c, d]) expect(m.texts(groupId)).toEqual(['c: seven behind'])
    for (const m of [a, b, d]) expect(m.manager.rejected(groupId)).toHaveLength(1)
  })

  it('two behind, not three: nothing is sent again', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    await c.manager.send(groupId, text('c: two behind'))
    await churnWithoutC(a, b, d, groupId, 2)
    await syncAll([a, b, c, d], groupId)
    expect(kindsOf(a, c, groupId)).not.toContain('typed')
    for (const m of [a, b, c, d]) expect(m.texts(groupId)).toEqual(['c: two behind'])
  })

  it('a malformed resend is GROUP_MALFORMED_PAYLOAD; a second resend of a message already shown is dropped', async () => {
    const { a, b, c, d, groupId } = await fourMembers()
    const shown = await c.manager.send(groupId, text('c: shown'))
    await syncAll([a, b, c, d], groupId)
    // C's own client writes resend bodies by hand, each with the next key of its state.
    let state = stateCopy(c, groupId)
    const epoch = Number(state.epoch)
    const write = async (body: Uint8Array): Promise<string> => {
      const encrypted = await state.encrypt(body)
      state = encrypted.group
      return toHex(appendRaw(c, groupId, encodeGroupPayload({ kind: 'typed', message: encrypted.message }), { epoch }).hash)
    }
    const tip = (): number => c.logs.heights(groupId).get(c.hex)!
    const bad = {
      ownSeq: await write(encodeAppBody({ type: 'resend', seq: tip() + 1, plaintext: text('names itself') })),
      later: await write(encodeAppBody({ type: 'resend', seq: tip() + 5, plaintext: text('names a later one') })),
      arity: await write(encodeCanonical([4, shown.seq])),
      seqText: await write(encodeCanonical([4, 'x', text('seq is text')])),
      dataText: await write(encodeCanonical([4, shown.seq, 'data is text'])),
      // [4, seq, h'00'] with the seq as a one-byte integer where the shortest form is the item itself.
      notCanonical: await write(new Uint8Array([0x83, 0x04, 0x18, shown.seq, 0x41, 0x00])),
    }
    expect(shown.seq).toBeLessThan(24)
    await write(encodeAppBody({ type: 'resend', seq: shown.seq, plaintext: text('c: shown') }))
    await write(encodeAppBody({ type: 'resend', seq: shown.seq, plaintext: text('c: shown, again') }))
    await syncAll([a, b, c, d], groupId)
    for (const m of [a, b, d]) {
      expect(m.texts(groupId)).toEqual(['c: shown'])
      const codes = Object.fromEntries(m.manager.rejected(groupId).map((r) => [toHex(r.hash), r.code]))
      expect(codes).toEqual(Object.fromEntries(Object.values(bad).map((hash) => [hash, 'GROUP_MALFORMED_PAYLOAD'])))
    }
  })
})
