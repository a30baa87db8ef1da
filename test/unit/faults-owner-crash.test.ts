// A group OWNER committing (add, remove, key rotation) and sending in a loop
// is SIGKILLed at random moments, many times. The owner is the only
// committer, so a state that drifted from its log would fork the epochs for
// everyone. After each kill: the database is intact; the owner's local view
// holds exactly the messages its log carries; it can commit and send again;
// and a member that ingests the owner's whole log decrypts every message
// with no rejection and reaches the owner's epoch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeGroupPayload } from '../../src/group/index.js'
import { toHex } from '../../src/log/index.js'
import { prng } from '../fixtures/log-fixtures.js'
import { bySoak, runUntilKilled, type OwnerConfig } from '../helpers/faults.js'
import { Member, deliver, invite, operationsOf, str, syncAll, text } from '../helpers/group.js'

const KILLS = bySoak(12, 60)
const PREFIX = 'owner-crash-'
/** Kill moments after "ready": a step takes 5–40 ms here (an add with its key package is the slowest). */
const MAX_DELAY_MS = 600

const dir = mkdtempSync(join(tmpdir(), 'burrow-faults-owner-'))
const members: Member[] = []
afterAll(() => {
  for (const m of members) m.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Texts in `reader`'s local view written by `author` (its own, when both are the same member), in order. */
function textsFrom(reader: Member, author: Member, groupId: Uint8Array): string[] {
  const out: string[] = []
  for (let afterId = 0; ; ) {
    const page = reader.manager.messages(groupId, { afterId, limit: 1000 })
    out.push(...page.filter((m) => toHex(m.author) === author.hex).map((m) => str(m.plaintext)))
    if (page.length < 1000) return out
    afterId = page.at(-1)!.id
  }
}

describe('group owner crash safety under SIGKILL', () => {
  it(`an owner SIGKILLed ${KILLS} times while committing and sending keeps state, log and members in agreement`, { timeout: bySoak(170_000, 900_000) }, async () => {
    const owner = new Member('owner')
    const keep = new Member('keep')
    members.push(owner, keep)
    const { id: groupId } = await owner.manager.create()
    await invite(owner, keep, groupId)
    await syncAll([owner, keep], groupId)

    const configPath = join(dir, 'owner.json')
    const config: OwnerConfig = { dbPath: owner.path, seed: toHex(owner.identity.seed), groupId: toHex(groupId), keep: keep.hex, prefix: PREFIX }
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })

    const rand = prng(777)
    const steps = { membership: 0, rotate: 0, send: 0 }
    for (let kill = 0; kill < KILLS; kill++) {
      owner.close()
      const lines = await runUntilKilled('runOwner', configPath, Math.floor(rand() * MAX_DELAY_MS))
      for (const line of lines) {
        const kind = line.split(' ')[0] as keyof typeof steps
        if (kind in steps) steps[kind]++
      }
      owner.open()
      expect(owner.db.pragma('integrity_check', { simple: true })).toBe('ok')

      // State and log agree: one own local-view row per application operation in the owner's log, no more, no less.
      const ownLog = operationsOf(owner, owner, groupId)
      const applications = ownLog.filter((op) => decodeGroupPayload(op.payload!).kind === 'application').length
      expect(textsFrom(owner, owner, groupId)).toHaveLength(applications)

      // It can commit and send again.
      await owner.manager.rotate(groupId)
      const probe = `probe-${kill}`
      await owner.manager.send(groupId, text(probe))

      // A member ingesting the owner's log reads everything, rejects nothing, and stands at the owner's epoch.
      deliver(owner, keep, groupId, owner)
      await keep.manager.processPending()
      expect(keep.manager.rejected(groupId)).toEqual([])
      expect(keep.manager.get(groupId)?.epoch).toBe(owner.manager.get(groupId)?.epoch)
      expect(keep.manager.members(groupId).map(toHex)).toEqual(owner.manager.members(groupId).map(toHex))
      expect(textsFrom(keep, owner, groupId)).toEqual(textsFrom(owner, owner, groupId))
      expect(textsFrom(keep, owner, groupId).at(-1)).toBe(probe)
    }
    // Kills must have landed among all kinds of steps, not only before the loop started.
    expect(steps.membership).toBeGreaterThan(0)
    expect(steps.rotate).toBeGreaterThan(0)
    expect(steps.send).toBeGreaterThan(0)

    // The member can still talk to the owner after all of it.
    await keep.manager.send(groupId, text('keep after the crashes'))
    await syncAll([owner, keep], groupId)
    expect(textsFrom(owner, keep, groupId)).toEqual(['keep after the crashes'])
    expect(owner.manager.rejected(groupId)).toEqual([])
    console.log(`[faults] owner crash: ${KILLS} kills; steps committed before the kills: ${JSON.stringify(steps)}; epoch ${owner.manager.get(groupId)?.epoch}`)
  })
})
