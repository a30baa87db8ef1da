/**
 * Which authors a group log takes from sync (group/log-authors.ts): a member
 * cannot fill a shared group log with made-up authors, and a member still
 * unknown here (its commit not processed) is taken once it is known.
 */
import { describe, expect, it } from 'vitest'
import { MAX_UNVERIFIED_AUTHORS } from '../../src/group/log-authors.js'
import type { GroupManager } from '../../src/group/index.js'
import { fromHex, toHex } from '../../src/log/index.js'
import { storeForPeer, SyncSession, type SharePolicy } from '../../src/net/sync/index.js'
import { channelPair } from '../helpers/channel.js'
import { appendRaw, deliver, invite, syncAll, text } from '../helpers/group.js'
import { TestAuthor } from '../helpers/logs.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

/** The group layer's part of a node's sync policy (node/wiring.ts), peers named by identity key in hex. */
function policyOf(manager: GroupManager): SharePolicy {
  return {
    sharedLogs: (peer) => manager.sharedLogs(fromHex(peer)),
    mayShare: (peer, logId) => manager.mayShare(fromHex(peer), logId),
    accepts: (_peer, header) => manager.acceptsOperation(header),
  }
}

describe('a group log', () => {
  it(`takes its members' operations always, and those of at most ${MAX_UNVERIFIED_AUTHORS} other authors`, async () => {
    const [a, b] = [member('a'), member('b')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await syncAll([a, b], groupId)
    const strangers = Array.from({ length: MAX_UNVERIFIED_AUTHORS + 50 }, () => new TestAuthor())
    const taken = strangers.map((s) => b.manager.acceptsOperation(s.next(groupId).header))
    expect(taken.filter(Boolean)).toHaveLength(MAX_UNVERIFIED_AUTHORS)
    expect(taken.slice(0, MAX_UNVERIFIED_AUTHORS).every(Boolean)).toBe(true)
    // One taken keeps being taken (its next operations); members are never refused.
    expect(b.manager.acceptsOperation(strangers[0]!.next(groupId).header)).toBe(true)
    expect(b.manager.acceptsOperation(appendRaw(a, groupId, text('owner')).header)).toBe(true)
    expect(b.manager.acceptsOperation(appendRaw(b, groupId, text('self')).header)).toBe(true)
  })

  it('counts the strangers it holds after a restart, and takes a member refused before its commit once the commit is processed', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await syncAll([a, b], groupId)
    const strangers = Array.from({ length: MAX_UNVERIFIED_AUTHORS }, () => new TestAuthor())
    b.logs.ingest(strangers.map((s) => s.next(groupId)))
    b.restart()
    expect(b.manager.acceptsOperation(new TestAuthor().next(groupId).header)).toBe(false)
    expect(b.manager.acceptsOperation(strangers[7]!.next(groupId).header)).toBe(true)

    await invite(a, c, groupId)
    await c.manager.processPending()
    const fromC = appendRaw(c, groupId, text('hello from c'))
    expect(b.manager.acceptsOperation(fromC.header)).toBe(false)
    deliver(a, b, groupId, a)
    await b.manager.processPending()
    expect(b.manager.members(groupId).map(toHex)).toContain(c.hex)
    expect(b.manager.acceptsOperation(fromC.header)).toBe(true)
  })

  it('keeps out what a member syncs of made-up authors beyond the bound', async () => {
    const [a, m] = [member('a'), member('m')]
    const { id: groupId } = await a.manager.create()
    await invite(a, m, groupId)
    await syncAll([a, m], groupId)
    // m signs one operation each for many fresh keys in the group log, and offers them to a.
    const held = a.logs.heights(groupId).size
    const made = MAX_UNVERIFIED_AUTHORS + 300
    m.logs.ingest(Array.from({ length: made }, () => new TestAuthor().next(groupId, text('junk'))))
    const [chA, chM] = channelPair()
    const sessions = [
      new SyncSession({ peer: m.hex, channel: chA, store: storeForPeer(a.logs, policyOf(a.manager), m.hex), policy: policyOf(a.manager) }),
      new SyncSession({ peer: a.hex, channel: chM, store: storeForPeer(m.logs, policyOf(m.manager), a.hex), policy: policyOf(m.manager) }),
    ]
    const caughtUp = new Promise<void>((resolve) => sessions[0]!.on('caught-up', () => resolve()))
    for (const s of sessions) void s.start()
    await caughtUp
    const deadline = Date.now() + 10_000
    while (a.logs.heights(groupId).size < held + MAX_UNVERIFIED_AUTHORS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    expect(sessions.every((s) => !s.closed)).toBe(true)
    await Promise.all(sessions.map((s) => s.close()))
    // Of the made-up authors a holds exactly the bound.
    expect(a.logs.heights(groupId).size).toBe(held + MAX_UNVERIFIED_AUTHORS)
  })
})
