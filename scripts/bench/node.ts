/**
 * `npm run bench -- node [--profile live]`: whole-node figures on a private
 * Tor network, each Burrow step next to the same step done with plain tor in
 * the same run (`raw-steps.ts`: plain client tors, the control port, SOCKS):
 *
 * - node start → own onion reachable, next to a raw tor's bootstrap + ADD_ONION
 *   (every descriptor upload answered) + its first dial to its own onion;
 * - the second card added → both nodes connected, next to a raw first dial
 *   (a tor that never fetched the onion);
 * - invite → the member decrypts the next message, next to two raw round
 *   trips (a key package asked for and answered; the Welcome and the message
 *   each one way);
 * - group message publish → decrypted at a member, p50/p95, next to the raw
 *   onion round trip (over several circuits);
 * - offline delivery (offline-delivery.ts): a recipient back online catches
 *   up on 1,000 messages through a keeper, next to the same through a member
 *   that stayed online.
 *
 * A node's memory with many operations and peers is in the `scale` suite.
 *
 * Burrow and raw starts alternate, so that both meet the machine in the same state.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Burrow, type MessageView } from '../../src/node/index.js'
import type { Testnet } from '../../src/testnet/index.js'
import { until } from '../../test/helpers/net-stack.js'
import { offlineDelivery } from './offline-delivery.js'
import { closeRawSteps, echoRoundTrips, rawDial, rawDir, rawStart, type RawNode } from './raw-steps.js'
import { percentile, spread, type BenchReport, type BenchRow } from './report.js'
import { benchProfile, benchTestnet } from './testnet.js'

/** Burrow nodes started (and raw starts); they pair up for the connect and invite steps. */
const START_RUNS = 8
const LATENCY_SAMPLES = 100
const STEP_MS = 180_000

const msSince = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6

/** A started node and how its start went: start → tor bootstrapped, ADD_ONION → self-check passed, start → reachable. */
interface StartedNode {
  node: Burrow
  bootstrapped: number
  published: number
  reachable: number
}

async function burrowStart(testnet: Testnet, root: string, i: number): Promise<StartedNode> {
  const dataDir = join(root, `node-${i}`)
  await Burrow.init(dataDir)
  const node = await Burrow.open({ dataDir, displayName: `node-${i}`, tor: { mode: 'managed', testnet: testnet.dir } })
  let bootstrapped = NaN
  let published = NaN
  const started = process.hrtime.bigint()
  node.once('tor:ready', () => (bootstrapped = msSince(started)))
  node.once('onion:reachable', ({ ms }) => (published = ms))
  await node.start()
  return { node, bootstrapped, published, reachable: msSince(started) }
}

/** Resolves with the ms from now until `node` decrypts a message with `text`. */
function decrypted(node: Burrow, text: string): Promise<number> {
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`"${text}" did not arrive`)), STEP_MS)
    const on = (m: MessageView): void => {
      if (m.text !== text) return
      clearTimeout(timer)
      node.off('group:message', on)
      resolve(msSince(started))
    }
    node.on('group:message', on)
  })
}

const connected = (x: Burrow, y: Burrow): boolean => x.peers().some((p) => p.peerId === y.peerId && p.connected)

/**
 * x adds y's card, then y adds x's: from the second card (the first moment
 * both can connect) until both see the connection. y dials x as soon as its
 * key for x's onion is registered, while its own re-publication (which
 * `addPeer` awaits, so that x can reach y too) goes on: the connection is
 * timed by itself, and `addPeer` beside it.
 */
async function cardsToConnected(x: Burrow, y: Burrow): Promise<{ ms: number; addPeerMs: number }> {
  await x.addPeer(y.contactCard())
  const started = process.hrtime.bigint()
  let addPeerMs = NaN
  const adding = y.addPeer(x.contactCard()).then(() => (addPeerMs = msSince(started)))
  await until(() => connected(x, y) && connected(y, x), STEP_MS, 'both to be connected')
  const ms = msSince(started)
  await adding
  return { ms, addPeerMs }
}

/** x invites y into a new group and sends a message once the invite returns: invite call → y decrypts it. */
async function inviteToDecrypted(x: Burrow, y: Burrow): Promise<{ ms: number; inviteMs: number }> {
  const group = (await x.createGroup()).id
  const text = `hello ${randomBytes(4).toString('hex')}`
  const arrival = decrypted(y, text)
  const started = process.hrtime.bigint()
  await x.invite(group, y.peerId)
  const inviteMs = msSince(started)
  await x.send(group, text)
  await arrival
  return { ms: msSince(started), inviteMs }
}

/** Publish at x → decrypted at y, one message at a time. */
async function messageLatency(x: Burrow, y: Burrow, samples: number): Promise<number[]> {
  const group = x.groups().find((g) => g.members.some((m) => m.peerId === y.peerId))!.id
  const out: number[] = []
  for (let i = 0; i < samples; i++) {
    const text = `ping ${i} ${randomBytes(4).toString('hex')}`
    const arrival = decrypted(y, text)
    const started = process.hrtime.bigint()
    await x.send(group, text)
    await arrival
    out.push(msSince(started))
  }
  return out
}

