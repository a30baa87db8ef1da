// A member sending in a loop is SIGKILLed at random moments. After each
// crash its MLS state and its log must agree: every message it appended
// decrypts at the receivers (a state older than the log would reuse a
// ratchet generation, which receivers see as a decrypt failure), and it
// can go on sending. A member decrypting a long backlog (current and past
// epochs) is SIGKILLed likewise: every message enters its view exactly once,
// none is lost, and none is decrypted twice (a second decryption would fail:
// its key was consumed).
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeGroupPayload } from '../../src/group/index.js'
import { toHex } from '../../src/log/index.js'
import { moduleEntry, runUntilKilled } from '../helpers/child.js'
import { GroupStore, type GroupMessage } from '../../src/store/index.js'
import { deliver, invite, Member, stateCopy, str, syncAll, text, type ReceiverConfig, type SenderConfig } from '../helpers/group.js'

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
      const ownViews = allMessages(b, groupId).filter((m) => toHex(m.author) === b.hex)
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
        const fromB = allMessages(receiver, groupId).filter((m) => toHex(m.author) === b.hex)
        expect(fromB.map((m) => str(m.plaintext))).toEqual(allMessages(b, groupId).filter((m) => toHex(m.author) === b.hex).map((m) => str(m.plaintext)))
      }
    }
    // Kills must have landed while B was sending, not only before it started.
    expect(reportedSends).toBeGreaterThan(0)

    await b.manager.send(groupId, text('after the crashes'))
    await c.manager.send(groupId, text('c after the crashes'))
    await syncAll([a, b, c], groupId)
    expect(allTexts(a, groupId)).toContain('after the crashes')
    expect(allTexts(b, groupId)).toContain('c after the crashes')
    for (const m of [a, b, c]) expect(m.manager.rejected(groupId)).toEqual([])
    const bSent = allMessages(a, groupId).filter((m) => toHex(m.author) === b.hex).length
    expect(bSent).toBeGreaterThanOrEqual(reportedSends + 1)
  })
})

/** `m`'s local view, oldest first, every page (a fast sender leaves more than one page between kills). */
function allMessages(m: Member, groupId: Uint8Array): GroupMessage[] {
  const out: GroupMessage[] = []
  for (let afterId = 0; ; ) {
    const page = m.manager.messages(groupId, { afterId, limit: 1000 })
    out.push(...page)
    if (page.length < 1000) return out
    afterId = page.at(-1)!.id
  }
}

/** Texts in `m`'s local view, oldest first, every page. */
function allTexts(m: Member, groupId: Uint8Array): string[] {
  return allMessages(m, groupId).map((p) => str(p.plaintext))
}

describe('group crash safety while receiving', () => {
  const PER_STEP = 70
  const MAX_RUNS = 40

  it('a member SIGKILLed while decrypting a backlog of current and past epochs gets every message exactly once', { timeout: 170_000 }, async () => {
    const [a, b, c] = [new Member('owner'), new Member('reader'), new Member('late')]
    members.push(a, b, c)
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    const expected: string[] = []
    // c writes in the first epoch; b will read these only after the owner's two rotations (a retained past epoch).
    for (let i = 0; i < PER_STEP; i++) {
      expected.push(`late-${i}`)
      await c.manager.send(groupId, text(`late-${i}`))
    }
    for (let epoch = 0; epoch < 3; epoch++) {
      if (epoch > 0) await a.manager.rotate(groupId)
      for (let i = 0; i < PER_STEP; i++) {
        expected.push(`owner-${epoch}-${i}`)
        await a.manager.send(groupId, text(`owner-${epoch}-${i}`))
      }
    }

    const dir = mkdtempSync(join(tmpdir(), 'burrow-group-receive-crash-'))
    const configPath = join(dir, 'receiver.json')
    const config: ReceiverConfig = { dbPath: b.path, seed: toHex(b.identity.seed) }
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })
    const before = allTexts(b, groupId).length
    let interrupted = 0
    let ratchetRowsSeen = false

    /**
     * How long the child's pass takes on this machine, in ms: timed on a copy of b's database. Kills are drawn
     * over that span, so that they land in the middle of a pass however fast it is (a fixed 0-250 ms stopped
     * landing there once receiving needed no fsync per message).
     */
    const passMs = async (): Promise<number> => {
      b.close()
      const copy = join(dir, 'probe.db')
      copyFileSync(b.path, copy)
      b.open()
      const probeConfig = join(dir, 'probe.json')
      writeFileSync(probeConfig, JSON.stringify({ ...config, dbPath: copy }), { mode: 0o600 })
      const lines = await runUntilKilled(moduleEntry(HELPER, 'runReceiver', probeConfig), 'done', 30_000)
      for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true })
      const ms = Number(/^done \d+ (\d+)$/m.exec(lines.join('\n'))?.[1])
      expect(ms).toBeGreaterThan(0)
      return ms
    }

    /** Runs the receiving child, killed at random moments, until one finishes its pass; checks b after every kill. */
    const receiveUntilDone = async (phaseTexts: readonly string[]): Promise<void> => {
      let seen = allTexts(b, groupId).length
      const span = await passMs()
      for (let run = 0; ; run++) {
        expect(run).toBeLessThan(MAX_RUNS)
        b.close()
        const lines = await runUntilKilled(moduleEntry(HELPER, 'runReceiver', configPath), Math.floor(Math.random() * span), 30_000)
        b.open()
        expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok')
        expect(b.manager.rejected(groupId)).toEqual([])
        const texts = allTexts(b, groupId)
        expect(new Set(texts).size).toBe(texts.length)
        expect(texts.slice(before).every((t) => expected.includes(t))).toBe(true)
        if (new GroupStore(b.db).ratchets(groupId).length > 0) ratchetRowsSeen = true
        // What is stored no longer holds the key of the last message decrypted: it cannot be decrypted twice.
        const last = b.manager.messages(groupId, { afterId: 0, limit: 1000 }).filter((m) => toHex(m.author) !== b.hex).at(-1)
        if (last !== undefined) {
          const op = b.logs.operationsAfter(last.author, groupId, last.seq - 1, 1)[0]!
          const payload = decodeGroupPayload(op.payload!)
          if (payload.kind !== 'application') throw new Error('expected an application payload')
          await expect(stateCopy(b, groupId).process(payload.message)).rejects.toMatchObject({ code: 'MLS_DECRYPT_FAILED' })
        }
        const done = lines.some((l) => l.startsWith('done '))
        if (!done && texts.length > seen) interrupted++
        seen = texts.length
        if (done) break
      }
      const texts = allTexts(b, groupId)
      for (const t of phaseTexts) expect(texts.filter((x) => x === t)).toHaveLength(1)
    }

    // The owner's three epochs first, then the late member's messages of the first epoch.
    deliver(a, b, groupId, a)
    await receiveUntilDone(expected.filter((t) => t.startsWith('owner-')))
    deliver(c, b, groupId, c)
    await receiveUntilDone(expected)
    // Kills must have landed in the middle of passes, and the per-message rows must have been in use.
    expect(interrupted).toBeGreaterThan(0)
    expect(ratchetRowsSeen).toBe(true)

    await b.manager.send(groupId, text('reader after the crashes'))
    await syncAll([a, b, c], groupId)
    for (const m of [a, b, c]) expect(m.manager.rejected(groupId)).toEqual([])
    expect(a.texts(groupId)).toContain('reader after the crashes')
    expect(c.texts(groupId)).toContain('reader after the crashes')
  })
})
