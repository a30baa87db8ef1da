/**
 * Tor SIGKILLed during live sync: A and B replicate a topic while both keep
 * appending; one side's tor is killed mid-stream (A's first, then the sides
 * alternate). The supervisor restarts it, the same onion is published again,
 * the peers reconnect and sync resumes; when the appending stops both hold
 * exactly the same operations.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { bySoak, killOwnChild, logHashes, startAppending } from '../helpers/faults.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'

const LONG = 120_000
const KILLS = bySoak(2, 10)
/** Appending goes on this long after the last restart. */
const TAIL_MS = bySoak(5_000, 60_000)

function connected(x: NetStack, y: NetStack): boolean {
  return x.net.libp2p.getConnections().some((c) => c.remotePeer.toString() === y.peerId && c.status === 'open')
}

/** Highest seq of `author`'s log of `topic` held by `holder` (-1 for none). */
function heightOf(holder: NetStack, author: NetStack, topic: Uint8Array): number {
  return holder.logs.heights(topic).get(toHex(author.keys.identity.publicKey)) ?? -1
}

describe('tor SIGKILLed during live sync', () => {
  const topic = randomBytes(32)
  let a: NetStack
  let b: NetStack

  beforeAll(async () => {
    ;[a, b] = await Promise.all([startNetStack('fault-kill-a', [topic]), startNetStack('fault-kill-b', [topic])])
    await Promise.all([a.allow(b), b.allow(a)])
  })

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()])
  })

  it(`restarts tor with the same onion, resumes sync and loses nothing (${KILLS} kill${KILLS > 1 ? 's' : ''})`, { timeout: bySoak(300_000, 1_200_000) }, async () => {
    await until(() => connected(a, b) || connected(b, a), LONG, 'A and B to connect')
    const fromA = startAppending(a, topic, 50)
    const fromB = startAppending(b, topic, 200)
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        const [victim, peer] = kill % 2 === 1 ? [a, b] : [b, a]
        // Live: the peer receives the victim's fresh operations while it keeps appending.
        const mark = heightOf(victim, victim, topic)
        await until(() => heightOf(peer, victim, topic) > mark, LONG, `${victim.name}'s live operations to reach ${peer.name}`)

        const pid = victim.tor.pid!
        const address = victim.onion.address
        const lost = new Promise<void>((resolve) => victim.tor.once('lost', () => resolve()))
        const ready = new Promise<void>((resolve) => victim.tor.once('ready', () => resolve()))
        const republished = new Promise<void>((resolve) => victim.onion.once('published', () => resolve()))
        const killedAt = Date.now()
        killOwnChild(pid, 'tor')
        await lost
        await ready
        await republished
        const restartMs = Date.now() - killedAt

        // A new tor process, the same onion address, and the service is registered on it again.
        expect(victim.tor.pid).not.toBe(pid)
        expect(victim.onion.address).toBe(address)
        const onions = await victim.tor.control.getInfo(['onions/current'])
        expect(onions['onions/current']).toContain(victim.onion.serviceId)

        // Sync resumes in both directions over a new connection.
        const afterA = heightOf(a, a, topic)
        const afterB = heightOf(b, b, topic)
        await until(() => heightOf(b, a, topic) > afterA && heightOf(a, b, topic) > afterB, LONG, 'sync to resume both ways after the restart')
        console.log(`[faults] tor kill ${kill} (${victim.name}): tor back and onion re-published in ${restartMs} ms; sync resumed ${Date.now() - killedAt} ms after the kill`)
      }
      await new Promise((r) => setTimeout(r, TAIL_MS))
    } finally {
      fromA.stop()
      fromB.stop()
    }

    const started = Date.now()
    await until(() => a.logs.counts().operations === b.logs.counts().operations && logHashes(a.logs, topic).join() === logHashes(b.logs, topic).join(), LONG, 'both logs to converge')
    expect(logHashes(a.logs, topic)).toEqual(logHashes(b.logs, topic))
    expect(heightOf(b, a, topic)).toBe(fromA.appended - 1)
    expect(heightOf(a, b, topic)).toBe(fromB.appended - 1)
    expect(a.logs.counts().operations).toBe(fromA.appended + fromB.appended)
    console.log(`[faults] tor kill: converged ${Date.now() - started} ms after appending stopped; ${fromA.appended} + ${fromB.appended} operations on both sides`)
  })
})
