/**
 * A hostile allow-listed peer against a node's sync, over onion services on
 * the private Tor network. The node under attack runs in a child process
 * (test/helpers/sync-victim.ts), so that its resident memory is measured
 * alone; the attacker is a stack in this process that opens a raw sync stream.
 */
import { randomBytes } from 'node:crypto'
import type { Connection } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { onionMultiaddr } from '../../src/net/index.js'
import { streamChannel } from '../../src/net/stream-channel.js'
import { SYNC_PROTOCOL, drainedTo } from '../../src/net/sync/index.js'
import { haveFlood } from '../helpers/have-flood.js'
import { TEST_PORT, startNetStack, until, type NetStack } from '../helpers/net-stack.js'
import { startVictim, type Victim } from '../helpers/sync-victim.js'
import { testnetLines } from '../helpers/tor.js'

/** Bytes of `have` frames the attacker sends (the review's attack sent 103 MiB). */
const FLOOD_BYTES = Number(process.env.BURROW_HAVE_FLOOD_MIB ?? 48) * 1024 * 1024
/** One `have` frame in ten names the shared topic (with made-up authors); the others name logs the victim does not have. */
const SHARED_EVERY = 10
/**
 * What the flood may add to the victim's resident memory at its peak, in
 * MiB. Before the fix, 48 MiB of frames took it from 148 to 445 MiB (heap
 * +145 MiB, kept); after, +16 to +19 MiB at the peak and nothing kept.
 */
const RSS_BOUND_MIB = 32

describe('a hostile allow-listed peer', () => {
  const topic = randomBytes(32)
  let victim: Victim
  let attacker: NetStack

  beforeAll(async () => {
    ;[victim, attacker] = await Promise.all([startVictim(testnetLines(), topic), startNetStack('attacker', [topic])])
    await victim.allow(attacker.card)
    await attacker.allow(victim.card)
  })

  /** Waits until the victim holds the attacker's own log up to `seq`. */
  async function victimHolds(seq: number): Promise<void> {
    const author = toHex(attacker.keys.identity.publicKey)
    const deadline = Date.now() + 120_000
    while ((await victim.heightOf(author)) !== seq) {
      if (Date.now() > deadline) throw new Error(`the victim did not get the attacker's operations up to ${seq}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  afterAll(async () => {
    await Promise.allSettled([victim?.stop(), attacker?.stop()])
  })

  it(`cannot grow the node's memory with ${FLOOD_BYTES / 1024 / 1024} MiB of have frames, and honest sync goes on`, { timeout: 420_000 }, async () => {
    // Honest sync first: both hold each other's operations.
    attacker.append(topic, 20)
    await victim.append(20)
    await until(() => attacker.logs.counts().operations === 40, 120_000, 'the attacker to hold 40 operations')
    await victimHolds(19)
    const errorBefore = await victim.lastError(attacker.peerId)

    const before = await victim.memory()
    await victim.markPeak()
    // The victim holds at most two sessions with a peer (the next test). Two nodes that dialed each other at once hold
    // two connections, each with the session its dialer opened: the attacker then drops the connection it dialed (and
    // stops redialing, as an attacker would), so that the flood gets the free place instead of being refused at once.
    // The flood goes over a connection whose sync the attacker's own node does not keep open.
    attacker.connector.stop()
    const toVictim = (): Connection[] => attacker.net.libp2p.getConnections().filter((c) => c.remotePeer.toString() === victim.peerId && c.status === 'open')
    if ((await victim.sessions(attacker.peerId)) >= 2) {
      for (const c of toVictim()) if (c.direction === 'outbound') await c.close()
      await until(async () => (await victim.sessions(attacker.peerId)) < 2, 30_000, 'the victim to count fewer than two sessions with the attacker')
    }
    const connection = toVictim()[0]!
    const stream = await connection.newStream(SYNC_PROTOCOL)
    const channel = streamChannel(stream)
    // The attacker reads (and drops) what the victim answers, so that only the `have` frames weigh.
    const reading = (async () => {
      for await (const _ of channel);
    })().catch(() => {})
    const haveFrame = haveFlood()
    const started = Date.now()
    let sent = 0
    let frames = 0
    while (sent < FLOOD_BYTES && stream.status === 'open') {
      const frame = haveFrame(frames % SHARED_EVERY === 0 ? topic : randomBytes(32))
      channel.send(frame)
      sent += frame.length
      frames++
      if (!(await drainedTo(channel, 1024 * 1024, () => stream.status === 'open'))) break
    }
    const floodSeconds = (Date.now() - started) / 1000
    // The last frames may still be on their way or queued at the victim.
    await new Promise((r) => setTimeout(r, 3_000))
    const after = await victim.memory()
    const lastError = await victim.lastError(attacker.peerId)
    const cutOff = lastError?.at === errorBefore?.at ? undefined : lastError
    console.log(
      `[have flood] ${frames} frames, ${(sent / 1024 / 1024).toFixed(1)} MiB in ${floodSeconds.toFixed(1)} s; ` +
        `victim RSS ${before.rss} MiB before, peak ${after.peakRss}, ${after.rss} after (heap ${before.heapUsed} -> ${after.heapUsed} MiB); ` +
        `stream ${stream.status}; victim's last error for the attacker: ${cutOff?.code ?? 'none'}`,
    )
    stream.abort(new Error('attack over'))
    await reading
    attacker.connector.start()

    // A flood that never got going would prove nothing.
    expect(sent).toBeGreaterThan(FLOOD_BYTES / 2)
    expect(after.peakRss - before.rss).toBeLessThan(RSS_BOUND_MIB)
    // Nothing of it is kept.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(4)

    // Honest sync still works, both ways.
    attacker.append(topic, 5)
    await victim.append(5)
    await victimHolds(24)
    await until(() => attacker.logs.counts().operations === 50, 120_000, 'the attacker to hold 50 operations')
  })

  it('cannot hold more than two sync sessions, however many connections and streams it opens', { timeout: 180_000 }, async () => {
    // The victim's own onion address: the existing connection may be the victim's dial, whose remote address is not dialable.
    const victimAddr = onionMultiaddr(victim.card.onionAddress, TEST_PORT, victim.peerId)
    const opened = []
    for (let i = 0; i < 3; i++) {
      // A new connection each time (force), with as many sync streams as libp2p lets it open.
      const connection = await attacker.net.libp2p.dial(victimAddr, { force: true })
      for (let j = 0; j < 2; j++) {
        const stream = await connection.newStream(SYNC_PROTOCOL).catch(() => undefined)
        if (stream !== undefined) opened.push(stream)
      }
    }
    // Give the victim time to refuse what is over its bound.
    await new Promise((r) => setTimeout(r, 3_000))
    expect(opened.length).toBeGreaterThan(2)
    expect(await victim.sessions(attacker.peerId)).toBeLessThanOrEqual(2)
    for (const stream of opened) stream.abort(new Error('test over'))
  })
})
