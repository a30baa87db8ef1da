import { describe, expect, it } from 'vitest'
import { type GroupMessage } from '../../src/group/index.js'
import { toHex } from '../../src/log/index.js'
import { deliver, invite, Member, str, syncAll, text } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

const hexes = (keys: Uint8Array[]): string[] => keys.map(toHex).sort()

/** A owns a group with B and C, everyone synced. */
async function threeMembers(): Promise<{ a: Member; b: Member; c: Member; groupId: Uint8Array }> {
  const a = member('a')
  const b = member('b')
  const c = member('c')
  const { id: groupId } = await a.manager.create({ name: 'friends' })
  await invite(a, b, groupId)
  await invite(a, c, groupId)
  await syncAll([a, b, c], groupId)
  return { a, b, c, groupId }
}

describe('group manager: three members', () => {
  it('creates, invites, and every message decrypts exactly once in every local view', async () => {
    const { a, b, c, groupId } = await threeMembers()
    for (const m of [a, b, c]) {
      const info = m.manager.get(groupId)
      expect(info?.active).toBe(true)
      expect(info?.epoch).toBe(2)
      expect(hexes(info!.members)).toEqual(hexes([a.key, b.key, c.key]))
      expect(toHex(info!.owner)).toBe(a.hex)
      expect(info!.isOwner).toBe(m === a)
    }
    expect(a.manager.get(groupId)?.name).toBe('friends')
    // The owner's name for the group reaches the members (an MLS-encrypted setting in its log).
    expect(b.manager.get(groupId)).toMatchObject({ name: 'friends', sharedName: 'friends', status: 'active' })

    const seen: GroupMessage[] = []
    c.manager.on('message', (m) => seen.push(m))
    await a.manager.send(groupId, text('hello from a'))
    await b.manager.send(groupId, text('hello from b'))
    await c.manager.send(groupId, text('hello from c'))
    await b.manager.send(groupId, text('second from b'))
    await syncAll([a, b, c], groupId)
    // Processing again changes nothing (idempotent).
    for (const m of [a, b, c]) expect((await m.manager.processPending()).messages).toBe(0)

    const all = ['hello from a', 'hello from b', 'hello from c', 'second from b'].sort()
    for (const m of [a, b, c]) {
      expect([...m.texts(groupId)].sort()).toEqual(all)
      expect(m.manager.rejected(groupId)).toEqual([])
    }
    // C's listener saw its own message and the three others, once each.
    expect(seen.map((m) => str(m.plaintext)).sort()).toEqual(all)
    const fromB = c.manager.messages(groupId).filter((m) => toHex(m.author) === b.hex)
    expect(fromB.map((m) => str(m.plaintext))).toEqual(['hello from b', 'second from b'])
    expect(fromB.every((m) => m.epoch === 2)).toBe(true)
  })

  it('pages the local view by id', async () => {
    const { a, groupId } = await threeMembers()
    for (let i = 0; i < 5; i++) await a.manager.send(groupId, text(`m${i}`))
    const first = a.manager.messages(groupId, { limit: 2 })
    expect(first.map((m) => str(m.plaintext))).toEqual(['m0', 'm1'])
    const rest = a.manager.messages(groupId, { afterId: first[1]!.id })
    expect(rest.map((m) => str(m.plaintext))).toEqual(['m2', 'm3', 'm4'])
  })

  it('only the owner invites and removes', async () => {
    const { b, c, groupId } = await threeMembers()
    await expect(b.manager.remove(groupId, c.key)).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
    await expect(b.manager.invite(groupId, c.key, new Uint8Array(10))).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
  })
})

