import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { VerifierPool, createOperation, toHex, verifyForkProof, type LogId, type Operation } from '../../src/log/index.js'
import { DEFAULT_FRAME_LIMITS, FrameDecoder, encodeFrame, SyncSession, type SyncPolicy } from '../../src/net/sync/index.js'
import type { LogStore } from '../../src/store/index.js'
import { channelPair } from '../helpers/channel.js'
import { TestAuthor, tempStore } from '../helpers/logs.js'

const sharedPolicy = (...logs: LogId[]): SyncPolicy => ({
  sharedLogs: () => logs,
  mayShare: (_peer, logId) => logs.some((l) => toHex(l) === toHex(logId)),
})

function waitFor<T>(emitter: SyncSession, event: 'caught-up' | 'ingested' | 'closed' | 'ephemeral', predicate: (arg: T) => boolean = () => true, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms)
    const listener = (arg: T): void => {
      if (!predicate(arg)) return
      clearTimeout(timer)
      emitter.off(event, listener as never)
      resolve(arg)
    }
    emitter.on(event, listener as never)
  })
}

function allOps(store: LogStore, logId: LogId): string[] {
  const hashes: string[] = []
  for (const [author] of store.heights(logId)) {
    for (const op of store.operationsAfter(Buffer.from(author, 'hex'), logId, -1, 1_000_000)) hashes.push(toHex(op.hash))
  }
  return hashes.sort()
}

function pair(policyA: SyncPolicy, policyB: SyncPolicy, verifierA?: VerifierPool) {
  const a = tempStore()
  const b = tempStore()
  const [chA, chB] = channelPair()
  const sessionA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: policyA, ...(verifierA !== undefined ? { verifier: verifierA } : {}) })
  const sessionB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: policyB })
  return { a, b, chA, chB, sessionA, sessionB }
}