export async function run(): Promise<BenchReport> {
  const { testnet, upMs } = await benchTestnet()
  const root = mkdtempSync(join(tmpdir(), 'burrow-bench-node-'))
  const nodes: StartedNode[] = []
  const raws: RawNode[] = []
  let stopped: Promise<unknown> | undefined
  const stopAll = (): Promise<unknown> => (stopped ??= Promise.allSettled([...nodes.map((n) => n.node.stop()), ...raws.map((r) => r.stop())]))
  try {
    for (let i = 0; i < START_RUNS; i++) {
      const burrowFirst = i % 2 === 0
      if (burrowFirst) nodes.push(await burrowStart(testnet, root, i))
      raws.push(await rawStart(testnet.state, rawDir(root, i)))
      if (!burrowFirst) nodes.push(await burrowStart(testnet, root, i))
    }
    const pairs = Array.from({ length: START_RUNS / 2 }, (_, k) => [nodes[2 * k]!.node, nodes[2 * k + 1]!.node] as const)
    const connects = []
    const invites = []
    for (const [x, y] of pairs) connects.push(await cardsToConnected(x, y))
    for (const [x, y] of pairs) invites.push(await inviteToDecrypted(x, y))
    // Every raw tor dials the next one's onion, which it has never fetched: a first dial; its circuit then carries round trips.
    const firstDials: number[] = []
    const rtt: number[] = []
    for (let i = 0; i < raws.length; i++) {
      const { socket, ms } = await rawDial(raws[i]!.tor, raws[(i + 1) % raws.length]!.serviceId)
      firstDials.push(ms)
      rtt.push(...(await echoRoundTrips(socket, Math.ceil(LATENCY_SAMPLES / raws.length))))
      socket.destroy()
    }
    const latency = await messageLatency(pairs[0]![0], pairs[0]![1], LATENCY_SAMPLES)
    await stopAll()
    const offline = await offlineDelivery(testnet.dir, root)

    const burrowStarts = spread(nodes.map((n) => n.reachable))
    const rawStarts = spread(raws.map((r) => r.bootstrapMs + r.publishMs + r.selfDialMs))
    const connect = spread(connects.map((c) => c.ms))
    const firstDial = spread(firstDials)
    const invite = spread(invites.map((x) => x.ms))
    const rttP50 = percentile([...rtt].sort((x, y) => x - y), 50)
    const sortedLatency = [...latency].sort((x, y) => x - y)
    const sortedRtt = [...rtt].sort((x, y) => x - y)
    const ratio = (x: number, raw: number): string => `${(x / raw).toFixed(2)} × raw (target ≤ 1.3)`
    const rows: BenchRow[] = [
      ...(upMs > 0 ? [{ metric: `private Tor network up (3 authorities + 3 relays, ${benchProfile()} profile)`, value: upMs, unit: 'ms', runs: 1 }] : []),
      { metric: 'node start → tor bootstrapped (100 %, circuit)', ...spread(nodes.map((n) => n.bootstrapped)), unit: 'ms' },
      { metric: 'raw: tor start → bootstrapped (100 %)', ...spread(raws.map((r) => r.bootstrapMs)), unit: 'ms' },
      { metric: 'ADD_ONION → descriptors uploaded → self-check ok', ...spread(nodes.map((n) => n.published)), unit: 'ms' },
      { metric: 'raw: ADD_ONION → descriptors uploaded', ...spread(raws.map((r) => r.publishMs)), unit: 'ms' },
      { metric: 'raw: first dial to its own onion', ...spread(raws.map((r) => r.selfDialMs)), unit: 'ms' },
      { metric: 'node start → own onion reachable (self-check passed)', ...burrowStarts, unit: 'ms', note: ratio(burrowStarts.value, rawStarts.value) },
      { metric: 'raw: bootstrap + ADD_ONION → uploaded + self-dial', ...rawStarts, unit: 'ms', note: 'sum per raw start' },
      { metric: 'second card added → both connected', ...connect, unit: 'ms', note: `${ratio(connect.value, firstDial.value)}; addPeer itself (it awaits the re-publication) ${Math.round(spread(connects.map((c) => c.addPeerMs)).value)} ms` },
      { metric: 'raw: first dial (a tor that never fetched the onion)', ...firstDial, unit: 'ms' },
      { metric: 'invite → member decrypts the next message', ...invite, unit: 'ms', note: `${ratio(invite.value, 2 * rttP50)} of two round trips; invite() itself ${Math.round(spread(invites.map((x) => x.inviteMs)).value)} ms` },
      { metric: 'group message p50 (publish → decrypted at a member)', value: percentile(sortedLatency, 50), unit: 'ms', runs: latency.length, note: `raw round trip + ${(percentile(sortedLatency, 50) - rttP50).toFixed(1)} ms (target ≤ + 10 ms)` },
      { metric: 'group message p95', value: percentile(sortedLatency, 95), unit: 'ms', runs: latency.length },
      { metric: 'raw onion round trip p50', value: rttP50, unit: 'ms', runs: rtt.length, note: `${raws.length} circuits` },
      { metric: 'raw onion round trip p95', value: percentile(sortedRtt, 95), unit: 'ms', runs: rtt.length },
      ...offline,
    ]
    return {
      name: 'node',
      rows,
      extra: {
        profile: benchProfile(),
        starts: nodes.map(({ bootstrapped, published, reachable }) => ({ bootstrapped, published, reachable })),
        rawStarts: raws.map(({ bootstrapMs, publishMs, selfDialMs }) => ({ bootstrapMs, publishMs, selfDialMs })),
        connects,
        rawFirstDialsMs: firstDials,
        invites,
        groupLatencyMs: latency,
        rttMs: rtt,
      },
    }
  } finally {
    await stopAll()
    await closeRawSteps()
    rmSync(root, { recursive: true, force: true })
  }
}
