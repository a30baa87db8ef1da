/**
 * How long a node takes to see a peer that stops: two nodes on a running
 * private Tor network (`npm run testnet -- up --dir DIR`), connected; one
 * stops, and the time until the other emits `peer:disconnected` is measured.
 * Trials alternate between stopping the node that dialed the connection and
 * the one that accepted it; the stopped node is started again between trials.
 *
 *   npx tsx scripts/disconnect-latency.ts --testnet DIR [--trials 10] [--out FILE.json]
 *
 * Who dialed is read from libp2p's `connection:open` events, caught by
 * wrapping `EventTarget.prototype.dispatchEvent` (the node does not expose
 * its libp2p); a measurement only, never done by the node itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Burrow } from '../src/node/index.js'

interface Conn {
  remotePeer: { toString(): string }
  direction: 'inbound' | 'outbound'
  status: string
}

// Every connection libp2p opens, seen on its event bus (the node does not expose its libp2p).
const connections: Conn[] = []
const dispatch = EventTarget.prototype.dispatchEvent
EventTarget.prototype.dispatchEvent = function (evt: Event): boolean {
  if (evt.type === 'connection:open') {
    const conn = (evt as CustomEvent<Conn>).detail
    if (!connections.includes(conn)) connections.push(conn)
  }
  return dispatch.call(this, evt)
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`)
  const value = i === -1 ? fallback : process.argv[i + 1]
  if (value === undefined) throw new Error(`--${name} is required`)
  return value
}

async function until<T>(what: string, ms: number, check: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const testnet = arg('testnet')
const trials = Number(arg('trials', '10'))
const out = process.argv.includes('--out') ? arg('out') : undefined
const root = mkdtempSync(join(tmpdir(), 'burrow-disconnect-'))

interface Side {
  name: string
  dir: string
  node: Burrow
  peerId: string
}

async function open(name: string): Promise<Side> {
  const dir = join(root, name)
  const { peerId } = await Burrow.init(dir)
  const node = await Burrow.open({ dataDir: dir, displayName: name, tor: { mode: 'managed', testnet } })
  return { name, dir, node, peerId }
}

async function reopen(side: Side): Promise<void> {
  side.node = await Burrow.open({ dataDir: side.dir, displayName: side.name, tor: { mode: 'managed', testnet } })
  await side.node.start()
}

const connected = (x: Side): boolean => x.node.peers().some((p) => p.connected)
/** The open connections of `x` to `y`, by direction. */
const directionsOf = (y: Side): string[] =>
  connections.filter((c) => c.remotePeer.toString() === y.peerId && c.status === 'open').map((c) => c.direction)

const results: { role: string; stopping: string; directions: string[]; seenMs: number | null; stopMs: number; reason?: string }[] = []
const a = await open('alice')
const b = await open('bob')
try {
  await Promise.all([a.node.start(), b.node.start()])
  await a.node.addPeer(b.node.contactCard())
  await b.node.addPeer(a.node.contactCard())
  for (let i = 0; i < trials; i++) {
    await until('both connected', 180_000, () => connected(a) && connected(b))
    // Both may dial at once: let a second connection settle before judging who dialed.
    await new Promise((r) => setTimeout(r, 2_000))
    const wanted = i % 2 === 0 ? 'dialer' : 'listener'
    const aDirs = directionsOf(b)
    // The stopping node is the dialer of its connections when they are all outbound.
    const pick = (x: Side, dirs: string[]): boolean => dirs.length > 0 && dirs.every((d) => d === (wanted === 'dialer' ? 'outbound' : 'inbound'))
    const [stopping, watching] = pick(a, aDirs) ? [a, b] : pick(b, directionsOf(a)) ? [b, a] : [a, b]
    const dirs = stopping === a ? aDirs : directionsOf(a)
    const role = dirs.every((d) => d === 'outbound') ? 'dialer' : dirs.every((d) => d === 'inbound') ? 'listener' : 'both'
    let seen: { at: number; reason: string } | undefined
    const onDisconnect = (e: { peerId: string; reason: string }): void => {
      if (e.peerId === stopping.peerId && seen === undefined) seen = { at: Date.now(), reason: e.reason }
    }
    watching.node.on('peer:disconnected', onDisconnect)
    const started = Date.now()
    await stopping.node.stop()
    const stopMs = Date.now() - started
    await until('the disconnect', 120_000, () => seen).catch(() => undefined)
    watching.node.off('peer:disconnected', onDisconnect)
    const seenMs = seen === undefined ? null : seen.at - started
    results.push({ role, stopping: stopping.name, directions: dirs, seenMs, stopMs, ...(seen ? { reason: seen.reason } : {}) })
    console.log(`trial ${i + 1}: ${stopping.name} stopped as ${role} (${dirs.join('+')}) in ${stopMs} ms; ${watching.name} saw it after ${seenMs ?? '>120000'} ms (${seen?.reason ?? '-'})`)
    await reopen(stopping)
  }
} finally {
  await Promise.allSettled([a.node.stop(), b.node.stop()])
  rmSync(root, { recursive: true, force: true })
}
for (const role of ['dialer', 'listener', 'both']) {
  const r = results.filter((x) => x.role === role)
  if (r.length > 0) console.log(`${role}: seen after ${r.map((x) => (x.seenMs === null ? '>120000' : x.seenMs)).join(', ')} ms; stop took ${r.map((x) => x.stopMs).join(', ')} ms`)
}
if (out !== undefined) writeFileSync(out, JSON.stringify(results, null, 2))
