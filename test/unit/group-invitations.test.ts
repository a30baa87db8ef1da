// What an allow-listed peer can make us keep by asking for key packages:
// within a rate, within caps per inviter and in total, for a week at most,
// and only for group ids derived from its own key (so it cannot squat
// someone else's group). Real GroupManagers on real SQLite files, the
// requests through the exchange's real encoder and answerer.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  answerKeyPackageRequest,
  createGroup,
  decodeKeyPackageResponse,
  encodeGroupPayload,
  encodeKeyPackageRequest,
  GroupManager,
  groupIdOf,
  INVITATION_LIMITS,
} from '../../src/group/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { toHex } from '../../src/log/index.js'
import { LogStore, MIGRATIONS, openDatabase } from '../../src/store/index.js'
import { allOperations, appendRaw, deliver, ingestInto, invite, manualClock, Member, syncAll, text } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

/** A key-package request as `inviter` sends it over the wire, for a fresh group id of its own. */
function ownRequest(inviter: Uint8Array): { groupId: Uint8Array; nonce: Uint8Array; request: Uint8Array } {
  const nonce = new Uint8Array(randomBytes(32))
  const groupId = groupIdOf(inviter, nonce)
  return { groupId, nonce, request: encodeKeyPackageRequest({ groupId, nonce }) }
}

/** What `invitee` answers `inviter`: the key package, or the refusal code. */
async function ask(invitee: GroupManager, inviter: Uint8Array, request: Uint8Array): Promise<string> {
  try {
    decodeKeyPackageResponse(await answerKeyPackageRequest(invitee, inviter, request))
    return 'key package'
  } catch (err) {
    return /\(([A-Z_]+)\)/.exec((err as Error).message)?.[1] ?? String(err)
  }
}

const count = (m: Member, sql = 'SELECT COUNT(*) AS n FROM group_invitations'): number => (m.db.prepare(sql).get() as { n: number }).n

