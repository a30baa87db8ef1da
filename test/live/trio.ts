/**
 * Three members of one group on a live-profile network, for the sleep, wake
 * and outage tests: A (the group's owner) and B in this process, X in a child
 * process so that it and its tor can be frozen. A and B write on while X is
 * away; the figures are taken from X's own events and from what it holds.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Burrow, type BurrowEvents } from '../../src/node/index.js'
import type { Testnet } from '../../src/testnet/index.js'
import { sleep } from '../../src/util/async.js'
import { eventually } from '../helpers/burrow.js'
import { messageDigest, startBurrowChild, type BurrowChild, type MessageDigest } from '../helpers/burrow-child.js'

export interface Trio {
  a: Burrow
  b: Burrow
  x: BurrowChild
  group: string
  /** Identity keys (hex) of the writers. */
  writers: { a: string; b: string }
  /** X's own log (JSON lines, debug level; see burrow-child.ts). */
  xLog: string
  /** The notice log of X's tor. */
  xTorLog: string
  stop(): Promise<void>
}

/** How long the set-up steps may take on the live profile (a start is ~15 s, an invite a few). */
const SETUP_MS = 180_000

/** Starts A, B and X on `net`, allow-lists every pair, and has A's group hold all three. */
export async function startTrio(net: Testnet, scratch: string, prefix: string): Promise<Trio> {
  const open = async (name: string): Promise<Burrow> => {
    const dataDir = join(scratch, name)
    await Burrow.init(dataDir)
    return Burrow.open({ dataDir, displayName: name, tor: { mode: 'managed', testnet: net.dir } })
  }
  const names = { a: `${prefix}-a`, b: `${prefix}-b`, x: `${prefix}-x` }
  const [a, b] = await Promise.all([open(names.a), open(names.b)])
  let x: BurrowChild | undefined
  const stop = async (): Promise<void> => {
    await Promise.allSettled([a.stop(), b.stop(), x?.stop()])
  }
  try {
    ;[x] = await Promise.all([startBurrowChild(join(scratch, names.x), net.dir, names.x), a.start(), b.start()])
    await Promise.all([a.addPeer(b.contactCard()), b.addPeer(a.contactCard())])
    await Promise.all([a.addPeer(x.card), b.addPeer(x.card), x.addPeer(a.contactCard()).then(() => x!.addPeer(b.contactCard()))])
    const group = (await a.createGroup(prefix)).id
    await a.invite(group, names.b)
    await a.invite(group, names.x)
    await eventually(() => b.groups().some((g) => g.id === group && g.members.length === 3), SETUP_MS, 'B to join')
    const child = x
    for (const deadline = Date.now() + SETUP_MS; !(await child.groups()).some((g) => g.id === group && g.members.length === 3); await sleep(500)) {
      if (Date.now() > deadline) throw new Error('X did not join the group in time')
    }
    return { a, b, x: child, group, writers: { a: a.status().identityKey, b: b.status().identityKey }, xLog: `${join(scratch, names.x)}.log`, xTorLog: join(scratch, names.x, 'tor', 'notice.log'), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** A and B each send a message every `everyMs` until stopped. */
export function startWriting(trio: Trio, everyMs: number): { stop(): Promise<void> } {
  let stopped = false
  const loops = [trio.a, trio.b].map(async (node, n) => {
    for (let i = 0; !stopped; i++) {
      await node.send(trio.group, `${'ab'[n]} ${i}`)
      await sleep(everyMs)
    }
  })
  return {
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    },
  }
}

/** Messages each writer has sent so far (in its own view). */
export function sentSoFar(trio: Trio): { a: number; b: number } {
  const mine = (node: Burrow, key: string): number => messageDigest(node, trio.group).byAuthor[key] ?? 0
  return { a: mine(trio.a, trio.writers.a), b: mine(trio.b, trio.writers.b) }
}

/** From `since` (ms since the epoch): when X's onion passed a self-check again, and when X held what A and B had sent by then. */
export async function recoveryOfX(trio: Trio, since: number, limitMs: number): Promise<{ reachableMs: number; caughtUpMs: number }> {
  const expected = sentSoFar(trio)
  let reachableMs: number | undefined
  let caughtUpMs: number | undefined
  for (const deadline = since + limitMs; reachableMs === undefined || caughtUpMs === undefined; await sleep(250)) {
    if (Date.now() > deadline) {
      throw new Error(`X did not recover within ${limitMs} ms: reachable ${reachableMs ?? 'no'}, caught up ${caughtUpMs ?? 'no'}; X's events: ${JSON.stringify(await trio.x.events())}`)
    }
    if (reachableMs === undefined) {
      const event = (await trio.x.events()).find((e) => e.name === 'onion:reachable' && e.at >= since)
      if (event !== undefined) reachableMs = event.at - since
    }
    if (caughtUpMs === undefined) {
      const held = (await trio.x.digest(trio.group)).byAuthor
      if ((held[trio.writers.a] ?? 0) >= expected.a && (held[trio.writers.b] ?? 0) >= expected.b) caughtUpMs = Date.now() - since
    }
  }
  return { reachableMs, caughtUpMs }
}

/** Waits until the three hold the same messages (count and digest); returns them. */
export async function sameMessages(trio: Trio, limitMs: number): Promise<{ a: MessageDigest; b: MessageDigest; x: MessageDigest }> {
  for (const deadline = Date.now() + limitMs; ; await sleep(500)) {
    const digests = { a: messageDigest(trio.a, trio.group), b: messageDigest(trio.b, trio.group), x: await trio.x.digest(trio.group) }
    if (digests.a.digest === digests.b.digest && digests.a.digest === digests.x.digest) return digests
    if (Date.now() > deadline) return digests
  }
}

/** Records when `node` emitted `name` (wall-clock ms), for nodes in this process. */
export function recordEvents(node: Burrow, names: readonly (keyof BurrowEvents)[]): { name: string; at: number }[] {
  const seen: { name: string; at: number }[] = []
  for (const name of names) node.on(name, () => seen.push({ name, at: Date.now() }))
  return seen
}

/**
 * The next start of an onion-service time period after `afterMs` (ms since
 * the epoch). Tor numbers periods from minutes since the epoch less a
 * rotation offset of 12 voting intervals, in periods as long as a
 * shared-random protocol run (24 voting intervals; tor 0.4.9 `hs_common.c`).
 * On a private network voting every 10 s: periods of 4 minutes, starting
 * at minutes 4k + 2.
 */
export function nextTimePeriodStart(afterMs: number, votingIntervalS = 10): number {
  const lengthS = 24 * votingIntervalS
  const offsetS = 12 * votingIntervalS
  return (Math.floor((afterMs / 1000 - offsetS) / lengthS) + 1) * lengthS * 1000 + offsetS * 1000
}

/** X's own log from `since` on (debug and above, without control-port chatter), one short line per record, for explaining a figure. */
export function xLogSince(trio: Trio, since: number): string[] {
  if (!existsSync(trio.xLog)) return []
  return readFileSync(trio.xLog, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const r = JSON.parse(line) as { time: number; level: number; msg: string; reason?: string; ms?: number; peer?: string }
        if (r.time < since || r.level < 20 || r.msg.startsWith('tor control')) return []
        const extra = [r.peer?.slice(-6), r.reason, r.ms === undefined ? undefined : `${r.ms} ms`].filter((x) => x !== undefined).join(', ')
        return [`+${r.time - since} ms ${r.msg}${extra === '' ? '' : ` (${extra.slice(0, 160)})`}`]
      } catch {
        return []
      }
    })
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * The notice log of X's tor from `since` on, runs of one message folded into
 * one line with their count: what tor itself did while Burrow waited for it
 * (e.g. "Failed to find node for hop #2 of our path" for every circuit while
 * it took every relay of the small network for down).
 */
export function xTorLogSince(trio: Trio, since: number): string[] {
  if (!existsSync(trio.xTorLog)) return []
  const year = new Date(since).getFullYear()
  const out: { text: string; at: number; count: number }[] = []
  for (const line of readFileSync(trio.xTorLog, 'utf8').split('\n')) {
    // "Dec 05 04:10:10.000 [notice] Failed to find node for hop #2 of our path. Discarding this circuit." (local time)
    const m = /^(\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) \[\w+\] (.*)$/.exec(line)
    if (m === null) continue
    const at = new Date(year, MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime()
    if (at < since - 1000) continue
    const last = out.at(-1)
    if (last !== undefined && last.text === m[7]) last.count++
    else out.push({ text: m[7]!, at, count: 1 })
  }
  return out.map((r) => `+${r.at - since} ms ${r.text.slice(0, 140)}${r.count > 1 ? ` (×${r.count})` : ''}`)
}
