// Deletion by an author, and the owner's retention period: payloads go from
// every store (the header stays verifiable), entries from every local view,
// and MLS keeps working. Real GroupManagers, SQLite files and ts-mls.
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { GroupCore } from '../../src/group/core.js'
import { toHex } from '../../src/log/index.js'
import { GroupStore } from '../../src/store/group-store.js'
import { appendRaw, deliver, invite, manualClock, str, syncAll, text, uniqueText, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()
const HOUR = 3_600_000

async function group(names: string[], clock?: { now: () => number }): Promise<{ members: Member[]; groupId: Uint8Array }> {
  const members = names.map((n) => member(n))
  if (clock !== undefined) for (const m of members) m.remanage({ now: clock.now })
  const [owner, ...rest] = members
  const { id: groupId } = await owner!.manager.create()
  for (const m of rest) await invite(owner!, m, groupId)
  await syncAll(members, groupId)
  return { members, groupId }
}

/** Whether `bytes` occur in any file of `m`'s data directory (database, WAL, shm). */
function onDisk(m: Member, bytes: Uint8Array): boolean {
  const dir = dirname(m.path)
  return readdirSync(dir).some((f) => readFileSync(join(dir, f)).indexOf(bytes) >= 0)
}

/** The stored payload of (author, seq) in the group log, if present. */
const payload = (m: Member, author: Member, groupId: Uint8Array, seq: number): Uint8Array | undefined =>
  m.logs.operationsAfter(author.key, groupId, seq - 1, 1)[0]?.payload

describe('deleting your own messages and files', () => {
  it('every member drops the payload and the local-view entry; the header stays and the chain validates', async () => {
    const { members: [a, b, c], groupId } = await group(['a', 'b', 'c'])
    const secret = uniqueText('deleted')
    const kept = await a!.manager.send(groupId, text('stays'))
    const gone = await a!.manager.send(groupId, text(secret))
    await syncAll([a!, b!, c!], groupId)
    expect(b!.texts(groupId)).toContain(secret)
    const ciphertext = payload(b!, a!, groupId, gone.seq)!.subarray(-64)
    expect(onDisk(b!, ciphertext)).toBe(true)
    const deleted: unknown[] = []
    b!.manager.on('deleted', (e) => deleted.push(e))

    await a!.manager.deleteEntry(groupId, { messageId: gone.id })
    expect(a!.texts(groupId)).not.toContain(secret)
    expect(payload(a!, a!, groupId, gone.seq)).toBeUndefined()
    await syncAll([a!, b!, c!], groupId)
    for (const m of [a!, b!, c!]) {
      expect(m.texts(groupId)).not.toContain(secret)
      expect(m.texts(groupId)).toContain('stays')
      expect(payload(m, a!, groupId, gone.seq)).toBeUndefined()
      expect(payload(m, a!, groupId, kept.seq)).toBeDefined()
      expect(m.logs.operationsAfter(a!.key, groupId, gone.seq - 1, 1)[0]?.header.seq).toBe(gone.seq)
    }
    expect(deleted).toEqual([{ groupId, author: a!.key, seqs: [gone.seq] }])
    // Neither its ciphertext nor its plaintext is left in any file (secure_delete, and the WAL truncated after the deletion).
    for (const m of [a!, b!, c!]) {
      expect(onDisk(m, ciphertext)).toBe(false)
      expect(onDisk(m, text(secret))).toBe(false)
    }
    // Messages go on both ways after it.
    await b!.manager.send(groupId, text('after'))
    await syncAll([a!, b!, c!], groupId)
    expect(a!.texts(groupId)).toContain('after')
  })

  it('a member that gets the message and its deletion together never shows it, and goes on with later messages', async () => {
    const { members: [a, b, c], groupId } = await group(['a', 'b', 'c'])
    await syncAll([a!, b!], groupId)
    const gone = await a!.manager.send(groupId, text('gone before c saw it'))
    await a!.manager.deleteEntry(groupId, { messageId: gone.id })
    await a!.manager.send(groupId, text('later'))
    // C gets A's log only now: the payload travels as deleted (null).
    deliver(a!, c!, groupId, a!)
    await c!.manager.processPending()
    expect(c!.texts(groupId)).toEqual(['later'])
    expect(c!.manager.rejected(groupId)).toEqual([])
  })

  it('deletes a file: its entry, its key, its chunks, everywhere', async () => {
    const { members: [a, b], groupId } = await group(['a', 'b'])
    const upload = a!.manager.beginFile(groupId, { chunkSize: 1024 })
    upload.write(new Uint8Array(randomBytes(4000)))
    await a!.manager.sendFile(upload, { name: 'x.bin', mediaType: 'application/octet-stream' })
    await syncAll([a!, b!], groupId)
    b!.logs.ingest(a!.logs.operationsAfter(a!.key, upload.logId, -1, 100))
    expect(b!.manager.fileByLog(upload.logId)?.chunksHeld).toBe(4)

    await a!.manager.deleteEntry(groupId, { logId: upload.logId })
    await syncAll([a!, b!], groupId)
    for (const m of [a!, b!]) {
      expect(m.manager.fileByLog(upload.logId)).toBeUndefined()
      expect(m.manager.files(groupId)).toEqual([])
      expect(m.logs.heights(upload.logId).size).toBe(0)
      expect(m.manager.mayShare(m === a ? b!.key : a!.key, upload.logId)).toBe(false)
      expect(m.manager.messages(groupId).filter((e) => e.fileLog !== undefined)).toEqual([])
      expect(m.db.prepare('SELECT COUNT(*) AS n FROM group_files').get()).toEqual({ n: 0 })
    }
  })

  it('only the author deletes: someone else’s entry is refused, and a hostile member naming another author’s seq in its own log deletes nothing of it', async () => {
    const { members: [a, b], groupId } = await group(['a', 'b'])
    const fromA = await a!.manager.send(groupId, text('from a'))
    await syncAll([a!, b!], groupId)
    const inB = b!.manager.messages(groupId).find((m) => str(m.plaintext) === 'from a')!
    await expect(b!.manager.deleteEntry(groupId, { messageId: inB.id })).rejects.toMatchObject({ code: 'GROUP_NOT_DELETABLE' })
    await expect(b!.manager.deleteEntry(groupId, { messageId: 9999 })).rejects.toMatchObject({ code: 'GROUP_ENTRY_NOT_FOUND' })
    // B forges a deletion naming A's seq, in the only log it can sign: its own.
    const epoch = b!.manager.get(groupId)!.epoch
    appendRaw(b!, groupId, new Uint8Array(0), { epoch })
    const tip = b!.logs.heights(groupId).get(b!.hex)!
    const prev = b!.logs.operationsAfter(b!.key, groupId, tip - 1, 1)[0]!
    const { createOperation, seedSigner } = await import('../../src/log/index.js')
    b!.logs.append(createOperation({ signer: seedSigner(b!.identity.seed), logId: groupId, seq: tip + 1, backlink: prev.hash, extensions: { epoch, delete: [fromA.seq] } }))
    await syncAll([a!, b!], groupId)
    expect(a!.texts(groupId)).toContain('from a')
    expect(payload(a!, a!, groupId, fromA.seq)).toBeDefined()
    expect(payload(b!, a!, groupId, fromA.seq)).toBeDefined()
  })
})

describe('the owner’s retention period', () => {
  it('reaches every member; what is older is deleted everywhere, members’ logs are pruned at their prune points, the owner’s commits stay, and MLS goes on', async () => {
    const clock = manualClock()
    const { members: [a, b, c], groupId } = await group(['a', 'b', 'c'], clock)
    await expect(b!.manager.setRetention(groupId, HOUR)).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
    await expect(a!.manager.setRetention(groupId, 1000)).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    await a!.manager.setRetention(groupId, 4 * HOUR)
    await syncAll([a!, b!, c!], groupId)
    for (const m of [a!, b!, c!]) expect(m.manager.get(groupId)?.retentionMs).toBe(4 * HOUR)

    const old = [uniqueText('old-a'), uniqueText('old-b')]
    await a!.manager.send(groupId, text(old[0]!))
    await b!.manager.send(groupId, text(old[1]!))
    await syncAll([a!, b!, c!], groupId)
    // An hour and a half later B's first operation is over a quarter period old: a prune point is due.
    clock.advance(1.5 * HOUR)
    expect((await b!.manager.sweepRetention()).marked).toBe(true)
    expect((await b!.manager.sweepRetention()).marked).toBe(false)
    clock.advance(0.5 * HOUR)
    await b!.manager.send(groupId, text('b later'))
    await syncAll([a!, b!, c!], groupId)
    await a!.manager.rotate(groupId)
    await syncAll([a!, b!, c!], groupId)

    // Two and a half hours on, the first messages and B's prune point are over four hours old.
    clock.advance(2.5 * HOUR)
    for (const m of [a!, b!, c!]) await m.manager.sweepRetention()
    for (const m of [a!, b!, c!]) {
      expect(m.texts(groupId)).not.toContain(old[0])
      expect(m.texts(groupId)).not.toContain(old[1])
      expect(m.texts(groupId)).toContain('b later')
      const stored = m.db.prepare('SELECT payload FROM log_operations WHERE payload IS NOT NULL').all() as { payload: Buffer }[]
      // B's log was pruned below its prune point; nothing older than it is kept anywhere.
      expect(m.logs.operationsAfter(b!.key, groupId, -1, 1)[0]!.header.extensions.get('prune')).toBe(true)
      // The owner's log is never pruned: every commit, from its first operation on, is still there with its payload.
      expect(m.logs.operationsAfter(a!.key, groupId, -1, 1)[0]!.header.seq).toBe(0)
      expect(stored.length).toBeGreaterThan(0)
    }
    // MLS state is intact: messages still flow both ways.
    await c!.manager.send(groupId, text('still here'))
    await syncAll([a!, b!, c!], groupId)
    expect(a!.texts(groupId)).toContain('still here')
    expect(b!.texts(groupId)).toContain('still here')
  })

  it('reaches a member invited later: the owner writes the period again in the new epoch, and a rejoiner forgets the old one', async () => {
    const { members: [a, b], groupId } = await group(['a', 'b'])
    await a!.manager.setRetention(groupId, 2 * HOUR)
    const c = member('c')
    await invite(a!, c, groupId)
    await syncAll([a!, b!, c], groupId)
    expect(c.manager.get(groupId)?.retentionMs).toBe(2 * HOUR)
    expect(b!.manager.get(groupId)?.retentionMs).toBe(2 * HOUR)

    await a!.manager.remove(groupId, c.key)
    await a!.manager.setRetention(groupId, null)
    await syncAll([a!, b!, c], groupId)
    expect(c.manager.get(groupId)?.retentionMs).toBe(2 * HOUR)
    await invite(a!, c, groupId)
    await syncAll([a!, b!, c], groupId)
    expect(c.manager.get(groupId)).toMatchObject({ active: true, retentionMs: null })
  })

  it('never touches what this node has not processed yet', async () => {
    const clock = manualClock()
    const { members: [a, b], groupId } = await group(['a', 'b'], clock)
    await a!.manager.setRetention(groupId, HOUR)
    await syncAll([a!, b!], groupId)
    await a!.manager.send(groupId, text('unprocessed'))
    // B stores A's message but does not process it before the sweep.
    deliver(a!, b!, groupId, a!)
    clock.advance(2 * HOUR)
    await b!.manager.sweepRetention()
    const tip = b!.logs.heights(groupId).get(a!.hex)!
    expect(b!.logs.operationsAfter(a!.key, groupId, tip - 1, 1)[0]!.payload).toBeDefined()
  })
})

describe("a group's MLS state after a restart", () => {
  it('is read by neither a listing of the groups nor a retention sweep of groups without a period', async () => {
    const { members: [a] } = await group(['a', 'b'])
    await a!.manager.create()
    a!.restart()
    const read = vi.spyOn(GroupStore.prototype, 'state')
    try {
      expect(a!.manager.list()).toHaveLength(2)
      await a!.manager.sweepRetention()
      expect(read).not.toHaveBeenCalled()
    } finally {
      read.mockRestore()
    }
  })

  it('is loaded by a retention sweep for the groups that have a retention period, and for no other', async () => {
    const { members: [a], groupId: kept } = await group(['a', 'b'])
    const { id: plain } = await a!.manager.create()
    await a!.manager.setRetention(kept, 4 * HOUR)
    a!.restart()
    const load = vi.spyOn(GroupCore.prototype, 'load')
    try {
      await a!.manager.sweepRetention()
      const loaded = load.mock.calls.map(([id]) => toHex(id))
      expect(loaded).toContain(toHex(kept))
      expect(loaded).not.toContain(toHex(plain))
    } finally {
      load.mockRestore()
    }
  })
})