describe('key-package requests: rate, caps and expiry', () => {
  it('the wire request is [group id, nonce], 69 bytes as documented; the old one-element form is refused as malformed', async () => {
    const [v, m] = [member('v'), member('m')]
    const { groupId, request } = ownRequest(m.key)
    expect(request.length).toBe(69)
    expect(toHex(request.subarray(0, 3))).toBe('825820')
    expect(toHex(request.subarray(3, 35))).toBe(toHex(groupId))
    expect(toHex(request.subarray(35, 37))).toBe('5820')
    expect(await ask(v.manager, m.key, encodeCanonical([groupId]))).toBe('MALFORMED_REQUEST')
    expect(await ask(v.manager, m.key, request)).toBe('key package')
  })

  it('serves one inviter 16 at once, then one a minute; others are not held back', async () => {
    const [v, m, o] = [member('v'), member('m'), member('o')]
    const time = manualClock()
    const victim = v.remanage({ now: time.now })
    const answers: string[] = []
    for (let i = 0; i < 40; i++) answers.push(await ask(victim, m.key, ownRequest(m.key).request))
    expect(answers.filter((a) => a === 'key package')).toHaveLength(INVITATION_LIMITS.requestBurst)
    expect(answers.slice(INVITATION_LIMITS.requestBurst).every((a) => a === 'GROUP_RATE_LIMITED')).toBe(true)
    expect(await ask(victim, o.key, ownRequest(o.key).request)).toBe('key package')
    time.advance(INVITATION_LIMITS.requestIntervalMs)
    expect(await ask(victim, m.key, ownRequest(m.key).request)).toBe('key package')
    expect(await ask(victim, m.key, ownRequest(m.key).request)).toBe('GROUP_RATE_LIMITED')
    expect(count(v)).toBe(INVITATION_LIMITS.requestBurst + 2)
  })

  it('keeps at most 32 pending invitations per inviter and 2,048 in total (here scaled down), refusing beyond', async () => {
    const [v, m1, m2] = [member('v'), member('m1'), member('m2')]
    const unlimitedRate = { requestBurst: 1000 }
    const perInviter = v.remanage({ limits: unlimitedRate })
    const answers: string[] = []
    for (let i = 0; i < INVITATION_LIMITS.pendingPerInviter + 3; i++) answers.push(await ask(perInviter, m1.key, ownRequest(m1.key).request))
    expect(answers.filter((a) => a === 'key package')).toHaveLength(INVITATION_LIMITS.pendingPerInviter)
    expect(answers.slice(INVITATION_LIMITS.pendingPerInviter)).toEqual(['GROUP_TOO_MANY_INVITATIONS', 'GROUP_TOO_MANY_INVITATIONS', 'GROUP_TOO_MANY_INVITATIONS'])

    // The total: with room for 40, m2 gets the 8 that m1 left.
    const total = v.remanage({ limits: { ...unlimitedRate, pendingTotal: INVITATION_LIMITS.pendingPerInviter + 8 } })
    const second: string[] = []
    for (let i = 0; i < 10; i++) second.push(await ask(total, m2.key, ownRequest(m2.key).request))
    expect(second.filter((a) => a === 'key package')).toHaveLength(8)
    expect(second.slice(8)).toEqual(['GROUP_TOO_MANY_INVITATIONS', 'GROUP_TOO_MANY_INVITATIONS'])
    expect(count(v)).toBe(INVITATION_LIMITS.pendingPerInviter + 8)
  })

  it('a pending invitation expires after 7 days: its private key package is deleted, the log is no longer shared, a late Welcome is not joined', async () => {
    const [a, v] = [member('a'), member('v')]
    const time = manualClock()
    const victim = v.remanage({ now: time.now })
    const { id: groupId } = await a.manager.create()
    const pkg = await victim.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    const stray = ownRequest(a.key)
    await victim.createKeyPackage(stray.groupId, a.key, stray.nonce)
    expect(victim.mayShare(a.key, groupId)).toBe(true)
    expect(victim.sharedLogs(a.key).map(toHex).sort()).toEqual([toHex(groupId), toHex(stray.groupId)].sort())

    time.advance(INVITATION_LIMITS.pendingTtlMs - 1)
    expect(victim.mayShare(a.key, groupId)).toBe(true)
    time.advance(1)
    // Expired at once for the sync policy, before anything deletes it.
    expect(victim.mayShare(a.key, groupId)).toBe(false)
    expect(victim.sharedLogs(a.key)).toEqual([])
    expect(victim.invitations()).toEqual([])

    // The owner invites with the package it fetched in time; the Welcome arrives too late.
    await a.manager.invite(groupId, v.key, pkg)
    ingestInto(v, allOperations(a.logs, groupId))
    expect(await victim.processPending()).toMatchObject({ joined: 0 })
    expect(victim.get(groupId)).toBeUndefined()
    expect(count(v)).toBe(0)
  })

  it('expired invitations are deleted when the node opens again', async () => {
    const [a, v] = [member('a'), member('v')]
    const time = manualClock()
    const { id: groupId } = await a.manager.create()
    await v.remanage({ now: time.now }).createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    expect(count(v)).toBe(1)
    time.advance(INVITATION_LIMITS.pendingTtlMs)
    const reopened = v.remanage({ now: time.now })
    expect(count(v)).toBe(0)
    expect(reopened.mayShare(a.key, groupId)).toBe(false)
  })
})

