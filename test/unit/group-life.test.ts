/**
 * The life of a group in the group layer: leaving, being removed and told,
 * being invited again, the owner's shared name, and what a rotation did.
 * "Sync" is direct copying (helpers/group.ts) except where the departed
 * member's partial share is under test: there real sync sessions run over
 * in-memory channels with the group layer's policy.
 */
import { describe, expect, it } from 'vitest'
import { encodeGroupPayload, type GroupManager } from '../../src/group/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { fromHex, toHex } from '../../src/log/index.js'
import { storeForPeer, SyncSession, type SharePolicy } from '../../src/net/sync/index.js'
import { channelPair } from '../helpers/channel.js'
import { appendRaw, deliver, invite, manualClock, stateCopy, syncAll, text, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

async function threeMembers(name = 'friends'): Promise<{ a: Member; b: Member; c: Member; groupId: Uint8Array }> {
  const [a, b, c] = [member('a'), member('b'), member('c')]
  const { id: groupId } = await a.manager.create({ name })
  await invite(a, b, groupId)
  await invite(a, c, groupId)
  await syncAll([a, b, c], groupId)
  return { a, b, c, groupId }
}

/** The sync policy a node builds over its group manager (node/wiring.ts), with peers named by their identity key in hex. */
function policyOf(manager: GroupManager): SharePolicy {
  return {
    sharedLogs: (peer) => manager.sharedLogs(fromHex(peer)),
    mayShare: (peer, logId) => manager.mayShare(fromHex(peer), logId),
    limit: (peer, logId) => manager.shareLimit(fromHex(peer), logId),
  }
}

/** Runs one sync session between `x` and `y` over an in-memory channel until both caught up on `logId` (or `ms` passed), then closes it. */
async function syncSession(x: Member, y: Member, logId: Uint8Array, ms = 5_000): Promise<void> {
  const [chX, chY] = channelPair()
  const sessions = [
    new SyncSession({ peer: y.hex, channel: chX, store: storeForPeer(x.logs, policyOf(x.manager), y.hex), policy: policyOf(x.manager) }),
    new SyncSession({ peer: x.hex, channel: chY, store: storeForPeer(y.logs, policyOf(y.manager), x.hex), policy: policyOf(y.manager) }),
  ]
  const caughtUp = sessions.map(
    (s) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        s.on('caught-up', ({ logId: l }) => {
          if (toHex(l) === toHex(logId)) {
            clearTimeout(timer)
            resolve()
          }
        })
      }),
  )
  for (const s of sessions) void s.start()
  await Promise.all(caughtUp)
  // Let pushes of what either side stored meanwhile settle.
  await new Promise((r) => setTimeout(r, 50))
  await Promise.all(sessions.map((s) => s.close()))
}

describe('leaving a group', () => {
  it('a member leaves: leaving until the owner commits, then left; send says so', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const ended: string[] = []
    c.manager.on('removed', (e) => ended.push(e.how))
    await c.manager.leave(groupId)
    expect(c.manager.get(groupId)).toMatchObject({ active: true, status: 'leaving', pendingProposal: 'leave' })
    await syncAll([a, b, c], groupId)
    expect(ended).toEqual(['left'])
    expect(c.manager.get(groupId)).toMatchObject({ active: false, status: 'left', pendingProposal: null })
    await expect(c.manager.send(groupId, text('x'))).rejects.toMatchObject({ code: 'GROUP_INACTIVE', message: expect.stringContaining('you left') })
    expect(a.manager.members(groupId).map(toHex).sort()).toEqual([a.hex, b.hex].sort())
    await expect(a.manager.leave(groupId)).rejects.toMatchObject({ code: 'GROUP_OWNER_CANNOT_LEAVE' })
  })

  it('what a rotation did: the owner committed it at the new epoch; a member proposed it', async () => {
    const { a, b, groupId } = await threeMembers()
    expect(await a.manager.rotate(groupId)).toEqual({ state: 'committed', epoch: 3 })
    expect(a.manager.get(groupId)?.epoch).toBe(3)
    await syncAll([a, b], groupId)
    expect(await b.manager.rotate(groupId)).toEqual({ state: 'proposed' })
    expect(b.manager.get(groupId)).toMatchObject({ status: 'active', pendingProposal: 'update', epoch: 3 })
    await syncAll([a, b], groupId)
    expect(b.manager.get(groupId)).toMatchObject({ pendingProposal: null, epoch: 4 })
  })
})

