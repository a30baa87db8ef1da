/**
 * Catch-up on the live profile: 10,000 operations over one onion connection
 * (round trips of ~0.6 s, a relay's bandwidth capped at 1 MiB/s), and a
 * relay on the catch-up's circuit killed for good half-way: sync must finish
 * over new circuits, both replicas identical. The kill happens on a network
 * of this file's own, so the other live files keep all their relays.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { clientTorrcLines, startTestnet, stopRelay, type Testnet } from '../../src/testnet/index.js'
import { toHex } from '../../src/log/index.js'
import { logHashes } from '../helpers/faults.js'
import { startNetStack, until, type NetStack } from '../helpers/net-stack.js'
import { liveTestnet } from './live-testnet.js'

const OPERATIONS = 10_000
const PAYLOAD_BYTES = 1024
/** 10,000 × 1 KiB is ~12 MB; a live-profile onion stream moves 0.35–0.67 MB/s. */
const CATCH_UP_LIMIT_MS = 240_000

function heightOf(holder: NetStack, author: NetStack, topic: Uint8Array): number {
  return holder.logs.heights(topic).get(toHex(author.keys.identity.publicKey)) ?? -1
}

/** Nicknames on the stack's built rendezvous circuits (those carrying its onion connections). */
async function rendezvousRelays(stack: NetStack): Promise<string[]> {
  const status = (await stack.tor.control.getInfo(['circuit-status']))['circuit-status'] ?? ''
  return status
    .split('\n')
    .filter((line) => / BUILT /.test(line) && /PURPOSE=HS_(CLIENT|SERVICE)_REND/.test(line))
    .flatMap((line) => (line.split(' ')[2] ?? '').split(','))
    .map((hop) => hop.split('~')[1] ?? '')
}

describe('catch-up on the live profile', () => {
  const stacks: NetStack[] = []
  const networks: Testnet[] = []
  afterAll(async () => {
    await Promise.allSettled(stacks.map((s) => s.stop()))
    for (const net of networks) {
      await net.stop()
      rmSync(net.dir, { recursive: true, force: true })
    }
  })

  it(`replicates ${OPERATIONS.toLocaleString('en-US')} × 1 KiB operations over one onion connection`, { timeout: 400_000 }, async () => {
    const torLines = clientTorrcLines((await liveTestnet()).state)
    const topic = randomBytes(32)
    const [a, b] = await Promise.all([startNetStack('live-catch-a', [topic], { torLines }), startNetStack('live-catch-b', [topic], { torLines })])
    stacks.push(a, b)
    a.append(topic, OPERATIONS, PAYLOAD_BYTES)
    await Promise.all([a.allow(b), b.allow(a)])
    const started = Date.now()
    await until(() => heightOf(b, a, topic) === OPERATIONS - 1, CATCH_UP_LIMIT_MS, 'the catch-up')
    console.log(`[live catch-up] ${OPERATIONS} × ${PAYLOAD_BYTES} B: allow-listed → all stored ${((Date.now() - started) / 1000).toFixed(1)} s`)
    expect(logHashes(b.logs, topic)).toEqual(logHashes(a.logs, topic))
  })

  it('finishes a catch-up after a relay on its circuit is killed for good', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-live-kill-'))
    const net = await startTestnet({ dir: join(dir, 'net'), profile: 'live', ownerPid: process.pid })
    networks.push(net)
    const torLines = clientTorrcLines(net.state)
    const topic = randomBytes(32)
    const [a, b] = await Promise.all([startNetStack('live-kill-a', [topic], { torLines }), startNetStack('live-kill-b', [topic], { torLines })])
    stacks.push(a, b)
    a.append(topic, OPERATIONS, PAYLOAD_BYTES)
    await Promise.all([a.allow(b), b.allow(a)])
    await until(() => heightOf(b, a, topic) >= OPERATIONS / 5, CATCH_UP_LIMIT_MS, 'the catch-up to be under way')

    const relays = net.state.nodes.filter((n) => n.role === 'relay').map((n) => n.nickname)
    const onCircuits = [...(await rendezvousRelays(a)), ...(await rendezvousRelays(b))].filter((n) => relays.includes(n))
    const count = (n: string): number => onCircuits.filter((x) => x === n).length
    const victim = [...relays].sort((x, y) => count(y) - count(x))[0]!
    const heldAtKill = heightOf(b, a, topic) + 1
    let closed = 0
    b.net.libp2p.addEventListener('connection:close', () => closed++)
    await stopRelay(net, victim)
    const killedAt = Date.now()
    await until(() => heightOf(b, a, topic) === OPERATIONS - 1, CATCH_UP_LIMIT_MS, 'the catch-up to finish after the kill')
    console.log(
      `[live catch-up] ${victim} (on ${count(victim)} rendezvous circuit hops) killed with ${heldAtKill} of ${OPERATIONS} operations stored; ` +
        `${closed} of B's connections closed after it; the rest stored ${((Date.now() - killedAt) / 1000).toFixed(1)} s later`,
    )
    expect(logHashes(b.logs, topic)).toEqual(logHashes(a.logs, topic))
  })
})
