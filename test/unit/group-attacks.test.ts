// A malicious member writes validly signed operations into its own log:
// tampered ciphertexts, a commit although it is not the owner, someone
// else's ciphertext, malformed payloads. Each is recorded and skipped, and
// nothing else is lost.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeGroupPayload, type GroupPayload } from '../../src/group/index.js'
import { toHex } from '../../src/log/index.js'
import { appendRaw, deliver, invite, Member, stateCopy, syncAll, text } from '../helpers/group.js'

const open: Member[] = []
afterEach(() => {
  for (const m of open.splice(0)) m.close()
})

async function threeMembers(): Promise<{ a: Member; b: Member; c: Member; groupId: Uint8Array }> {
  const [a, b, c] = [new Member('a'), new Member('b'), new Member('c')]
  open.push(a, b, c)
  const { id: groupId } = await a.manager.create()
  await invite(a, b, groupId)
  await invite(a, c, groupId)
  await syncAll([a, b, c], groupId)
  return { a, b, c, groupId }
}

const payload = (p: GroupPayload): Uint8Array => encodeGroupPayload(p)

describe('group manager: malicious members', () => {
  it('a tampered MLS ciphertext inside a validly signed operation is recorded; later messages still decrypt', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const evil = await stateCopy(b, groupId).encrypt(text('evil'))
    const tail = evil.message.slice()
    tail[tail.length - 1]! ^= 0x01
    const middle = evil.message.slice()
    middle[Math.floor(middle.length / 2)]! ^= 0x80
    const t1 = appendRaw(b, groupId, payload({ kind: 'application', message: tail }), { epoch: 2 })
    const t2 = appendRaw(b, groupId, payload({ kind: 'application', message: middle }), { epoch: 2 })
    // B's real client uses the very generation the tampered copies claimed.
    await b.manager.send(groupId, text('b honest'))
    await a.manager.send(groupId, text('a honest'))
    await syncAll([a, b, c], groupId)
    for (const m of [a, c]) {
      const rejected = m.manager.rejected(groupId)
      expect(rejected.map((r) => toHex(r.hash)).sort()).toEqual([toHex(t1.hash), toHex(t2.hash)].sort())
      for (const r of rejected) expect(r.code).toMatch(/^MLS_(DECRYPT_FAILED|REJECTED)$/)
      expect(rejected.every((r) => toHex(r.author) === b.hex && r.epoch === 2)).toBe(true)
    }
    expect([...a.texts(groupId)].sort()).toEqual(['a honest', 'b honest'])
    expect([...c.texts(groupId)].sort()).toEqual(['a honest', 'b honest'])
    expect(c.texts(groupId)).not.toContain('evil')
  })

  it('a commit written by a non-owner member is rejected by everyone and changes nothing', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const forged = await stateCopy(b, groupId).commitPending()
    const op = appendRaw(b, groupId, payload({ kind: 'commit', commit: forged.commit, proposals: [] }), { epoch: 2 })
    await b.manager.send(groupId, text('b still talks'))
    await syncAll([a, b, c], groupId)
    for (const m of [a, c]) {
      expect(m.manager.rejected(groupId).map((r) => [toHex(r.hash), r.code])).toEqual([[toHex(op.hash), 'GROUP_NOT_FROM_OWNER']])
      expect(m.manager.get(groupId)?.epoch).toBe(2)
      expect(m.texts(groupId)).toEqual(['b still talks'])
    }
    await a.manager.rotate(groupId)
    await c.manager.send(groupId, text('c after the real commit'))
    await syncAll([a, b, c], groupId)
    expect(b.texts(groupId)).toContain('c after the real commit')
    expect(a.texts(groupId)).toContain('c after the real commit')
  })

  it("another member's ciphertext replayed in a malicious log is recorded; the real one still decrypts", async () => {
    const { a, b, c, groupId } = await threeMembers()
    const sent = await b.manager.send(groupId, text('from b'))
    const original = b.logs.operationsAfter(b.key, groupId, sent.seq - 1, 1)[0]!
    const replay = appendRaw(c, groupId, original.payload!, { epoch: 2 })
    await syncAll([a, b, c], groupId)
    expect(a.texts(groupId)).toEqual(['from b'])
    const rejected = a.manager.rejected(groupId)
    expect(rejected.map((r) => toHex(r.hash))).toEqual([toHex(replay.hash)])
    expect(rejected[0]!.code).toMatch(/^(GROUP_SENDER_MISMATCH|MLS_DECRYPT_FAILED)$/)
  })

  it('malformed payloads, missing epoch tags and stray welcomes or proposals are recorded with their codes', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await a.manager.rotate(groupId)
    await syncAll([a, b, c], groupId)
    const welcome = await stateCopy(a, groupId).encrypt(text('not a welcome'))
    const ops = {
      garbage: appendRaw(b, groupId, new Uint8Array([0xff, 0x00, 0x13]), { epoch: 3 }),
      unknownKind: appendRaw(b, groupId, new Uint8Array([0x82, 0x09, 0x41, 0x00]), { epoch: 3 }),
      noEpoch: appendRaw(b, groupId, payload({ kind: 'application', message: new Uint8Array([1, 2, 3]) })),
      strayWelcome: appendRaw(b, groupId, payload({ kind: 'welcome', welcome: welcome.message }), { epoch: 3 }),
      notMls: appendRaw(b, groupId, payload({ kind: 'application', message: new Uint8Array([1, 2, 3]) }), { epoch: 3 }),
      // Framing says epoch 3, the tag says 2 (still at or after when C joined).
      wrongTag: appendRaw(b, groupId, payload({ kind: 'application', message: (await stateCopy(b, groupId).encrypt(text('x'))).message }), { epoch: 2 }),
      kindMismatch: appendRaw(b, groupId, payload({ kind: 'proposal', proposal: (await stateCopy(b, groupId).encrypt(text('y'))).message }), { epoch: 3 }),
    }
    await b.manager.send(groupId, text('b after the junk'))
    await syncAll([a, b, c], groupId)
    const codes = (m: Member): Record<string, string> =>
      Object.fromEntries(m.manager.rejected(groupId).map((r) => [toHex(r.hash), r.code]))
    const expected = {
      [toHex(ops.garbage.hash)]: 'GROUP_MALFORMED_PAYLOAD',
      [toHex(ops.unknownKind.hash)]: 'GROUP_MALFORMED_PAYLOAD',
      [toHex(ops.noEpoch.hash)]: 'GROUP_EPOCH_MISMATCH',
      [toHex(ops.strayWelcome.hash)]: 'GROUP_NOT_FROM_OWNER',
      [toHex(ops.notMls.hash)]: 'MLS_MALFORMED',
      [toHex(ops.wrongTag.hash)]: 'GROUP_EPOCH_MISMATCH',
    }
    // The owner processes standalone proposals (and refuses this one); members skip them.
    expect(codes(a)).toEqual({ ...expected, [toHex(ops.kindMismatch.hash)]: 'GROUP_MALFORMED_PAYLOAD' })
    expect(codes(c)).toEqual(expected)
    for (const m of [a, c]) expect(m.texts(groupId)).toEqual(['b after the junk'])
  })

  it('operations tagged far ahead wait without being read again on every pass; they are not processed meanwhile', async () => {
    const { a, b, c, groupId } = await threeMembers()
    for (let i = 0; i < 3; i++) appendRaw(b, groupId, payload({ kind: 'application', message: new Uint8Array(64) }), { epoch: 2 ** 40 })
    await syncAll([a, b, c], groupId)
    const readsOfB: number[] = []
    for (const n of [1, 2]) {
      await a.manager.send(groupId, text(`a ${n}`))
      deliver(a, c, groupId, a)
      const reads = vi.spyOn(c.logs, 'operationsAfter')
      await c.manager.processPending()
      readsOfB.push(reads.mock.calls.filter(([author]) => toHex(author) === toHex(b.key)).length)
      reads.mockRestore()
    }
    expect(readsOfB).toEqual([0, 0])
    expect(c.texts(groupId)).toEqual(['a 1', 'a 2'])
  })

  it('an author skipped for a tag one ahead wakes as soon as the commit it waits for is applied (honest order, three rounds)', async () => {
    const { a, b, c, groupId } = await threeMembers()
    for (let round = 0; round < 3; round++) {
      await a.manager.rotate(groupId)
      deliver(a, b, groupId, a)
      await b.manager.processPending()
      await b.manager.send(groupId, text(`b ${round}`))
      deliver(b, c, groupId, b)
      // B's message is one epoch ahead of C: skipped, twice.
      await c.manager.processPending()
      await c.manager.processPending()
      deliver(a, c, groupId, a)
      await c.manager.processPending()
    }
    expect(c.texts(groupId)).toEqual(['b 0', 'b 1', 'b 2'])
  })
})