describe('group manager: removal and late joiners', () => {
  it('a removed member cannot read later messages, learns of its removal, then stops being shared with', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const removed: { groupId: Uint8Array; how: string }[] = []
    c.manager.on('removed', (e) => removed.push(e))
    await a.manager.remove(groupId, c.key)
    await a.manager.send(groupId, text('after removal'))
    // C still gets everything (as an eavesdropper would), but cannot read it.
    await syncAll([a, b, c], groupId)
    expect(removed.map((e) => [toHex(e.groupId), e.how])).toEqual([[toHex(groupId), 'removed']])
    expect(c.manager.get(groupId)).toMatchObject({ active: false, status: 'removed' })
    expect(c.texts(groupId)).not.toContain('after removal')
    expect(b.texts(groupId)).toContain('after removal')
    expect(hexes(b.manager.members(groupId))).toEqual(hexes([a.key, b.key]))
    await expect(c.manager.send(groupId, text('still here?'))).rejects.toMatchObject({ code: 'GROUP_INACTIVE', message: expect.stringContaining('removed') })
    // A and B still hand C the owner's log up to the commit that removed it, and nothing else.
    // A's last two operations: the commit that removed C, then 'after removal'.
    const removal = a.logs.operationsAfter(a.key, groupId, -1, 100).at(-2)!
    for (const m of [a, b]) {
      expect(m.manager.mayShare(c.key, groupId)).toBe(true)
      expect(m.manager.sharedLogs(c.key).map(toHex)).toEqual([toHex(groupId)])
      const limit = m.manager.shareLimit(c.key, groupId)!
      expect([...limit.sendUpTo]).toEqual([[a.hex, removal.header.seq]])
    }
    expect(a.manager.shareLimit(b.key, groupId)).toBeUndefined()
    // C, removed, shares the log with nobody.
    expect(c.manager.mayShare(a.key, groupId)).toBe(false)
    expect(c.manager.sharedLogs(a.key)).toEqual([])
  })

  it('a late joiner cannot read earlier messages but reads everything after it joined', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await a.manager.send(groupId, text('before d'))
    await b.manager.send(groupId, text('b before d'))
    await syncAll([a, b, c], groupId)
    const d = member('d')
    await invite(a, d, groupId)
    await b.manager.send(groupId, text('b at old epoch, sent before b saw the add'))
    await syncAll([a, b, c, d], groupId)
    await b.manager.send(groupId, text('welcome d'))
    await syncAll([a, b, c, d], groupId)
    expect(d.texts(groupId)).toEqual(['welcome d'])
    // D skips what it cannot read without recording it as an attack.
    expect(d.manager.rejected(groupId)).toEqual([])
    expect(c.texts(groupId)).toContain('b at old epoch, sent before b saw the add')
    expect(hexes(d.manager.members(groupId))).toEqual(hexes([a.key, b.key, c.key, d.key]))
  })
})

describe('group manager: ordering', () => {
  it("buffers a message of the next epoch until the owner's commit arrives", async () => {
    const { a, b, c, groupId } = await threeMembers()
    await a.manager.rotate(groupId) // commit: epoch 2 -> 3
    deliver(a, b, groupId, a)
    await b.manager.processPending()
    expect(b.manager.get(groupId)?.epoch).toBe(3)
    await b.manager.send(groupId, text('b at epoch 3'))
    // C gets B's log first: the message waits.
    deliver(b, c, groupId, b)
    await c.manager.processPending()
    expect(c.texts(groupId)).toEqual([])
    expect(c.manager.get(groupId)?.epoch).toBe(2)
    expect(c.manager.rejected(groupId)).toEqual([])
    deliver(a, c, groupId, a)
    const summary = await c.manager.processPending()
    expect(summary).toMatchObject({ commits: 1, messages: 1, rejected: 0 })
    expect(c.texts(groupId)).toEqual(['b at epoch 3'])
  })

  it('the Welcome may arrive before other members\u2019 earlier logs', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await b.manager.send(groupId, text('b early'))
    const d = member('d')
    await invite(a, d, groupId)
    // D first gets only A's log (commits, then its Welcome), then B's older log.
    deliver(a, d, groupId, a)
    expect((await d.manager.processPending()).joined).toBe(1)
    deliver(b, d, groupId, b)
    await d.manager.processPending()
    expect(d.texts(groupId)).toEqual([])
    await syncAll([a, b, c, d], groupId)
    await c.manager.send(groupId, text('c for all'))
    await syncAll([a, b, c, d], groupId)
    expect(d.texts(groupId)).toEqual(['c for all'])
    expect(d.manager.rejected(groupId)).toEqual([])
  })
})

