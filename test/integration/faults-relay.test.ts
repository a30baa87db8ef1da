/**
 * A relay of the private Tor network stopped and restarted during sync: A
 * catches B up on 5,000 operations while both keep appending; a relay (not
 * an authority) that carries one of their rendezvous circuits is stopped
 * mid-sync, and restarted after a while. Sync resumes; at the end both
 * sides hold identical logs. Whether operations got across during the
 * outage is printed (see the comment in the test).
 *
 * The network is shared with the other integration files: the relay is
 * restarted in a `finally`, whatever happens here.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { serviceIdOf, type CircEvent, type HsDescEvent, type StatusClientEvent } from '../../src/tor/index.js'
import { clientTorrcLines, startRelay, startTestnet, stopRelay, type Testnet } from '../../src/testnet/index.js'
import { bySoak, logHashes, startAppending } from '../helpers/faults.js'
import { traceMark, tracing } from '../helpers/trace.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'

const LONG = 120_000
/**
 * Sync must resume within this after the relay is back. The slowest path: a
 * rendezvous circuit that died silently, found by libp2p's connection
 * monitor (up to 60 s to the next probe, 60 s for its answer), then one
 * onion dial tor leaves hanging (30-s SOCKS bound), a retry, and slack.
 * 180 s was once too short in CI (29 November 2026), cause not established.
 * Traced since (BURROW_TEST_TRACE), 3 of 26 runs were slow (18-37 s after
 * the restart). In the two with tor's logs, one end's tor went 20-30 s
 * without building a circuit or closing the ones through the stopped relay,
 * so its side kept a dead connection and its onion service had no
 * introduction points; sync came back within 1.5 s of that tor waking up
 * (as it took a new consensus). Once (CI, 29 November 2026, untraced) 240 s
 * were not enough either: neither end had a connection, and both ends'
 * last dial had failed with onion-descriptor-not-found 3 s before the end.
 * Twelve traced runs next to the load test since (30 November 2026) all
 * resumed 0.1-2.6 s after the restart, so that failure is still untraced.
 * It came back in CI on 5 December 2026 (both ends again), and twelve runs
 * next to the load and interleave tests that day all resumed within 0.2 s.
 * One guess, not confirmed: the private network's onion time period is 4
 * minutes, and tor does not retry a lost descriptor upload (it uploads
 * again when its intro points or the set of HSDirs change, or for the next
 * period). So the bound covers two periods, and when it is not met the
 * test prints each tor's descriptor uploads and fetches to tell.
 */
const RESUME_MS = 480_000
const CATCH_UP = 5_000
/** How long the relay stays down, and appending goes on after it is back. */
const OUTAGE_MS = bySoak(10_000, 60_000)
const TAIL_MS = bySoak(5_000, 30_000)

/** Highest seq of `author`'s log of `topic` held by `holder` (-1 for none). */
function heightOf(holder: NetStack, author: NetStack, topic: Uint8Array): number {
  return holder.logs.heights(topic).get(toHex(author.keys.identity.publicKey)) ?? -1
}

/** What `x` knows of its link to `other`: logged when sync does not come back. */
function linkState(x: NetStack, other: NetStack): string {
  const connections = x.net.libp2p
    .getConnections()
    .filter((c) => c.remotePeer.toString() === other.peerId)
    .map((c) => `${c.direction} ${c.status} for ${Math.round((Date.now() - c.timeline.open) / 1000)} s`)
  const error = x.table.get(other.peerId)?.lastError
  const lastError = error === undefined ? 'none' : `${error.code} ${Math.round((Date.now() - error.at) / 1000)} s ago`
  return `connections [${connections.join(', ')}], sync session ${x.sync.peers().includes(other.peerId) ? 'running' : 'none'}, last error ${lastError}`
}

