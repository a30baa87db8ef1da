/**
 * Flow control of sync over real yamux streams (in memory, no tor): a
 * paused receiver holds the sender to one window instead of buffering all it
 * sends, the sender keeps a bounded amount queued, and pausing loses nothing.
 */
import { randomBytes } from 'node:crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { toHex, type LogId } from '../../src/log/index.js'
import { streamChannel } from '../../src/net/stream-channel.js'
import { FrameDecoder, SyncSession, WRITE_HIGH_WATER, encodeFrame, type ByteChannel, type SessionLimits, type SyncPolicy } from '../../src/net/sync/index.js'
import { sleep } from '../../src/util/async.js'
import { retainedMiB } from '../helpers/heap.js'
import { TestAuthor, tempStore } from '../helpers/logs.js'

/** yamux's per-stream receive window here (its default): what a paused receiver lets the sender have in flight. */
const WINDOW = 256 * 1024

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** Two yamux muxers over an in-memory connection, and one stream between them. */
async function yamuxStreams(): Promise<{ dialer: Stream; listener: Stream; closeConnection: () => Promise<void> }> {
  const [outbound, inbound] = multiaddrConnectionPair()
  const factory = yamux({ streamOptions: { initialStreamWindowSize: WINDOW, maxStreamWindowSize: WINDOW } })()
  const client = factory.createStreamMuxer(outbound)
  const server = factory.createStreamMuxer(inbound)
  cleanups.push(() => {
    client.abort(new Error('test over'))
    server.abort(new Error('test over'))
  })
  const incoming = new Promise<Stream>((resolve) => server.addEventListener('stream', (evt) => resolve(evt.detail), { once: true }))
  const dialer = await client.createStream()
  dialer.send(new Uint8Array([0])) // a yamux stream reaches the other side with its first data
  const listener = await incoming
  for await (const first of streamChannel(listener)) if (first.length > 0) break
  return { dialer, listener, closeConnection: () => outbound.close() }
}

/** Reads `channel` to its end in the background, paused from the start; resolves with the byte count. */
function readPaused(channel: ByteChannel): Promise<number> {
  let read = 0
  // The generator registers its listeners on the loop's first step, before pause() below.
  const reading = (async () => {
    for await (const chunk of channel) read += chunk.length
    return read
  })()
  channel.pause()
  return reading
}

const shared = (logId: LogId): SyncPolicy => ({ sharedLogs: () => [logId], mayShare: (_peer, id) => toHex(id) === toHex(logId) })

/** A sync session on the dialer's end of a yamux stream, holding `count` operations of 1 KiB in one log; the test plays the peer on `listener`. */
async function yamuxSender(count: number, limits: Partial<SessionLimits>) {
  const { dialer, listener } = await yamuxStreams()
  const log = randomBytes(32)
  const a = tempStore()
  cleanups.push(a.close)
  const ops = new TestAuthor().many(log, count, 1024)
  a.store.ingest(ops)
  const sender = new SyncSession({ peer: 'B', channel: streamChannel(dialer), store: a.store, policy: shared(log), limits })
  return { dialer, listener, log, ops, sender }
}