describe('group manager: proposals', () => {
  it("a member's key update is committed by the owner automatically and everyone keeps talking", async () => {
    const { a, b, c, groupId } = await threeMembers()
    await b.manager.rotate(groupId)
    // MLS refuses to encrypt while B's own proposal waits for a commit.
    await expect(b.manager.send(groupId, text('too early'))).rejects.toMatchObject({ code: 'GROUP_PROPOSAL_PENDING' })
    deliver(b, a, groupId, b)
    const ownerRun = await a.manager.processPending()
    expect(ownerRun.commits).toBe(1)
    expect(a.manager.get(groupId)?.epoch).toBe(3)
    // C never saw B's log: the proposal travels in the commit's bundle.
    deliver(a, c, groupId, a)
    await c.manager.processPending()
    expect(c.manager.get(groupId)?.epoch).toBe(3)
    deliver(a, b, groupId, a)
    await b.manager.processPending()
    expect(b.manager.get(groupId)?.epoch).toBe(3)
    await b.manager.send(groupId, text('b after update'))
    await c.manager.send(groupId, text('c after update'))
    await a.manager.send(groupId, text('a after update'))
    await syncAll([a, b, c], groupId)
    for (const m of [a, b, c]) {
      expect([...m.texts(groupId)].sort()).toEqual(['a after update', 'b after update', 'c after update'])
      expect(m.manager.rejected(groupId)).toEqual([])
    }
  })

  it('a member leaves; a proposal the owner could not include is made again for the next epoch', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const d = member('d')
    await invite(a, d, groupId)
    await syncAll([a, b, c, d], groupId)
    // B and D propose in the same epoch; the owner commits B's first, and D's
    // (now from a past epoch) cannot be committed any more.
    await b.manager.rotate(groupId)
    await d.manager.leave(groupId)
    deliver(b, a, groupId, b)
    await a.manager.processPending()
    deliver(d, a, groupId, d)
    await a.manager.processPending()
    expect(a.manager.rejected(groupId).map((r) => r.code)).toEqual(['MLS_WRONG_EPOCH'])
    // D sees the commit without its proposal and asks again; then it is out.
    await syncAll([a, b, c, d], groupId)
    expect(d.manager.get(groupId)?.active).toBe(false)
    for (const m of [a, b, c]) expect(hexes(m.manager.members(groupId))).toEqual(hexes([a.key, b.key, c.key]))
    await b.manager.send(groupId, text('without d'))
    await syncAll([a, b, c, d], groupId)
    expect(c.texts(groupId)).toEqual(['without d'])
    expect(d.texts(groupId)).toEqual([])
    await expect(a.manager.leave(groupId)).rejects.toMatchObject({ code: 'GROUP_OWNER_CANNOT_LEAVE' })
  })
})

describe('group manager: restarts', () => {
  it('a member restarted between epochs keeps its groups, sends and decrypts', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await a.manager.send(groupId, text('epoch 2'))
    await a.manager.rotate(groupId)
    await a.manager.send(groupId, text('epoch 3'))
    deliver(a, b, groupId)
    b.restart()
    expect(b.manager.get(groupId)?.epoch).toBe(2)
    await b.manager.processPending()
    expect(b.texts(groupId)).toEqual(['epoch 2', 'epoch 3'])
    b.restart()
    a.restart()
    await b.manager.send(groupId, text('b after restart'))
    await a.manager.send(groupId, text('a after restart'))
    const d = member('d')
    await invite(a, d, groupId)
    await syncAll([a, b, c, d], groupId)
    for (const m of [a, c]) expect(m.texts(groupId)).toContain('b after restart')
    expect(b.texts(groupId)).toContain('a after restart')
    d.restart()
    await b.manager.send(groupId, text('b to d'))
    await syncAll([a, b, c, d], groupId)
    expect(d.texts(groupId)).toEqual(['b to d'])
    expect(b.manager.list().map((g) => toHex(g.id))).toEqual([toHex(groupId)])
    for (const m of [a, b, c, d]) expect(m.manager.rejected(groupId)).toEqual([])
  })
})