/** Nicknames of the relays on the stack's built rendezvous circuits (the ones carrying its onion connections). */
async function rendezvousRelays(stack: NetStack): Promise<string[]> {
  const status = (await stack.tor.control.getInfo(['circuit-status']))['circuit-status'] ?? ''
  return status
    .split('\n')
    .filter((line) => / BUILT /.test(line) && /PURPOSE=HS_(CLIENT|SERVICE)_REND/.test(line))
    .flatMap((line) => (line.split(' ')[2] ?? '').split(','))
    .map((hop) => hop.split('~')[1] ?? '')
}

/**
 * What one stack's tor did with onion-service descriptors and circuits from
 * the stop of the relay on: printed when sync does not come back, to tell a
 * descriptor that is missing (our uploads failed) from one that cannot be
 * fetched, and a tor that builds no circuits.
 */
function torDiary(x: NetStack, other: NetStack, since: number): { summary(): string; stop(): void } {
  const own = serviceIdOf(x.keys.onionAddress)
  const theirs = serviceIdOf(other.keys.onionAddress)
  const lines: string[] = []
  const circuits = { built: 0, failed: 0, lastBuiltAt: undefined as number | undefined }
  const at = (): string => `${((Date.now() - since) / 1000).toFixed(1)}s`
  const onDesc = (ev: HsDescEvent): void => {
    const whose = ev.address === own ? 'own' : ev.address === theirs ? 'peer' : undefined
    if (whose === undefined) return
    lines.push(`${at()} ${whose} ${ev.action}${ev.reason === undefined ? '' : ` ${ev.reason}`} ${ev.hsDir.split('~')[1] ?? ev.hsDir}`)
  }
  const onCirc = (ev: CircEvent): void => {
    if (ev.status === 'BUILT') {
      circuits.built++
      circuits.lastBuiltAt = Date.now()
    } else if (ev.status === 'FAILED') circuits.failed++
  }
  // Tor's own word on its health: CIRCUIT_NOT_ESTABLISHED, DIR_ALL_UNREACHABLE, CLOCK_JUMPED …
  const onStatus = (ev: StatusClientEvent): void => {
    if (ev.action !== 'BOOTSTRAP') lines.push(`${at()} tor ${ev.action}${ev.args.REASON === undefined ? '' : ` ${ev.args.REASON}`}`)
  }
  const control = x.tor.control
  control.on('HS_DESC', onDesc)
  control.on('CIRC', onCirc)
  control.on('STATUS_CLIENT', onStatus)
  return {
    summary: () =>
      `circuits built ${circuits.built}, failed ${circuits.failed}, last built ${circuits.lastBuiltAt === undefined ? 'never' : `${((Date.now() - circuits.lastBuiltAt) / 1000).toFixed(0)} s ago`}; ` +
      `descriptors and status (last 60 of ${lines.length}): ${lines.slice(-60).join('; ')}`,
    stop: () => {
      control.off('HS_DESC', onDesc)
      control.off('CIRC', onCirc)
      control.off('STATUS_CLIENT', onStatus)
    },
  }
}

