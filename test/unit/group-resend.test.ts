import { describe, expect, it } from 'vitest'
import { encodeAppBody } from '../../src/group/app-body.js'
import { encodeGroupPayload } from '../../src/group/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { toHex } from '../../src/log/index.js'
import { appendRaw, invite, type Member, stateCopy, syncAll, text } from '../helpers/group.js'
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

describe('a message sent again (typed body 4)', () => {
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