describe('a removed member is told', () => {
  it('sync hands the removed member the owner log up to its removal and nothing more, and takes nothing from it', async () => {
    const { a, b, c, groupId } = await threeMembers()
    // C writes at the epoch it was removed in, before it knows (MLS would refuse it at A anyway: its credential left).
    await c.manager.send(groupId, text('c before it knows'))
    await a.manager.remove(groupId, c.key)
    const removalSeq = a.logs.heights(groupId).get(a.hex)!
    await a.manager.send(groupId, text('after removal'))
    await syncAll([a, b], groupId)
    await b.manager.send(groupId, text('b after removal'))

    await syncSession(a, c, groupId)
    expect(c.logs.heights(groupId).get(a.hex)).toBe(removalSeq)
    expect(c.logs.heights(groupId).has(b.hex)).toBe(false) // B wrote only after the removal
    expect(a.logs.heights(groupId).has(c.hex)).toBe(false)

    await c.manager.processPending()
    expect(c.manager.get(groupId)).toMatchObject({ active: false, status: 'removed' })
    expect(c.texts(groupId)).not.toContain('after removal')
    // Removed, C shares the log with nobody: a second session exchanges nothing.
    const heights = c.logs.heights(groupId)
    await syncSession(a, c, groupId, 300)
    expect(c.logs.heights(groupId)).toEqual(heights)
    // B (a member who applied the removal) would hand C the same part.
    expect([...b.manager.shareLimit(c.key, groupId)!.sendUpTo]).toEqual([[a.hex, removalSeq]])
  })

  it('the partial share lasts 30 days, is kept across restarts, and ends when the member is a member again', async () => {
    const clock = manualClock()
    const [a, b] = [member('a'), member('b')]
    a.remanage({ now: clock.now })
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await a.manager.remove(groupId, b.key)
    expect(a.manager.shareLimit(b.key, groupId)).toBeDefined()
    a.restart()
    a.remanage({ now: clock.now })
    expect(a.manager.shareLimit(b.key, groupId)).toBeDefined()
    clock.advance(30 * 24 * 3600_000 - 1)
    expect(a.manager.mayShare(b.key, groupId)).toBe(true)
    clock.advance(1)
    expect(a.manager.mayShare(b.key, groupId)).toBe(false)
    expect(a.manager.sharedLogs(b.key)).toEqual([])
    clock.advance(-1)
    await invite(a, b, groupId)
    expect(a.manager.shareLimit(b.key, groupId)).toBeUndefined()
    expect(a.manager.mayShare(b.key, groupId)).toBe(true)
    expect(a.db.prepare('SELECT COUNT(*) AS n FROM group_departed').get()).toEqual({ n: 0 })
  })
})

describe('invited again', () => {
  it('a removed member accepts a new Welcome: old messages stay readable, new ones arrive', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await a.manager.send(groupId, text('first life'))
    await syncAll([a, b, c], groupId)
    await a.manager.remove(groupId, c.key)
    await a.manager.send(groupId, text('while c is out'))
    await syncAll([a, b, c], groupId)
    expect(c.manager.get(groupId)?.status).toBe('removed')

    await invite(a, c, groupId)
    await a.manager.send(groupId, text('second life'))
    await syncAll([a, b, c], groupId)
    expect(c.manager.get(groupId)).toMatchObject({ active: true, status: 'active', name: 'friends' })
    expect(c.texts(groupId)).toEqual(['first life', 'second life'])
    expect(c.manager.rejected(groupId)).toEqual([])
    await c.manager.send(groupId, text('c is back'))
    await syncAll([a, b, c], groupId)
    expect(b.texts(groupId)).toContain('c is back')
    // Still a member: a second key package is refused.
    await expect(c.manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))).rejects.toMatchObject({ code: 'GROUP_ALREADY_A_MEMBER' })
  })

  it('a member that left can be invited again too', async () => {
    const { a, b, c, groupId } = await threeMembers()
    await c.manager.leave(groupId)
    await syncAll([a, b, c], groupId)
    expect(c.manager.get(groupId)?.status).toBe('left')
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    expect(c.manager.get(groupId)?.status).toBe('active')
  })
})