describe('a relay stopped and restarted during sync', () => {
  const topic = randomBytes(32)
  let testnet: Testnet
  let a: NetStack
  let b: NetStack

  // A network of its own: stopping a relay of the suite's shared network would
  // stall the connections of test files running at the same time.
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-net-'))
    testnet = await startTestnet({ dir, ownerPid: process.pid })
    const torLines = clientTorrcLines(testnet.state)
    ;[a, b] = await Promise.all([startNetStack('fault-relay-a', [topic], { torLines }), startNetStack('fault-relay-b', [topic], { torLines })])
  })

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()])
    if (testnet !== undefined) {
      await testnet.stop()
      // A traced run keeps the relays' own logs.
      if (tracing) traceMark(`the network's tors logged in ${testnet.dir}`)
      else rmSync(testnet.dir, { recursive: true, force: true })
    }
  })

  it(`a ${CATCH_UP}-operation catch-up and live appends survive a relay outage`, { timeout: bySoak(780_000, 1_140_000) }, async () => {
    a.append(topic, CATCH_UP)
    b.append(topic, 500)
    await Promise.all([a.allow(b), b.allow(a)])
    const fromA = startAppending(a, topic, 50)
    const fromB = startAppending(b, topic, 100)
    let stopped: string | undefined
    let diaries: ReturnType<typeof torDiary>[] = []
    try {
      await until(() => heightOf(b, a, topic) >= 0, LONG, 'the catch-up to begin')
      const relays = testnet.state.nodes.filter((n) => n.role === 'relay').map((n) => n.nickname)
      const onCircuits = [...(await rendezvousRelays(a)), ...(await rendezvousRelays(b))].filter((n) => relays.includes(n))
      // The most used relay on their circuits; any relay if none of them is (the authorities carry everything).
      const count = (n: string): number => onCircuits.filter((x) => x === n).length
      const victim = [...relays].sort((x, y) => count(y) - count(x))[0]!
      console.log(`[faults] relay: B held ${heightOf(b, a, topic) + 1} of A's ${CATCH_UP}+ operations when ${victim} (on ${count(victim)} rendezvous circuit hops) was stopped`)

      traceMark(`stopping ${victim}`)
      stopped = victim
      const stoppedAt = Date.now()
      diaries = [torDiary(a, b, stoppedAt), torDiary(b, a, stoppedAt)]
      await stopRelay(testnet, victim)
      // Measured, not asserted: progress during a short outage is not guaranteed. Right after a
      // relay on the circuit dies, tor can leave a new onion dial unanswered until Burrow's 30-s
      // SOCKS bound, and (traced) an end's tor can build no onion-service circuits for 20-30 s.
      const markA = heightOf(a, a, topic)
      const markB = heightOf(b, b, topic)
      let crossedMs: number | undefined
      while (Date.now() - stoppedAt < OUTAGE_MS) {
        if (crossedMs === undefined && heightOf(b, a, topic) > markA && heightOf(a, b, topic) > markB) crossedMs = Date.now() - stoppedAt
        await new Promise((r) => setTimeout(r, 100))
      }

      traceMark(`restarting ${victim}`)
      await startRelay(testnet, victim)
      traceMark(`${victim} is back`)
      stopped = undefined
      const restartedAt = Date.now()
      const againA = heightOf(a, a, topic)
      const againB = heightOf(b, b, topic)
      await until(() => heightOf(b, a, topic) > againA && heightOf(a, b, topic) > againB, RESUME_MS, 'sync after the relay is back').catch((err: unknown) => {
        console.log(`[faults] relay: no sync ${RESUME_MS} ms after the restart (${restartedAt - stoppedAt} ms after the stop). A: ${linkState(a, b)}. B: ${linkState(b, a)}`)
        console.log(`[faults] relay: A's tor: ${diaries[0]?.summary()}`)
        console.log(`[faults] relay: B's tor: ${diaries[1]?.summary()}`)
        throw err
      })
      console.log(
        `[faults] relay: down ${restartedAt - stoppedAt} ms; new operations crossed both ways ${crossedMs === undefined ? 'not during the outage' : `${crossedMs} ms after the stop`}; ` +
          `crossed ${Date.now() - restartedAt} ms after the restart`,
      )
      await new Promise((r) => setTimeout(r, TAIL_MS))
    } finally {
      for (const diary of diaries) diary.stop()
      fromA.stop()
      fromB.stop()
      if (stopped !== undefined) await startRelay(testnet, stopped)
    }

    const started = Date.now()
    await until(() => logHashes(a.logs, topic).join() === logHashes(b.logs, topic).join(), LONG, 'both logs to converge')
    expect(logHashes(a.logs, topic)).toEqual(logHashes(b.logs, topic))
    expect(heightOf(b, a, topic)).toBe(CATCH_UP + fromA.appended - 1)
    expect(heightOf(a, b, topic)).toBe(500 + fromB.appended - 1)
    console.log(`[faults] relay: converged ${Date.now() - started} ms after appending stopped; ${a.logs.counts().operations} operations on both sides`)
  })
})