describe('group manager: restarts with a proposal pending', () => {
  it('a member restarted while its update waits still recognises it in the commit bundle', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await b.manager.rotate(groupId)
    b.restart()
    await expect(b.manager.send(groupId, text('x'))).rejects.toMatchObject({ code: 'GROUP_PROPOSAL_PENDING' })
    deliver(b, a, groupId, b)
    await a.manager.processPending()
    a.restart()
    deliver(a, b, groupId, a)
    await b.manager.processPending()
    expect(b.manager.get(groupId)?.epoch).toBe(3)
    // Its log holds exactly one proposal: the bundle carried it, nothing was proposed again.
    expect(b.logs.heights(groupId).get(b.hex)).toBe(0)
    await b.manager.send(groupId, text('b rotated'))
    await a.manager.send(groupId, text('a after restart'))
    await syncAll([a, b, c], groupId)
    for (const m of [a, c]) expect(m.texts(groupId)).toContain('b rotated')
    expect(b.texts(groupId)).toContain('a after restart')
    for (const m of [a, b, c]) expect(m.manager.rejected(groupId)).toEqual([])
  })
})

describe('group manager: API edges', () => {
  it('emits joined, changed and appended events', async () => {
    const [a, b] = [member('a'), member('b')]
    const { id: groupId } = await a.manager.create()
    const appended: number[] = []
    const changed: number[] = []
    a.manager.on('appended', (ops) => appended.push(...ops.map((op) => op.header.seq)))
    a.manager.on('changed', (e) => changed.push(e.epoch))
    const joined: string[] = []
    b.manager.on('joined', (info) => joined.push(toHex(info.id)))
    await invite(a, b, groupId)
    expect(appended).toEqual([0, 1]) // the commit, then the Welcome
    expect(changed).toEqual([1])
    deliver(a, b, groupId)
    await b.manager.processPending()
    expect(joined).toEqual([toHex(groupId)])
    await a.manager.send(groupId, text('x'))
    expect(appended).toEqual([0, 1, 2])
  })

  it('refuses a key package that is not the invitee\u2019s, and leaves the group as it was', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')]
    const { id: groupId } = await a.manager.create()
    const cPackage = await c.manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    await expect(a.manager.invite(groupId, b.key, cPackage)).rejects.toMatchObject({ code: 'MLS_UNAUTHORIZED' })
    await expect(a.manager.invite(groupId, b.key, new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'MLS_MALFORMED' })
    expect(a.manager.get(groupId)?.epoch).toBe(0)
    expect(a.logs.counts().operations).toBe(0)
    await invite(a, b, groupId)
    await expect(invite(a, b, groupId)).rejects.toMatchObject({ code: 'GROUP_ALREADY_A_MEMBER' })
    expect(a.manager.get(groupId)?.epoch).toBe(1)
  })

  it('renames, and reports unknown groups and bad arguments with typed errors', async () => {
    const a = member('a')
    const { id: groupId } = await a.manager.create({ name: 'old' })
    await a.manager.rename(groupId, 'new')
    expect(a.manager.get(groupId)?.name).toBe('new')
    expect(a.manager.list().map((g) => g.name)).toEqual(['new'])
    const unknown = new Uint8Array(32)
    expect(a.manager.get(unknown)).toBeUndefined()
    await expect(a.manager.send(unknown, text('x'))).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' })
    expect(() => a.manager.messages(unknown)).toThrow(expect.objectContaining({ code: 'GROUP_NOT_FOUND' }))
    expect(() => a.manager.messages(groupId, { limit: 0 })).toThrow(expect.objectContaining({ code: 'GROUP_INVALID_ARGUMENT' }))
    await expect(a.manager.remove(groupId, new Uint8Array(5))).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    await expect(a.manager.remove(groupId, new Uint8Array(32))).rejects.toMatchObject({ code: 'GROUP_NOT_A_MEMBER' })
    await expect(a.manager.createKeyPackage(new Uint8Array(3), a.key, new Uint8Array(32))).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    await expect(a.manager.createKeyPackage(groupId, a.key, new Uint8Array(31))).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
  })
})
