/**
 * A file transfer over one onion connection does not hold chat messages
 * back: while a peer catches up a 100 MB file log (400 chunks of 256 KiB),
 * a message is written every 250 ms to another shared log. For each, the
 * test counts the file bytes that reached the peer between the moment the
 * message went onto the stream and the moment it arrived: what was ahead of
 * it. At the transfer's own average rate, that must be under a second.
 * (A message's delay also holds whatever stalls the circuit itself, which
 * would delay it as much without any file: printed, not asserted.) Real
 * tor, libp2p, sync and SQLite.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'

const CHUNK = 256 * 1024
const CHUNKS = 400
/** The bound on the file data ahead of any message, in seconds of the transfer's average rate. */
const MAX_HELD_S = 1

describe('a file transfer interleaves with messages over Tor', () => {
  const fileLog = randomBytes(32)
  const chatLog = randomBytes(32)
  let a: NetStack
  let b: NetStack

  beforeAll(async () => {
    ;[a, b] = await Promise.all([startNetStack('ia', [fileLog, chatLog]), startNetStack('ib', [fileLog, chatLog])])
  })

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()])
  })

  it(`holds no message behind more than ${MAX_HELD_S} s of file data while 100 MB flow on the same connection`, async () => {
    // The "file" is written before the peers meet; the chat log gets one message so that its heights are exchanged at once.
    for (let i = 0; i < CHUNKS; i += 20) a.append(fileLog, 20, CHUNK)
    a.append(chatLog, 1)
    // One connection, dialed by B: the file flows from A's onion service to B, like the bench's.
    a.connector.stop()
    await Promise.all([a.allow(b), b.allow(a)])
    await until(() => b.logs.heights(chatLog).size > 0, 120_000, 'the first message')

    const author = toHex(a.keys.identity.publicKey)
    const sentAt = new Map<number, number>()
    /** File bytes B had stored when each message went onto A's stream. */
    const fileAtWire = new Map<number, number>()
    const delays = new Map<number, number>()
    const ahead = new Map<number, number>()
    let fileBytes = 0
    const fileHeld = (): number => (b.logs.heights(fileLog).get(author) ?? -1) + 1
    a.sync.on('sent', ({ logId, seq }) => {
      if (toHex(logId) === toHex(chatLog)) fileAtWire.set(seq, fileBytes)
    })
    b.sync.on('ingested', ({ logId, operations, stored }) => {
      if (toHex(logId) === toHex(fileLog)) {
        fileBytes += stored * CHUNK
        return
      }
      for (const op of operations) {
        const { seq } = op.header
        const at = sentAt.get(seq)
        if (at === undefined || delays.has(seq)) continue
        delays.set(seq, Date.now() - at)
        ahead.set(seq, fileBytes - (fileAtWire.get(seq) ?? fileBytes))
      }
    })
    const started = Date.now()
    let heldAtFirst = 0
    while (fileHeld() < CHUNKS) {
      if (Date.now() - started > 170_000) throw new Error(`the file did not arrive: ${fileHeld()} of ${CHUNKS} chunks`)
      const [op] = a.append(chatLog, 1)
      sentAt.set(op!.header.seq, Date.now())
      if (sentAt.size === 1) heldAtFirst = fileHeld()
      await new Promise((r) => setTimeout(r, 250))
    }
    const seconds = (Date.now() - started) / 1000
    await until(() => delays.size === sentAt.size, 30_000, 'the last messages')
    const rate = (CHUNKS * CHUNK) / seconds
    const sorted = [...delays.values()].sort((x, y) => x - y)
    const held = [...ahead.values()].map((bytes) => bytes / rate).sort((x, y) => x - y)
    const at = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!
    console.log(
      `[interleave] 100 MB in ${seconds.toFixed(1)} s (${(rate / 1e6).toFixed(2)} MB/s), ${b.sync.sessionsWith(a.peerId)} session; ${delays.size} messages: ` +
        `delay median ${at(sorted, 0.5)} ms, p95 ${at(sorted, 0.95)} ms, worst ${sorted.at(-1)} ms; ` +
        `file data ahead median ${at(held, 0.5).toFixed(2)} s, p95 ${at(held, 0.95).toFixed(2)} s, worst ${held.at(-1)!.toFixed(2)} s of the average rate`,
    )
    // The messages really were sent while the file was flowing.
    expect(heldAtFirst).toBeLessThan(CHUNKS / 2)
    expect(delays.size).toBeGreaterThan(10)
    expect(held.at(-1)).toBeLessThan(MAX_HELD_S)
  })
})
