// The send window (net/sync/send-window.ts): how many bytes of operations a
// session keeps in flight until the peer confirms them, sized to the rate
// the peer confirms; and a peer that never confirms (an older node).
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex, type LogId } from '../../src/log/index.js'
import { MAX_FRAMES_IN_FLIGHT, SendWindow } from '../../src/net/sync/send-window.js'
import { FrameDecoder, SyncSession, encodeFrame, type SyncPolicy } from '../../src/net/sync/index.js'
import { channelPair } from '../helpers/channel.js'
import { fc, fuzz } from '../helpers/fuzz.js'
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

/** The window as first written, one list scanned per confirmation: what the indexed window must still do. */
class ListWindow {
  inFlight: { logKey: string; authorKey: string; seq: number; bytes: number }[] = []
  bytes = 0
  sent(logKey: string, authorKey: string, seq: number, bytes: number): void {
    this.inFlight.push({ logKey, authorKey, seq, bytes })
    this.bytes += bytes
  }
  confirm(logKey: string, authorKey: string, height: number): boolean {
    const covers = (f: ListWindow['inFlight'][number]): boolean => f.logKey === logKey && f.authorKey === authorKey && f.seq <= height
    const last = this.inFlight.findLastIndex(covers)
    if (last < 0) return false
    // Everything up to the last frame it covers: confirmed, or refused by a peer that handles frames in order.
    this.inFlight = this.inFlight.slice(last + 1)
    this.bytes = this.inFlight.reduce((n, f) => n + f.bytes, 0)
    return true
  }
  forget(logKey: string): void {
    this.inFlight = this.inFlight.filter((f) => f.logKey !== logKey)
    this.bytes = this.inFlight.reduce((n, f) => n + f.bytes, 0)
  }
}

type WindowStep = { kind: 'sent'; log: number; author: number; step: number; bytes: number } | { kind: 'confirm'; log: number; author: number; height: number } | { kind: 'forget'; log: number }

const windowStep: fc.Arbitrary<WindowStep> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sent' as const), log: fc.nat(2), author: fc.nat(3), step: fc.integer({ min: 1, max: 3 }), bytes: fc.integer({ min: 1, max: 300_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('confirm' as const), log: fc.nat(2), author: fc.nat(4), height: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), log: fc.nat(2) }) },
)

describe('what the send window frees', () => {
  fuzz('sync: send window', [fc.array(windowStep, { maxLength: 60 })], { runs: 1000 })(
    'is what a confirmation covers and everything sent before it, as with one list scanned per confirmation',
    (steps) => {
      const window = new SendWindow()
      const model = new ListWindow()
      // An author's frames go out by rising seq; a log forgotten starts over (the session forgets the peer's heights with it).
      const nextSeq = new Map<string, number>()
      for (const s of steps) {
        if (s.kind === 'sent') {
          const seq = (nextSeq.get(`${s.log}/${s.author}`) ?? -1) + s.step
          nextSeq.set(`${s.log}/${s.author}`, seq)
          window.sent(`log${s.log}`, `author${s.author}`, seq, s.bytes, 0)
          model.sent(`log${s.log}`, `author${s.author}`, seq, s.bytes)
        } else if (s.kind === 'confirm') {
          expect(window.confirm(`log${s.log}`, `author${s.author}`, s.height, 10)).toBe(model.confirm(`log${s.log}`, `author${s.author}`, s.height))
        } else {
          window.forget(`log${s.log}`)
          model.forget(`log${s.log}`)
          for (const k of [...nextSeq.keys()]) if (k.startsWith(`${s.log}/`)) nextSeq.delete(k)
        }
        expect(window.bytes).toBe(model.bytes)
      }
    },
  )
})

describe('the send window against a hostile peer', () => {
  it('spends a lookup on a confirmation naming an author with nothing in flight, however much is in flight', () => {
    const window = new SendWindow()
    const log = randomBytes(32).toString('hex')
    for (let i = 0; i < 10_000; i++) window.sent(log, randomBytes(32).toString('hex'), 0, 100, 0)
    const before = window.bytes
    const madeUp = Array.from({ length: 10_000 }, () => randomBytes(32).toString('hex'))
    const started = performance.now()
    let freed = 0
    for (const author of madeUp) if (window.confirm(log, author, 5, 1)) freed++
    const elapsed = performance.now() - started
    expect(freed).toBe(0)
    expect(window.bytes).toBe(before)
    // A list scanned per confirmation took 0.8 to 1 s here (10,000 × 10,000 comparisons); a lookup each, a few ms.
    expect(elapsed).toBeLessThan(60)
  })

  it('keeps at most MAX_FRAMES_IN_FLIGHT frames, letting the oldest go as if confirmed', () => {
    const window = new SendWindow()
    for (let seq = 0; seq < MAX_FRAMES_IN_FLIGHT + 100; seq++) window.sent('log', 'alice', seq, 1, 0)
    expect(window.bytes).toBe(MAX_FRAMES_IN_FLIGHT)
    // The 100 oldest were let go: confirming them frees nothing more.
    expect(window.confirm('log', 'alice', 99, 1)).toBe(false)
    expect(window.confirm('log', 'alice', 100, 1)).toBe(true)
    expect(window.bytes).toBe(MAX_FRAMES_IN_FLIGHT - 1)
  })

  it('keeps nothing once turned off: a peer that never confirms', () => {
    const window = new SendWindow()
    window.sent('log', 'alice', 0, 256 * 1024, 0)
    window.off()
    expect(window.bytes).toBe(0)
    for (let seq = 1; seq <= 10_000; seq++) window.sent('log', 'alice', seq, 256 * 1024, 0)
    expect(window.bytes).toBe(0)
    expect(window.open).toBe(true)
    // Nothing was kept for a confirmation to find.
    expect(window.confirm('log', 'alice', 10_000, 1)).toBe(false)
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

  it('is told what was refused, holds it back, and offers it again in the same session when the peer asks', async () => {
    const log = randomBytes(32)
    const author = new TestAuthor()
    const a = tempStore()
    const b = tempStore()
    a.store.ingest(author.many(log, 6, 1024))
    let full = true
    let offered = 0
    const policyB: SyncPolicy = {
      ...sharing(log),
      accepts: () => {
        offered++
        return !full
      },
    }
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(log) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: policyB })
    void sA.start()
    void sB.start()
    const until = async (done: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 10_000
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(done(), what).toBe(true)
    }
    await until(() => offered >= 6, 'A to offer its six operations')
    // New operations of the author: held back, not offered again and again while B refuses them.
    await new Promise((r) => setTimeout(r, 200))
    const newer = author.many(log, 3, 1024)
    a.store.ingest(newer)
    sA.offer(newer)
    await new Promise((r) => setTimeout(r, 300))
    expect(offered).toBe(6)
    expect(b.store.heights(log).size).toBe(0)
    // B has room now and asks again for what it refused (as the disk floor does): A sends all nine in this session.
    full = false
    sB.askRefused()
    await until(() => b.store.heights(log).get(toHex(author.publicKey)) === 8, 'B to hold all nine')
    expect(sA.closed || sB.closed).toBe(false)
    await sA.close()
    await sB.close()
  })
})