describe('sync flow control over yamux', () => {
  it('a paused stream delivers what it held back when the peer closes', async () => {
    const { dialer, listener } = await yamuxStreams()
    const channel = streamChannel(listener)
    const reading = readPaused(channel)
    const sent = randomBytes(3 * 64 * 1024)
    for (let at = 0; at < sent.length; at += 64 * 1024) dialer.send(sent.subarray(at, at + 64 * 1024))
    await dialer.close()
    await sleep(200)
    channel.resume()
    expect(await reading).toBe(sent.length)
  })

  it('a stream paused when its connection closes delivers what it held, and resuming does not throw', async () => {
    const { dialer, listener, closeConnection } = await yamuxStreams()
    const channel = streamChannel(listener)
    const reading = readPaused(channel)
    const sent = randomBytes(3 * 64 * 1024)
    for (let at = 0; at < sent.length; at += 64 * 1024) dialer.send(sent.subarray(at, at + 64 * 1024))
    await sleep(200)
    await closeConnection()
    await sleep(100)
    expect(() => channel.resume()).not.toThrow()
    expect(await reading).toBe(sent.length)
  })

  it('a paused receiver holds a sync sender to one window and its high-water mark', async () => {
    const { dialer, listener } = await yamuxStreams()
    const log = randomBytes(32)
    const a = tempStore()
    cleanups.push(a.close)
    const ops = new TestAuthor().many(log, 4_000, 1024)
    a.store.ingest(ops)

    const senderChannel = streamChannel(dialer)
    let handed = 0
    let maxQueued = 0
    const send = senderChannel.send.bind(senderChannel)
    senderChannel.send = (data) => {
      handed += data.length
      const more = send(data)
      maxQueued = Math.max(maxQueued, senderChannel.writeBufferLength)
      return more
    }
    const sender = new SyncSession({ peer: 'B', channel: senderChannel, store: a.store, policy: shared(log) })
    void sender.start()

    // The receiving end asks for everything, then reads nothing for a while.
    const receiving = streamChannel(listener)
    receiving.pause()
    listener.send(encodeFrame({ type: 'have', logId: log, heights: [] }))
    await sleep(500)
    const inFlight = handed - dialer.writeBufferLength
    expect(inFlight).toBeGreaterThan(WINDOW / 2)
    expect(inFlight).toBeLessThanOrEqual(WINDOW + 64 * 1024)
    // Its own queue: the high-water mark (256 KiB) and one frame (~128 KiB) beyond it.
    expect(maxQueued).toBeLessThan(WRITE_HIGH_WATER + 132 * 1024)

    // Resumed, it gets every operation.
    receiving.resume()
    const decoder = new FrameDecoder()
    let received = 0
    for await (const chunk of receiving) {
      for (const frame of decoder.push(chunk)) if (frame.type === 'ops') received += frame.ops.length
      if (received === ops.length) break
    }
    expect(received).toBe(ops.length)
    await sender.close()
  }, 60_000)
  it('a peer that never reads: 50,000 offers hold one waiting entry, and the session ends with SYNC_PEER_STALLED', async () => {
    const drainTimeoutMs = 3_000
    const { dialer, listener, log, ops, sender } = await yamuxSender(2_000, { drainTimeoutMs })
    const closed = new Promise<{ error?: Error; at: number }>((resolve) => sender.once('closed', ({ error }) => resolve({ error, at: Date.now() })))
    void sender.start()

    // The peer asks for everything and never reads: one window, then our queue fills to its high-water mark.
    streamChannel(listener).pause()
    listener.send(encodeFrame({ type: 'have', logId: log, heights: [] }))
    await sleep(300)
    const before = retainedMiB()
    const offered = Date.now()
    for (let i = 0; i < 50_000; i++) sender.offer([ops[i % ops.length]!])
    // Before: one queued send per offer, 17.6 MiB retained for 50,000.
    expect(retainedMiB() - before).toBeLessThan(1)
    expect(dialer.writeBufferLength).toBeLessThan(WRITE_HIGH_WATER + 132 * 1024)

    const { error, at } = await closed
    expect(error).toMatchObject({ code: 'SYNC_PEER_STALLED' })
    // It stalled from ~300 ms before the offers: closed within the drain timeout of that, plus one wait step.
    expect(at - offered).toBeLessThan(drainTimeoutMs + 1_500)
  }, 30_000)

  it('a slow peer that keeps reading is not cut off, however long the transfer takes', async () => {
    const drainTimeoutMs = 1_000
    const { listener, log, ops, sender } = await yamuxSender(1_500, { drainTimeoutMs })
    void sender.start()

    const receiving = streamChannel(listener)
    listener.send(encodeFrame({ type: 'have', logId: log, heights: [] }))
    const started = Date.now()
    const decoder = new FrameDecoder()
    let received = 0
    for await (const chunk of receiving) {
      for (const frame of decoder.push(chunk)) if (frame.type === 'ops') received += frame.ops.length
      if (received === ops.length) break
      // ~64 KiB every 200 ms: ~300 KiB/s, so the transfer takes several drain timeouts.
      await sleep(200)
    }
    expect(received).toBe(ops.length)
    expect(Date.now() - started).toBeGreaterThan(3 * drainTimeoutMs)
    expect(sender.closed).toBe(false)
    await sender.close()
  }, 60_000)
})