describe("the owner's name for the group", () => {
  it('reaches every member and late joiners, follows renames, and stays unique here', async () => {
    const { a, b, c, groupId } = await threeMembers('team')
    await a.manager.rename(groupId, 'crew', { description: 'the crew\nsince 2026' })
    // B has a group of its own named "crew": the shared name is made unique on B.
    const own = await b.manager.create({ name: 'crew' })
    await c.manager.rename(groupId, 'my label')
    await syncAll([a, b, c], groupId)
    expect(a.manager.get(groupId)).toMatchObject({ name: 'crew', sharedName: 'crew', description: 'the crew\nsince 2026' })
    expect(b.manager.get(groupId)).toMatchObject({ name: 'crew-2', sharedName: 'crew', description: 'the crew\nsince 2026' })
    expect(b.manager.resolve('crew').id).toEqual(own.id)
    expect(toHex(b.manager.resolve('crew-2').id)).toBe(toHex(groupId))
    // C chose its own name: the owner's rename does not change it; null goes back to the owner's.
    expect(c.manager.get(groupId)).toMatchObject({ name: 'my label', sharedName: 'crew' })
    await c.manager.rename(groupId, null)
    expect(c.manager.get(groupId)?.name).toBe('crew')

    const d = member('d')
    await invite(a, d, groupId)
    await syncAll([a, b, c, d], groupId)
    expect(d.manager.get(groupId)).toMatchObject({ name: 'crew', description: 'the crew\nsince 2026' })

    await expect(a.manager.create({ name: 'crew' })).rejects.toMatchObject({ code: 'GROUP_NAME_TAKEN' })
    const other = await a.manager.create({ name: 'other' })
    await expect(a.manager.rename(other.id, 'crew')).rejects.toMatchObject({ code: 'GROUP_NAME_TAKEN' })
    await expect(b.manager.rename(groupId, 'x', { description: 'no' })).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
    await expect(a.manager.rename(groupId, 'bad\u001b[2Jname')).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    // An invisible character would make another group's name look the same; the joiners Persian writing needs are fine.
    for (const invisible of ['\u200b', '\u200e', '\u200f', '\u061c', '\ufeff', '\u2028']) {
      await expect(a.manager.rename(groupId, `other${invisible}`)).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    }
    await a.manager.rename(groupId, 'می\u200cخواهم')
    await expect(a.manager.rename(groupId, 'x'.repeat(201))).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
  })

  it('members take a setting only from the owner, and only a well-formed one', async () => {
    const { a, b, c, groupId } = await threeMembers('team')
    // B, a member, writes a setting of its own: validly encrypted, but not the owner's.
    const forged = await stateCopy(b, groupId).encrypt(encodeCanonical([1, 'hijacked', null]))
    appendRaw(b, groupId, encodeGroupPayload({ kind: 'setting', message: forged.message }), { epoch: 2 })
    // The owner's own client writes a setting that is not [1, name, description].
    const malformed = await stateCopy(a, groupId).encrypt(encodeCanonical([1, 'x\u0007', null]))
    appendRaw(a, groupId, encodeGroupPayload({ kind: 'setting', message: malformed.message }), { epoch: 2 })
    deliver(b, c, groupId, b)
    deliver(a, c, groupId, a)
    await c.manager.processPending()
    expect(c.manager.get(groupId)?.name).toBe('team')
    expect(c.manager.rejected(groupId).map((r) => r.code).sort()).toEqual(['GROUP_MALFORMED_PAYLOAD', 'GROUP_NOT_FROM_OWNER'])
  })
})

describe('a catch-up sends the owner last', () => {
  it("puts the owner's operations after every other author's, so commits never overtake the messages of the epochs they end", async () => {
    const { a, b, c, groupId } = await threeMembers('order')
    await b.manager.send(groupId, text('from b'))
    await c.manager.send(groupId, text('from c'))
    await syncAll([a, b, c], groupId)
    await a.manager.rotate(groupId)
    const policy: SharePolicy = { ...policyOf(a.manager), lastAuthor: (logId) => a.manager.committerOf(logId) }
    const seen = [...storeForPeer(a.logs, policy, c.hex).heights(groupId).keys()]
    expect(seen).toHaveLength(3)
    expect(seen.at(-1)).toBe(a.hex)
    expect(a.manager.committerOf(groupId)).toBe(a.hex)
    expect(a.manager.committerOf(new Uint8Array(32).fill(9))).toBeUndefined()
  })
})
