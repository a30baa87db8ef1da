// A member sending in a loop is SIGKILLed at random moments. After each
// crash its MLS state and its log must agree: every message it appended
// decrypts at the receivers (a state older than the log would reuse a
// ratchet generation, which receivers see as a decrypt failure), and it
// can go on sending.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { moduleEntry, runUntilKilled } from '../helpers/child.js'
import { deliver, invite, Member, str, syncAll, text, type SenderConfig } from '../helpers/group.js'

const HELPER = fileURLToPath(new URL('../helpers/group.ts', import.meta.url))
const KILLS = 6
const PREFIX = 'crash-msg-'

const members: Member[] = []
afterAll(() => {
  for (const m of members) m.close()
})

/** Runs the sender child, SIGKILLs it `delayMs` after it is ready; resolves with how many sends it reported. */
async function sendUntilKilled(configPath: string, delayMs: number): Promise<number> {
  const lines = await runUntilKilled(moduleEntry(HELPER, 'runSender', configPath), delayMs, 30_000)
  return lines.filter((l) => l.startsWith('sent ')).length
}

describe('group crash safety', () => {
  it(`a sender SIGKILLed ${KILLS} times keeps state and log in agreement`, { timeout: 170_000 }, async () => {
    const [a, b, c] = [new Member('a'), new Member('b'), new Member('c')]
    members.push(a, b, c)
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)

    const dir = mkdtempSync(join(tmpdir(), 'burrow-group-crash-'))
    const configPath = join(dir, 'sender.json')
    const config: SenderConfig = { dbPath: b.path, seed: toHex(b.identity.seed), groupId: toHex(groupId), prefix: PREFIX, maxMessages: 100_000 }
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })

    let reportedSends = 0
    for (let kill = 0; kill < KILLS; kill++) {
      b.close()
      reportedSends += await sendUntilKilled(configPath, 20 + Math.floor(Math.random() * 200))
      b.open()
      expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok')

      // B's own view and its log agree: one local-view row per application operation.
      const ownViews = b.manager.messages(groupId, { limit: 1000 }).filter((m) => toHex(m.author) === b.hex)
      const ownLog = b.logs.operationsAfter(b.key, groupId, -1, 100_000)
      expect(ownViews.length).toBeLessThanOrEqual(ownLog.length)
      expect(ownViews.every((m) => ownLog.some((op) => op.header.seq === m.seq))).toBe(true)

      // Between crashes the epoch moves on, so the next child starts from a new state.
      if (kill % 2 === 1) {
        await a.manager.rotate(groupId)
        deliver(a, b, groupId, a)
        await b.manager.processPending()
      }
      await syncAll([a, b, c], groupId)
      for (const receiver of [a, c]) {
        expect(receiver.manager.rejected(groupId)).toEqual([])
        const fromB = receiver.manager.messages(groupId, { limit: 1000 }).filter((m) => toHex(m.author) === b.hex)
        expect(fromB.map((m) => str(m.plaintext))).toEqual(b.manager.messages(groupId, { limit: 1000 }).filter((m) => toHex(m.author) === b.hex).map((m) => str(m.plaintext)))
      }
    }
    // Kills must have landed while B was sending, not only before it started.
    expect(reportedSends).toBeGreaterThan(0)

    await b.manager.send(groupId, text('after the crashes'))
    await c.manager.send(groupId, text('c after the crashes'))
    await syncAll([a, b, c], groupId)
    expect(a.texts(groupId)).toContain('after the crashes')
    expect(b.texts(groupId)).toContain('c after the crashes')
    for (const m of [a, b, c]) expect(m.manager.rejected(groupId)).toEqual([])
    const bSent = a.manager.messages(groupId, { limit: 1000 }).filter((m) => toHex(m.author) === b.hex).length
    expect(bSent).toBeGreaterThanOrEqual(reportedSends + 1)
  })
})
