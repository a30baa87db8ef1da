/**
 * Load: five net stacks that all allow each other append continuously for a
 * bounded time (60 s here, 10 min in a soak run). When they stop, all five
 * converge to identical logs within a bound, and this process's memory stays
 * bounded while they run. Figures (RSS of this process and of every tor)
 * are printed for the report.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bySoak, logHashes, sampleRss, startAppending, vmRssMb, type Appender } from '../helpers/faults.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'

const STACKS = 5
const LOAD_MS = bySoak(60_000, 600_000)
const APPEND_EVERY_MS = 40
/** Memory is compared from the end of this warm-up: libp2p, SQLite caches and JIT have settled by then. */
const WARM_UP_MS = 15_000
/**
 * Generous bound on this process's RSS growth after warm-up. What must stay
 * in memory does not grow with the log: SQLite's page cache is bounded
 * (about 2 MB per connection), sync reads the store in batches of 256, and
 * frames are capped at 1 MiB each. 150 MB is several times what five nodes'
 * caches and buffers can hold, and about what keeping every operation of a
 * 10-minute soak (5 × 75,000 copies of ~300 bytes) in memory would cost, so
 * such a leak would show in a soak run.
 */
const MAX_GROWTH_MB = 150
/**
 * Bound on forming the mesh and on converging. Generous on purpose: tor can
 * leave one onion dial unanswered until Burrow's 90-s SOCKS timeout (seen
 * during the allow-list re-publications, and when the relay fault test stops
 * a relay of the shared network meanwhile); the retry then connects.
 */
const SETTLE_MS = 180_000

function connectedPairs(stacks: NetStack[]): number {
  let pairs = 0
  for (const [i, x] of stacks.entries()) {
    for (const y of stacks.slice(i + 1)) {
      if (x.net.libp2p.getConnections().some((c) => c.remotePeer.toString() === y.peerId && c.status === 'open')) pairs++
    }
  }
  return pairs
}

describe('load: five stacks appending continuously', () => {
  const topic = randomBytes(32)
  let stacks: NetStack[] = []

  beforeAll(async () => {
    stacks = await Promise.all(Array.from({ length: STACKS }, (_, i) => startNetStack(`fault-load-${i}`, [topic])))
    // Each allow re-publishes the stack's onion: in turn per stack, all stacks at once.
    await Promise.all(stacks.map(async (x) => {
      for (const y of stacks) if (y !== x) await x.allow(y)
    }))
  })

  afterAll(async () => {
    await Promise.allSettled(stacks.map((s) => s.stop()))
  })

  it(`converges after ${LOAD_MS / 1000} s of appends every ${APPEND_EVERY_MS} ms on each of ${STACKS} stacks, with bounded memory`, { timeout: bySoak(480_000, 1_200_000) }, async () => {
    const meshPairs = (STACKS * (STACKS - 1)) / 2
    const meshStarted = Date.now()
    await until(() => connectedPairs(stacks) === meshPairs, SETTLE_MS, 'the full mesh to connect')

    const meshMs = Date.now() - meshStarted
    const rss = sampleRss(1_000)
    const torRssAtStart = stacks.map((s) => vmRssMb(s.tor.pid!) ?? 0)
    const appenders: Appender[] = stacks.map((s) => startAppending(s, topic, APPEND_EVERY_MS))
    const loadStarted = Date.now()
    let warmSample = 0
    try {
      await new Promise((r) => setTimeout(r, WARM_UP_MS))
      warmSample = rss.samples.length - 1
      await new Promise((r) => setTimeout(r, LOAD_MS - WARM_UP_MS))
    } finally {
      for (const a of appenders) a.stop()
    }
    const appended = appenders.reduce((n, a) => n + a.appended, 0)
    const lagAtStop = stacks.map((s) => appended - s.logs.counts().operations)

    const stoppedAt = Date.now()
    const reference = (): string => logHashes(stacks[0]!.logs, topic).join()
    await until(() => stacks.every((s) => s.logs.counts().operations === appended) && stacks.every((s) => logHashes(s.logs, topic).join() === reference()), SETTLE_MS, 'all five stacks to converge')
    const convergeMs = Date.now() - stoppedAt
    rss.stop()
    const torRssAtEnd = stacks.map((s) => vmRssMb(s.tor.pid!) ?? 0)

    const expected = logHashes(stacks[0]!.logs, topic)
    expect(expected).toHaveLength(appended)
    for (const s of stacks) expect(logHashes(s.logs, topic)).toEqual(expected)
    for (const [i, s] of stacks.entries()) expect(s.logs.heights(topic).get(Buffer.from(s.keys.identity.publicKey).toString('hex'))).toBe(appenders[i]!.appended - 1)

    const warm = rss.samples[warmSample]!
    const after = rss.samples.slice(warmSample)
    const peak = Math.max(...after)
    console.log(
      `[faults] load: full mesh ${meshMs} ms after the allows; ${appended} operations in ${((stoppedAt - loadStarted) / 1000).toFixed(1)} s (${(appended / ((stoppedAt - loadStarted) / 1000)).toFixed(0)}/s); ` +
        `behind at stop: ${lagAtStop.join(', ')}; converged ${convergeMs} ms after stop\n` +
        `[faults] load: process RSS MB: start ${rss.samples[0]}, after warm-up ${warm}, peak ${peak}, end ${rss.samples.at(-1)} (${rss.samples.length} samples)\n` +
        `[faults] load: tor RSS MB at start ${torRssAtStart.join(', ')}; at end ${torRssAtEnd.join(', ')}`,
    )
    expect(peak - warm).toBeLessThan(MAX_GROWTH_MB)
  })
})