describe('the log of a group we await a Welcome to', () => {
  it('joins past a message the owner deleted before inviting us (the scan stopped at its deletion for ever)', async () => {
    const [a, b, v] = [member('a'), member('b'), member('v')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await syncAll([a, b], groupId)
    const gone = await a.manager.send(groupId, text('soon deleted'))
    await a.manager.deleteEntry(groupId, { messageId: gone.id })
    await invite(a, v, groupId)
    deliver(a, v, groupId, a)
    expect(await v.manager.processPending()).toMatchObject({ joined: 1 })
    await a.manager.send(groupId, text('after the join'))
    deliver(a, v, groupId, a)
    await v.manager.processPending()
    expect(v.texts(groupId)).toEqual(['after the join'])
  })

  it("takes only its inviter's operations, and drops them all when the invitation expires unanswered", async () => {
    const [x, v, stranger] = [member('x'), member('v'), member('s')]
    const time = manualClock()
    const victim = v.remanage({ now: time.now })
    const { id: groupId } = await x.manager.create()
    await victim.createKeyPackage(groupId, x.key, x.manager.ownershipNonce(groupId))
    const header = (author: Uint8Array): { logId: Uint8Array; author: Uint8Array; seq: number; payloadSize: number } => ({ logId: groupId, author, seq: 0, payloadSize: 1024 })
    expect(victim.acceptsOperation(header(x.key))).toBe(true)
    expect(victim.acceptsOperation(header(stranger.key))).toBe(false)

    for (let i = 0; i < 4; i++) appendRaw(x, groupId, randomBytes(64 * 1024), { epoch: 0 })
    deliver(x, v, groupId, x)
    await victim.processPending()
    const stored = (): number => (v.db.prepare('SELECT COUNT(*) AS n FROM log_operations WHERE log_id = ?').get(groupId) as { n: number }).n
    expect(stored()).toBe(4)
    time.advance(INVITATION_LIMITS.pendingTtlMs)
    await victim.processPending()
    expect(stored()).toBe(0)
    expect(v.db.prepare('SELECT COUNT(*) AS n FROM group_cursors WHERE group_id = ?').get(groupId)).toEqual({ n: 0 })
    expect(victim.acceptsOperation(header(x.key))).toBe(true) // no longer awaited: the ordinary bound of log-authors.ts
  })
})

describe('group ids bound to their owner', () => {
  it("a member who knows a group's id and nonce cannot get a key package for it; the owner's invitation then works", async () => {
    const [a, m, v] = [member('a'), member('m'), member('v')]
    const { id: groupId } = await a.manager.create()
    await invite(a, m, groupId)
    await syncAll([a, m], groupId)
    // M learnt the nonce from A's key-package request; it asks V for a package "for" A's group.
    const nonce = a.manager.ownershipNonce(groupId)
    expect(await ask(v.manager, m.key, encodeKeyPackageRequest({ groupId, nonce }))).toBe('GROUP_ID_NOT_OWNED')
    expect(await ask(v.manager, m.key, encodeKeyPackageRequest({ groupId, nonce: new Uint8Array(randomBytes(32)) }))).toBe('GROUP_ID_NOT_OWNED')
    expect(count(v)).toBe(0)
    expect(v.manager.mayShare(m.key, groupId)).toBe(false)

    // With a package V gave it for a group of its own, M builds an MLS group under A's id and
    // writes the Welcome into its log, under its own group's id and under A's: V joins neither.
    const own = ownRequest(m.key)
    const pkg = decodeKeyPackageResponse(await answerKeyPackageRequest(v.manager, m.key, own.request))
    const squat = await (await createGroup(groupId, m.identity, () => true)).addMembers([pkg])
    const welcome = encodeGroupPayload({ kind: 'welcome', welcome: squat.welcome })
    for (const logId of [own.groupId, groupId]) {
      appendRaw(m, logId, welcome, { epoch: 1 })
      deliver(m, v, logId, m)
    }
    expect(await v.manager.processPending()).toMatchObject({ joined: 0 })
    expect(v.manager.get(groupId)).toBeUndefined()
    expect(v.manager.rejected(own.groupId).map((r) => r.code)).toEqual(['GROUP_INVALID_WELCOME'])

    await invite(a, v, groupId)
    await syncAll([a, m, v], groupId)
    expect(v.manager.get(groupId)).toMatchObject({ active: true, owner: a.key, epoch: 2 })
    await v.manager.send(groupId, text('v is in'))
    await syncAll([a, m, v], groupId)
    expect(a.texts(groupId)).toEqual(['v is in'])
  })

  it('only the owner has the nonce; a group made before ids were derived keeps working but cannot invite', async () => {
    const [a, b] = [member('a'), member('b')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await syncAll([a, b], groupId)
    expect(() => b.manager.ownershipNonce(groupId)).toThrow(expect.objectContaining({ code: 'GROUP_NOT_OWNER' }))
    expect(toHex(groupIdOf(a.key, a.manager.ownershipNonce(groupId)))).toBe(toHex(groupId))

    // The database as version 3 left it: no nonce column (nor what later versions added), and a pending invitation nobody checked.
    a.db.exec(`
      ALTER TABLE groups DROP COLUMN id_nonce;
      ALTER TABLE groups DROP COLUMN ended; ALTER TABLE groups DROP COLUMN label_set;
      ALTER TABLE groups DROP COLUMN shared_name; ALTER TABLE groups DROP COLUMN description;
      DROP TABLE group_departed; DROP TABLE group_pending_invites; DROP TABLE peer_errors;
      DROP INDEX log_forks_by_author; ALTER TABLE log_forks DROP COLUMN detected_at;
      DROP TABLE group_ratchets;
      DROP TABLE group_keepers; DROP TABLE keeper_releases; DROP TABLE kept_file_logs; DROP TABLE kept_groups; DROP TABLE peer_reasons; DROP TABLE keeping_orderers; DROP TABLE group_attempt;
      DROP TABLE log_deleted; DROP TABLE group_files; DROP TABLE group_file_uploads; ALTER TABLE groups DROP COLUMN retention_ms;
      ALTER TABLE group_cursors DROP COLUMN swept; ALTER TABLE group_messages DROP COLUMN sent_at; ALTER TABLE group_messages DROP COLUMN file_log;
    `)
    a.db.prepare('INSERT INTO group_invitations (group_id, inviter, public_package, private_package, created_at) VALUES (?, ?, ?, ?, ?)').run(
      randomBytes(32), b.key, randomBytes(300), randomBytes(65), Date.now(),
    )
    a.db.pragma('user_version = 3')
    a.close()
    const db = openDatabase(a.path)
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    a.db = db
    a.logs = new LogStore(db)
    a.manager = new GroupManager({ db, logs: a.logs, identity: a.identity })
    expect(count(a)).toBe(0)
    expect(() => a.manager.ownershipNonce(groupId)).toThrow(expect.objectContaining({ code: 'GROUP_ID_UNBOUND' }))
    await a.manager.send(groupId, text('still here'))
    await syncAll([a, b], groupId)
    expect(b.texts(groupId)).toEqual(['still here'])
    expect(a.manager.mayShare(b.key, groupId)).toBe(true)
    const c = new Member('c')
    try {
      expect(await ask(c.manager, a.key, encodeKeyPackageRequest({ groupId, nonce: new Uint8Array(32) }))).toBe('GROUP_ID_NOT_OWNED')
    } finally {
      c.close()
    }
  })

  it('the sharing index is rebuilt from the database on restart', async () => {
    const [a, b, c, v] = [member('a'), member('b'), member('c'), member('v')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    await a.manager.remove(groupId, c.key)
    const pending = ownRequest(b.key)
    expect(await ask(v.manager, b.key, pending.request)).toBe('key package')
    for (const m of [a, v]) m.restart()
    expect(a.manager.mayShare(b.key, groupId)).toBe(true)
    expect(a.manager.shareLimit(b.key, groupId)).toBeUndefined()
    // C departed: it still gets A's log up to its removal (the rest of the departed rule is in group-life.test.ts).
    expect(a.manager.mayShare(c.key, groupId)).toBe(true)
    expect(a.manager.shareLimit(c.key, groupId)?.sendUpTo.get(a.hex)).toBe(a.logs.heights(groupId).get(a.hex))
    expect(a.manager.sharedLogs(b.key).map(toHex)).toEqual([toHex(groupId)])
    expect(v.manager.sharedLogs(b.key).map(toHex)).toEqual([toHex(pending.groupId)])
    expect(v.manager.mayShare(b.key, pending.groupId)).toBe(true)
    expect(v.manager.mayShare(a.key, pending.groupId)).toBe(false)
  })
})
