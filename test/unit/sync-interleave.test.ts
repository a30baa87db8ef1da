// A log of large operations (a file's chunks) shares the stream with the
// other logs: it sends a bounded slice per turn, so a chat message pushed
// meanwhile is not held behind the whole file; and a policy can refuse
// operations of a shared log.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex, type LogId } from '../../src/log/index.js'
import { SEND_SLICE_BYTES, SyncSession, WRITE_HIGH_WATER, type SyncPolicy } from '../../src/net/sync/index.js'
import { channelPair } from '../helpers/channel.js'
import { TestAuthor, tempStore } from '../helpers/logs.js'

const sharing = (...logs: LogId[]): SyncPolicy => ({
  sharedLogs: () => logs,
  mayShare: (_peer, logId) => logs.some((l) => toHex(l) === toHex(logId)),
})

const CHUNK = 256 * 1024

describe('sync interleaving', () => {
  it('delivers a message pushed during a 24 MiB catch-up after at most a slice, the stream queue and the receiver inbox of file bytes', async () => {
    const fileLog = randomBytes(32)
    const chatLog = randomBytes(32)
    const a = tempStore()
    const b = tempStore()
    const sender = new TestAuthor()
    a.store.ingest(sender.many(fileLog, 96, CHUNK))
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(fileLog, chatLog) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: sharing(fileLog, chatLog) })
    let fileBytes = 0
    let atOffer: number | undefined
    let atMessage: number | undefined
    const sentEvents: number[] = []
    sA.on('sent', ({ logId, seq }) => toHex(logId) === toHex(fileLog) && sentEvents.push(seq))
    const message = new Promise<void>((resolve) => {
      sB.on('ingested', ({ logId, operations }) => {
        if (toHex(logId) === toHex(fileLog)) {
          fileBytes += operations.reduce((n, op) => n + (op.payload?.length ?? 0), 0)
          // Once the file is well under way, a chat message is written and offered.
          if (atOffer === undefined && fileBytes >= 4 * CHUNK) {
            atOffer = fileBytes
            const chat = sender.many(chatLog, 1, 200)
            a.store.ingest(chat)
            sA.offer(chat)
          }
        } else if (atMessage === undefined) {
          atMessage = fileBytes
          resolve()
        }
      })
    })
    const done = new Promise<void>((resolve) => sB.on('caught-up', ({ logId }) => toHex(logId) === toHex(fileLog) && resolve()))
    void sA.start()
    void sB.start()
    // The chat log's heights are known from the start (its `have`), so the offer is pushed at once.
    await message
    await done
    expect(b.store.counts().operations).toBe(97)
    const behind = atMessage! - atOffer!
    // What was already queued when the message was offered: the rest of the slice being sent, the
    // stream's queue, the receiver's inbox of frames (1 MiB and one frame), and the frame being stored.
    expect(behind).toBeLessThanOrEqual(SEND_SLICE_BYTES + WRITE_HIGH_WATER + 1024 * 1024 + 2 * CHUNK)
    expect(behind).toBeLessThan((96 - 4) * CHUNK / 4)
    // The sender reported each chunk handed to the stream.
    expect(sentEvents.at(-1)).toBe(95)
    await sA.close()
  })

  it('reads a log of large payloads from the store a slice at a time', async () => {
    const fileLog = randomBytes(32)
    const a = tempStore()
    const b = tempStore()
    a.store.ingest(new TestAuthor().many(fileLog, 40, CHUNK))
    const reads: number[] = []
    const read = a.store.wireOperationsAfter.bind(a.store)
    a.store.wireOperationsAfter = (...args) => {
      const rows = read(...args)
      reads.push(rows.reduce((n, r) => n + (r.payload?.length ?? 0), 0))
      return rows
    }
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(fileLog) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: sharing(fileLog) })
    const done = new Promise<void>((resolve) => sB.on('caught-up', () => resolve()))
    void sA.start()
    void sB.start()
    await done
    expect(b.store.counts().operations).toBe(40)
    expect(Math.max(...reads)).toBeLessThanOrEqual(SEND_SLICE_BYTES)
    await sA.close()
  })

  it('drops, unread and without ending the session, operations of a shared log that the policy refuses', async () => {
    const log = randomBytes(32)
    const a = tempStore()
    const b = tempStore()
    const owner = new TestAuthor()
    const stranger = new TestAuthor()
    a.store.ingest([...owner.many(log, 5), ...stranger.many(log, 3)])
    const policyB: SyncPolicy = { ...sharing(log), accepts: (_peer, header) => toHex(header.author) === toHex(owner.publicKey) && header.seq < 3 }
    const [chA, chB] = channelPair()
    const sA = new SyncSession({ peer: 'B', channel: chA, store: a.store, policy: sharing(log) })
    const sB = new SyncSession({ peer: 'A', channel: chB, store: b.store, policy: policyB })
    const done = new Promise<void>((resolve) => sB.on('caught-up', () => resolve()))
    void sA.start()
    void sB.start()
    await done
    expect(b.store.heights(log)).toEqual(new Map([[toHex(owner.publicKey), 2]]))
    expect(sB.closed).toBe(false)
    await sA.close()
  })
})