describe('sync session', () => {
  it('replicates both ways, then pushes live, with backpressure', async () => {
    const log = randomBytes(32)
    const { a, b, chA, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    const alice = new TestAuthor()
    const bob = new TestAuthor()
    a.store.ingest(alice.many(log, 600, 1024))
    b.store.ingest(bob.many(log, 400, 1024))

    const caughtUpA = waitFor(sessionA, 'caught-up')
    const caughtUpB = waitFor(sessionB, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await Promise.all([caughtUpA, caughtUpB])
    expect(allOps(a.store, log)).toEqual(allOps(b.store, log))
    expect(a.store.counts().operations).toBe(1000)

    const fresh = alice.many(log, 5)
    a.store.ingest(fresh)
    const pushed = waitFor<{ operations: Operation[] }>(sessionB, 'ingested', (e) => e.operations.some((o) => o.header.seq === 604))
    sessionA.offer(fresh)
    await pushed
    expect(b.store.heights(log).get(toHex(alice.publicKey))).toBe(604)

    // Offering the same operations again sends nothing: the peer is known to hold them
    // (once the confirmations of what was stored, and their answers, have passed).
    await new Promise((r) => setTimeout(r, 200))
    const before = chA.sent
    sessionA.offer(fresh)
    await new Promise((r) => setTimeout(r, 50))
    expect(chA.sent).toBe(before)
    await sessionA.close()
  })

  it('pauses its channel while its inbox is full, resumes it, and loses nothing', async () => {
    const log = randomBytes(32)
    const a = tempStore()
    const b = tempStore()
    a.store.ingest(new TestAuthor().many(log, 2_000, 1024))
    const [chA, chB] = channelPair()
    // Small frames, and a receiver slower than the link: its inbox of frames fills.
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharedPolicy(log), frameTargetBytes: 8 * 1024 })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: sharedPolicy(log) })
    const calls: string[] = []
    const [pause, resume] = [chB.pause.bind(chB), chB.resume.bind(chB)]
    chB.pause = () => (calls.push('pause'), pause())
    chB.resume = () => (calls.push('resume'), resume())
    const ingest = b.store.ingest.bind(b.store)
    b.store.ingest = (ops) => {
      const until = performance.now() + 2
      while (performance.now() < until);
      return ingest(ops)
    }
    const done = waitFor(sB, 'caught-up')
    void sA.start()
    void sB.start()
    await done
    expect(b.store.counts().operations).toBe(2_000)
    expect(calls.length).toBeGreaterThan(0)
    // Strictly alternating, ending resumed.
    expect(calls.every((c, i) => c === (i % 2 === 0 ? 'pause' : 'resume'))).toBe(true)
    expect(calls.at(-1)).toBe('resume')
    await sA.close()
  })

  it('resumes after a disconnect without re-sending what the peer has', async () => {
    const log = randomBytes(32)
    const alice = new TestAuthor()
    const a = tempStore()
    const b = tempStore()
    const first = alice.many(log, 300)
    a.store.ingest(first)
    b.store.ingest(first.slice(0, 290))
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharedPolicy(log) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: sharedPolicy(log) })
    const done = waitFor(sB, 'caught-up')
    void sA.start()
    void sB.start()
    await done
    expect(b.store.counts().operations).toBe(300)
    // 10 operations of ~100 B payload and ~200 B header, plus small frames: far below what 300 would cost.
    expect(chA.sent).toBeLessThan(10 * 400 + 1_000)
  })

  it('two peers holding different operations at the same position both detect the fork (two devices, one identity)', async () => {
    const log = randomBytes(32)
    const device1 = new TestAuthor()
    const { a, b, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    const common = device1.many(log, 3)
    a.store.ingest(common)
    b.store.ingest(common)
    // Device 2 holds the same keys and history, and writes its own operation at seq 3.
    const device2 = createOperation({ signer: device1.signer, logId: log, seq: 3, backlink: common[2]!.hash, payload: randomBytes(50) })
    expect(a.store.ingest([device1.next(log)]).stored).toBe(1)
    expect(b.store.ingest([device2]).stored).toBe(1)
    // Equal heights (3 each): without the anchor headers nothing would pass.
    const forks: string[] = []
    sessionA.on('fork', () => forks.push('A'))
    sessionB.on('fork', () => forks.push('B'))
    const caughtUp = Promise.all([waitFor(sessionA, 'caught-up'), waitFor(sessionB, 'caught-up')])
    void sessionA.start()
    void sessionB.start()
    await caughtUp
    expect(forks.sort()).toEqual(['A', 'B'])
    for (const store of [a.store, b.store]) {
      expect(store.isForked(device1.publicKey, log)).toBe(true)
      expect(verifyForkProof(store.getForkProofs()[0]!).seq).toBe(3)
    }
    expect(sessionA.closed || sessionB.closed).toBe(false)
    await sessionA.close()
  })

  it('falls quiet once both sides hold the same: a confirmation brings no anchor back, so no confirmation answers it', async () => {
    const log = randomBytes(32)
    const alice = new TestAuthor()
    const { a, chA, chB, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    a.store.ingest(alice.many(log, 50))
    const caughtUp = waitFor(sessionB, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await caughtUp
    // Confirmations go within 50 ms; give the exchange time to settle, then watch it.
    await new Promise((r) => setTimeout(r, 300))
    const before = chA.sent + chB.sent
    await new Promise((r) => setTimeout(r, 500))
    expect(chA.sent + chB.sent - before).toBe(0)
    await sessionA.close()
  })

  it('never names a log the peer does not share, and drops data for it unstored', async () => {
    const shared = randomBytes(32)
    const secret = randomBytes(32)
    const { a, b, chB, sessionA, sessionB } = pair(sharedPolicy(shared), sharedPolicy(shared))
    const carol = new TestAuthor()
    b.store.ingest(carol.many(secret, 20))
    b.store.ingest(carol.many(shared, 3))
    const seen: string[] = []
    const decoder = new FrameDecoder()
    const send = chB.send.bind(chB)
    chB.send = (data: Uint8Array) => {
      for (const f of decoder.push(data)) seen.push(toHex(f.logId))
      return send(data)
    }
    const done = waitFor(sessionA, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await done
    expect(seen).not.toContain(toHex(secret))
    expect(a.store.heights(secret).size).toBe(0)
    expect(a.store.counts().operations).toBe(3)

    // Operations of a log we do not share with this peer are dropped unread
    // (a removed member may not know yet); the session goes on.
    send(encodeFrame({ type: 'ops', logId: secret, ops: carol.many(secret, 1).map((o) => ({ header: o.headerBytes, payload: o.payload ?? null })) }))
    const more = carol.many(shared, 1)
    b.store.ingest(more)
    const pushed = waitFor<{ operations: Operation[] }>(sessionA, 'ingested')
    sessionB.offer(more)
    await pushed
    expect(a.store.heights(secret).size).toBe(0)
    expect(sessionA.closed).toBe(false)
  })

  it('cuts off a peer that sends a forged operation and keeps the good data', async () => {
    const log = randomBytes(32)
    const { a, b, chB, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    const alice = new TestAuthor()
    const good = alice.many(log, 10)
    b.store.ingest(good)
    const done = waitFor(sessionA, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await done
    expect(a.store.counts().operations).toBe(10)

    const next = alice.next(log)
    const forged = next.headerBytes.slice()
    forged[forged.length - 1]! ^= 0xff // breaks the signature
    const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
    chB.send(encodeFrame({ type: 'ops', logId: log, ops: [{ header: forged, payload: next.payload ?? null }] }))
    const { error } = await closed
    expect(error).toMatchObject({ code: 'SYNC_PROTOCOL' })
    expect(a.store.counts().operations).toBe(10)
    expect(allOps(a.store, log)).toEqual(good.map((o) => toHex(o.hash)).sort())
  })

  it('stores the good operations before a forged one deep in a large frame, and none after it', async () => {
    const log = randomBytes(32)
    const { a, chB, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    const ops = new TestAuthor().many(log, 700)
    const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
    void sessionA.start()
    void sessionB.start()
    // One frame of 700 operations (stored in several slices), the 600th with a broken signature.
    const wire = ops.map((op) => ({ header: op.headerBytes.slice(), payload: op.payload ?? null }))
    wire[599]!.header[wire[599]!.header.length - 1]! ^= 0xff
    chB.send(encodeFrame({ type: 'ops', logId: log, ops: wire }))
    const { error } = await closed
    expect(error).toMatchObject({ code: 'SYNC_PROTOCOL' })
    expect(allOps(a.store, log)).toEqual(ops.slice(0, 599).map((o) => toHex(o.hash)).sort())
  })

  it('handles queued frames in order: a malformed one ends the session after those before it, and none after it is stored', async () => {
    const log = randomBytes(32)
    const { a, chB, sessionA } = pair(sharedPolicy(log), sharedPolicy(log))
    const author = new TestAuthor()
    const ops = author.many(log, 300)
    const wire = (from: number, to: number) => ops.slice(from, to).map((op) => ({ header: op.headerBytes, payload: op.payload ?? null }))
    const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
    void sessionA.start()
    // Four frames in one write, so they are queued together: good, good, a header that is not CBOR, good.
    const frames = [
      encodeFrame({ type: 'ops', logId: log, ops: wire(0, 100) }),
      encodeFrame({ type: 'ops', logId: log, ops: wire(100, 200) }),
      encodeFrame({ type: 'ops', logId: log, ops: [{ header: new Uint8Array([0xff, 0x00, 0x01]), payload: null }] }),
      encodeFrame({ type: 'ops', logId: log, ops: wire(200, 300) }),
    ]
    chB.send(Buffer.concat(frames))
    const { error } = await closed
    expect(error).toMatchObject({ code: 'SYNC_PROTOCOL' })
    expect(allOps(a.store, log)).toEqual(ops.slice(0, 200).map((o) => toHex(o.hash)).sort())
  })

  it('with a verifier pool checking frames ahead, stores them in order and ends the session at a forged operation of a later frame', async () => {
    const log = randomBytes(32)
    const verifier = new VerifierPool({ threads: 2 })
    try {
      const { a, chB, sessionA } = pair(sharedPolicy(log), sharedPolicy(log), verifier)
      const authors = [new TestAuthor(), new TestAuthor()]
      const ops = authors.map((author) => author.many(log, 400))
      // Four frames in one write, queued and verified together; the third forges author 0's seq 250.
      const wire = (from: number, to: number) =>
        ops.flatMap((chain) => chain.slice(from, to)).map((op) => ({ header: op.headerBytes.slice(), payload: op.payload ?? null }))
      const third = wire(200, 300)
      third[50]!.header[third[50]!.header.length - 1]! ^= 0xff
      const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
      void sessionA.start()
      chB.send(Buffer.concat([wire(0, 100), wire(100, 200), third, wire(300, 400)].map((frame) => encodeFrame({ type: 'ops', logId: log, ops: frame }))))
      const { error } = await closed
      expect(error).toMatchObject({ code: 'SYNC_PROTOCOL', cause: { code: 'LOG_INVALID_SIGNATURE' } })
      expect(verifier.running).toBe(2)
      // The third frame's first slice of 128 (author 0's 200–299, author 1's 200–227) is stored but for the forgery and what follows it in its log.
      expect(a.store.heights(log)).toEqual(new Map([[toHex(authors[0]!.publicKey), 249], [toHex(authors[1]!.publicKey), 227]]))
    } finally {
      await verifier.close()
    }
  })

  it('confirms what it stored with the heights of those authors only, not of every author of the log', async () => {
    const log = randomBytes(32)
    const { a, b, chA, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    for (const author of Array.from({ length: 50 }, () => new TestAuthor())) {
      const ops = author.many(log, 2)
      a.store.ingest(ops)
      b.store.ingest(ops)
    }
    const caughtUp = waitFor(sessionA, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await caughtUp
    // The first round ends with each side's tip headers (anchors) and their confirmations: let it settle.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const haves: string[][] = []
    const decoder = new FrameDecoder()
    const send = chA.send.bind(chA)
    chA.send = (data: Uint8Array) => {
      for (const f of decoder.push(data)) if (f.type === 'have') haves.push(f.heights.map((h) => `${toHex(h.author)}:${h.seq}`))
      return send(data)
    }
    const dave = new TestAuthor()
    const stored = waitFor(sessionA, 'ingested')
    const news = dave.many(log, 3)
    b.store.ingest(news)
    sessionB.offer(news)
    await stored
    const deadline = Date.now() + 5_000
    while (haves.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(haves).toEqual([[`${toHex(dave.publicKey)}:2`]])
  })

  it('pushes a log once it becomes shared, using heights the peer announced before', async () => {
    const log = randomBytes(32)
    let aShares = false
    const policyA: SyncPolicy = { sharedLogs: () => (aShares ? [log] : []), mayShare: () => aShares }
    const { a, b, sessionA, sessionB } = pair(policyA, sharedPolicy(log))
    const owner = new TestAuthor()
    a.store.ingest(owner.many(log, 4))
    const answered = waitFor(sessionB, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await answered // A answered B's `have` without data: not shared yet
    expect(b.store.counts().operations).toBe(0)
    aShares = true // e.g. B was just invited into A's group
    const pushed = waitFor<{ operations: Operation[] }>(sessionB, 'ingested')
    sessionA.share(log)
    await pushed
    expect(b.store.counts().operations).toBe(4)
  })

  it('sends a log it just shared ahead of its `have`, without waiting a round trip for the peer’s heights', async () => {
    const log = randomBytes(32)
    let aShares = false
    const policyA: SyncPolicy = { sharedLogs: () => (aShares ? [log] : []), mayShare: () => aShares }
    const { a, b, chA, chB, sessionA, sessionB } = pair(policyA, sharedPolicy(log))
    a.store.ingest(new TestAuthor().many(log, 4))
    const answered = waitFor(sessionB, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await answered
    await new Promise((resolve) => setTimeout(resolve, 200))
    // B's answers are held back, as if still on their way: A must push without them.
    const held: Uint8Array[] = []
    const sendB = chB.send.bind(chB)
    chB.send = (data: Uint8Array) => (held.push(data), true)
    // Operations A sends with their payloads (an anchor is a header alone).
    let sentWhole = 0
    const decoder = new FrameDecoder()
    const sendA = chA.send.bind(chA)
    chA.send = (data: Uint8Array) => {
      for (const f of decoder.push(data)) if (f.type === 'ops') sentWhole += f.ops.filter((op) => op.payload !== null).length
      return sendA(data)
    }
    aShares = true // e.g. B was just invited into A's group
    const pushed = waitFor(sessionB, 'ingested', () => b.store.counts().operations === 4, 2_000)
    sessionA.share(log)
    await pushed
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(held.length).toBeGreaterThan(0) // B's answer, written after it stored them
    // B's answer (its heights: none) then arrives; A must not send the log again.
    chB.send = sendB
    for (const data of held) sendB(data)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(sentWhole).toBe(4)
    expect(allOps(a.store, log)).toEqual(allOps(b.store, log))
  })

  it('sends again what it sent ahead while the peer did not share the log yet, once it does', async () => {
    const log = randomBytes(32)
    let aShares = false
    let bShares = false
    const policyA: SyncPolicy = { sharedLogs: () => (aShares ? [log] : []), mayShare: () => aShares }
    const policyB: SyncPolicy = { sharedLogs: () => (bShares ? [log] : []), mayShare: () => bShares }
    const { a, b, sessionA, sessionB } = pair(policyA, policyB)
    a.store.ingest(new TestAuthor().many(log, 4))
    void sessionA.start()
    void sessionB.start()
    await new Promise((resolve) => setTimeout(resolve, 200))
    aShares = true // e.g. a keeper named by A, before the keeper took the group on
    sessionA.share(log)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(b.store.counts().operations).toBe(0) // dropped unread
    bShares = true
    const pushed = waitFor(sessionB, 'ingested', () => b.store.counts().operations === 4)
    sessionB.share(log)
    await pushed
    expect(allOps(a.store, log)).toEqual(allOps(b.store, log))
  })

  it('pushes both ways when the peer shares a log after us: its `have` asks for ours, which we sent while it kept nothing', async () => {
    const log = randomBytes(32)
    let bShares = false
    const policyB: SyncPolicy = { sharedLogs: () => (bShares ? [log] : []), mayShare: () => bShares }
    const { a, b, sessionA, sessionB } = pair(sharedPolicy(log), policyB)
    a.store.ingest(new TestAuthor().many(log, 4)) // e.g. the inviter's log with the Welcome
    b.store.ingest(new TestAuthor().many(log, 3))
    const answered = waitFor(sessionA, 'caught-up')
    void sessionA.start()
    void sessionB.start()
    await answered // B answered A's `have` without data, and kept nothing of it
    bShares = true // e.g. B made a key package for A's group
    const done = Promise.all([
      waitFor(sessionB, 'ingested', () => b.store.counts().operations === 7),
      waitFor(sessionA, 'ingested', () => a.store.counts().operations === 7),
    ])
    sessionB.share(log)
    await done
    expect(allOps(a.store, log)).toEqual(allOps(b.store, log))
  })

  it('sends the heights of a log with more authors than a have frame takes in several frames', async () => {
    const log = randomBytes(32)
    const frameLimits = { ...DEFAULT_FRAME_LIMITS, maxAuthorsPerFrame: 3 }
    const a = tempStore()
    const b = tempStore()
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharedPolicy(log), frameLimits })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: sharedPolicy(log), frameLimits })
    for (const author of Array.from({ length: 7 }, () => new TestAuthor())) a.store.ingest(author.many(log, 2))
    for (const author of Array.from({ length: 8 }, () => new TestAuthor())) b.store.ingest(author.many(log, 2))
    const done = Promise.all([
      waitFor(sA, 'ingested', () => a.store.counts().operations === 30),
      waitFor(sB, 'ingested', () => b.store.counts().operations === 30),
    ])
    void sA.start()
    void sB.start()
    await done
    expect(allOps(a.store, log)).toEqual(allOps(b.store, log))
    expect(sA.closed || sB.closed).toBe(false)
  })

  it('cuts off a peer that sends garbage', async () => {
    const log = randomBytes(32)
    const { sessionA, chB } = pair(sharedPolicy(log), sharedPolicy(log))
    void sessionA.start()
    const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
    chB.send(new Uint8Array([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect((await closed).error).toMatchObject({ code: 'SYNC_PROTOCOL' })
  })

  it('refuses a frame longer than the limit before buffering it', async () => {
    const log = randomBytes(32)
    const { sessionA, chB } = pair(sharedPolicy(log), sharedPolicy(log))
    void sessionA.start()
    const closed = waitFor<{ error?: Error }>(sessionA, 'closed')
    chB.send(new Uint8Array([0x7f, 0xff, 0xff, 0xff]))
    expect((await closed).error).toMatchObject({ code: 'SYNC_PROTOCOL' })
  })

  it('delivers ephemeral messages without storing them', async () => {
    const log = randomBytes(32)
    const { a, b, sessionA, sessionB } = pair(sharedPolicy(log), sharedPolicy(log))
    void sessionA.start()
    void sessionB.start()
    const got = waitFor<{ data: Uint8Array }>(sessionB, 'ephemeral')
    await sessionA.sendEphemeral(log, new TextEncoder().encode('typing…'))
    expect(new TextDecoder().decode((await got).data)).toBe('typing…')
    expect(a.store.counts().operations + b.store.counts().operations).toBe(0)
  })
})
