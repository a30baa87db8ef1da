// The send window (net/sync/send-window.ts): how many bytes of operations a
// session keeps in flight until the peer confirms them, sized to the rate
// the peer confirms; and a peer that never confirms (an older node).
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex, type LogId } from '../../src/log/index.js'
import { SendWindow } from '../../src/net/sync/send-window.js'
import { FrameDecoder, SyncSession, encodeFrame, type SyncPolicy } from '../../src/net/sync/index.js'
import { channelPair } from '../helpers/channel.js'
import { TestAuthor, tempStore } from '../helpers/logs.js'

const sharing = (...logs: LogId[]): SyncPolicy => ({
  sharedLogs: () => logs,
  mayShare: (_peer, logId) => logs.some((l) => toHex(l) === toHex(logId)),
})

describe('the send window', () => {
  it('closes at 1 MiB in flight, opens as the peer confirms, and frees only what a confirmation covers', () => {
    const w = new SendWindow()
    expect(w.open).toBe(true)
    for (let seq = 0; seq < 4; seq++) w.sent('log', 'alice', seq, 256 * 1024, 0)
    expect(w.open).toBe(false)
    expect(w.confirm('log', 'bob', 3, 10)).toBe(false)
    expect(w.confirm('other', 'alice', 3, 10)).toBe(false)
    expect(w.confirm('log', 'alice', 1, 10)).toBe(true)
    expect(w.bytes).toBe(512 * 1024)
    expect(w.open).toBe(true)
    w.forget('log')
    expect(w.bytes).toBe(0)
  })

  it('sizes itself to 0.3 s of the confirmed rate, within its bounds', () => {
    const fast = new SendWindow()
    // 8 MB/s confirmed: 100 KB sent every 12.5 ms for a second, each confirmed 50 ms later.
    for (let i = 0; i < 80; i++) {
      fast.sent('log', 'a', i, 100_000, i * 12.5)
      if (i >= 4) fast.confirm('log', 'a', i - 4, i * 12.5)
    }
    expect(fast.size).toBeGreaterThan(0.3 * 8e6 * 0.8)
    expect(fast.size).toBeLessThan(0.3 * 8e6 * 1.2)
    const slow = new SendWindow()
    // 100 KB/s: the window stays at its floor of 320 KiB.
    for (let i = 0; i < 20; i++) {
      slow.sent('log', 'a', i, 10_000, i * 100)
      if (i >= 1) slow.confirm('log', 'a', i - 1, i * 100)
    }
    expect(slow.size).toBe(320 * 1024)
  })
})

describe('a session with a full window', () => {
  it('holds a large log at the window until the peer confirms; a peer that never confirms gets no window after 3 s', async () => {
    const log = randomBytes(32)
    const a = tempStore()
    a.store.ingest(new TestAuthor().many(log, 40, 256 * 1024))
    const [chA, chB] = channelPair()
    const session = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(log) })
    void session.start()
    // A peer that announces it holds nothing, then reads everything and never confirms.
    chB.send(encodeFrame({ type: 'have', logId: log, heights: [] }))
    const decoder = new FrameDecoder()
    let ops = 0
    const reading = (async () => {
      for await (const chunk of chB) for (const f of decoder.push(chunk)) if (f.type === 'ops') ops += f.ops.length
    })()
    await new Promise((r) => setTimeout(r, 1_500))
    // The first megabyte, and no more, while no confirmation came.
    expect(ops).toBeGreaterThanOrEqual(4)
    expect(ops).toBeLessThanOrEqual(6)
    const deadline = Date.now() + 10_000
    while (ops < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(ops).toBe(40)
    await session.close()
    await reading.catch(() => {})
  })
})

describe('a peer that refuses some operations (a keeper over its quota)', () => {
  it('frees the window of what it refused: the operations it takes still flow', async () => {
    const refusedLog = randomBytes(32)
    const takenLog = randomBytes(32)
    const refused = new TestAuthor()
    const taken = new TestAuthor()
    const a = tempStore()
    const b = tempStore()
    // 3 MiB the peer refuses, next to 3 MiB it takes: more than the window (1 MiB) each.
    a.store.ingest([...refused.many(refusedLog, 12, 256 * 1024), ...taken.many(takenLog, 12, 256 * 1024)])
    const policyB: SyncPolicy = { ...sharing(refusedLog, takenLog), accepts: (_peer, header) => toHex(header.author) === toHex(taken.publicKey) }
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(refusedLog, takenLog) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: policyB })
    void sA.start()
    void sB.start()
    const deadline = Date.now() + 10_000
    const height = (): number => b.store.heights(takenLog).get(toHex(taken.publicKey)) ?? -1
    while (height() < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(height()).toBe(11)
    expect(b.store.heights(refusedLog).size).toBe(0)
    expect(sB.closed).toBe(false)
    await sA.close()
    await sB.close()
  })
})
