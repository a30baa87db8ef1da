/**
 * The whole network gone: every relay and authority of a live-profile
 * network frozen with SIGSTOP for 2 minutes (nothing answers, connections
 * stay open: an upstream outage), then resumed, while the nodes keep
 * running and A and B keep writing. Every node must come back without a
 * restart of Burrow: reachable again, reconnected, and holding every message.
 * The network is this file's own: freezing the shared one would stop every
 * other live test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startTestnet, type Testnet } from '../../src/testnet/index.js'
import { isTorOf } from '../../src/testnet/process.js'
import { sleep } from '../../src/util/async.js'
import { recordEvents, recoveryOfX, sameMessages, startTrio, startWriting, xLogSince, type Trio } from './trio.js'

const OUTAGE_MS = 120_000
const RECOVERY_LIMIT_MS = 240_000
const WRITE_EVERY_MS = 2_000

/** SIGSTOP or SIGCONT to every tor of `net`, each checked in /proc to be a tor of that network's directory. */
function signalNetwork(net: Testnet, signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const node of net.state.nodes) {
    if (!isTorOf(node.pid, net.dir)) throw new Error(`refusing to signal ${node.pid}: not a tor of ${net.dir}`)
    process.kill(node.pid, signal)
  }
}

describe('the whole network gone on the live profile', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'burrow-gone-'))
  let net: Testnet | undefined
  let trio: Trio | undefined
  let frozen = false
  afterAll(async () => {
    if (frozen && net !== undefined) signalNetwork(net, 'SIGCONT')
    await trio?.stop()
    await net?.stop()
    rmSync(scratch, { recursive: true, force: true })
  })

  it(`the nodes come back after every relay stopped for ${OUTAGE_MS / 1000} s, without a restart`, { timeout: 900_000 }, async () => {
    net = await startTestnet({ dir: join(scratch, 'net'), profile: 'live', ownerPid: process.pid })
    trio = await startTrio(net, scratch, 'gone')
    const seenA = recordEvents(trio.a, ['onion:reachable', 'node:recovering', 'tor:offline'])
    const seenB = recordEvents(trio.b, ['onion:reachable', 'node:recovering', 'tor:offline'])
    const writing = startWriting(trio, WRITE_EVERY_MS)
    try {
      await sleep(10_000)
      signalNetwork(net, 'SIGSTOP')
      frozen = true
      const stoppedAt = Date.now()
      await sleep(OUTAGE_MS)
      signalNetwork(net, 'SIGCONT')
      frozen = false
      const resumedAt = Date.now()
      const figures = await recoveryOfX(trio, resumedAt, RECOVERY_LIMIT_MS)
      const after = (seen: { name: string; at: number }[], name: string): string => {
        const e = seen.find((x) => x.name === name && x.at >= stoppedAt)
        return e === undefined ? 'never' : `${e.at - resumedAt} ms`
      }
      const events = await trio.x.events()
      const xOffline = events.find((e) => e.name === 'tor:offline' && e.at >= stoppedAt)
      console.log(
        `[gone] network frozen ${resumedAt - stoppedAt} ms; X: offline ${xOffline === undefined ? 'never seen' : `${xOffline.at - stoppedAt} ms after the stop`}, ` +
          `resume → own onion reachable ${figures.reachableMs} ms, → caught up with both peers ${figures.caughtUpMs} ms; ` +
          `A: offline ${after(seenA, 'tor:offline')}, reachable ${after(seenA, 'onion:reachable')}; B: offline ${after(seenB, 'tor:offline')}, reachable ${after(seenB, 'onion:reachable')} (from the resume)`,
      )
      console.log(`[gone] X after the resume:\n  ${xLogSince(trio, resumedAt).slice(0, 60).join('\n  ')}`)
      // Nothing fails fast with every relay frozen: tor must be seen offline by its stalled circuits, or Recovery never runs.
      expect(xOffline).toBeDefined()
    } finally {
      await writing.stop()
    }
    const digests = await sameMessages(trio, 180_000)
    console.log(`[gone] each holds ${digests.x.count} messages (A ${digests.a.count}, B ${digests.b.count})`)
    expect(digests.x).toEqual(digests.a)
    expect(digests.b).toEqual(digests.a)
    for (const node of [trio.a, trio.b]) expect(node.status()).toMatchObject({ state: 'running', reachable: true })
    expect(await trio.x.status()).toMatchObject({ state: 'running', reachable: true })
  })
})
