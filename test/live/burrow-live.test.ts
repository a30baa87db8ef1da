/**
 * The README's flow on the live profile (onion round trips of ~0.6 s, first
 * dials of seconds): nodes start and reach their own onions, allow-list each
 * other and connect, an invited member decrypts, messages go both ways.
 * Times are printed (the figures with their raw counterparts come from `npm
 * run bench -- node sync --profile live`); the bounds only catch a hang.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Burrow, type MessageView } from '../../src/node/index.js'
import { eventually, texts } from '../helpers/burrow.js'
import { liveTestnet } from './live-testnet.js'

const LONG = 120_000
const MESSAGES_EACH_WAY = 10

/** Resolves with the time from now until `node` decrypts a message with `text`. */
function arrival(node: Burrow, text: string): Promise<number> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`"${text}" did not arrive in time`)), LONG)
    const on = (m: MessageView): void => {
      if (m.text !== text) return
      clearTimeout(timer)
      node.off('group:message', on)
      resolve(Date.now() - started)
    }
    node.on('group:message', on)
  })
}

const connected = (x: Burrow, y: Burrow): boolean => x.peers().some((p) => p.peerId === y.peerId && p.connected)

describe('Burrow on the live profile', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'burrow-live-flow-'))
  const nodes: Burrow[] = []
  let alice: Burrow
  let bob: Burrow
  let group: string

  beforeAll(async () => {
    const net = await liveTestnet()
    for (const name of ['live-alice', 'live-bob']) {
      const dataDir = join(scratch, name)
      await Burrow.init(dataDir)
      nodes.push(await Burrow.open({ dataDir, displayName: name, tor: { mode: 'managed', testnet: net.dir } }))
    }
    ;[alice, bob] = nodes as [Burrow, Burrow]
  })

  afterAll(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()))
    rmSync(scratch, { recursive: true, force: true })
  })

  it('starts two nodes, each reaching its own onion through the network', async () => {
    const times = await Promise.all(
      nodes.map(async (node) => {
        const started = Date.now()
        await node.start()
        return Date.now() - started
      }),
    )
    console.log(`[live flow] start → own onion reachable: ${times.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}`)
    for (const node of nodes) expect(node.status()).toMatchObject({ state: 'running', reachable: true })
  })

  it('connects two nodes once each has added the other\'s card', async () => {
    const started = Date.now()
    await alice.addPeer(bob.contactCard())
    await bob.addPeer(alice.contactCard())
    await eventually(() => connected(alice, bob) && connected(bob, alice), LONG, 'both to be connected')
    console.log(`[live flow] both cards added → both connected: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })

  it('invites a member, who joins and decrypts', async () => {
    group = (await alice.createGroup('live')).id
    const started = Date.now()
    await alice.invite(group, 'live-bob')
    const invited = Date.now() - started
    await eventually(() => bob.groups().some((g) => g.id === group && g.members.length === 2), LONG, 'bob to join')
    const joined = Date.now() - started
    const decrypted = arrival(bob, 'welcome')
    await alice.send(group, 'welcome')
    const ms = await decrypted
    console.log(`[live flow] invite: key package fetched and committed ${invited} ms, bob joined ${joined} ms; the next message decrypted ${ms} ms after its publish`)
    expect(texts(bob, group)).toEqual(['welcome'])
  })

  it('delivers messages both ways, in order', async () => {
    const latencies: number[] = []
    for (let i = 0; i < MESSAGES_EACH_WAY; i++) {
      for (const [from, to] of [[alice, bob], [bob, alice]] as const) {
        const text = `${from === alice ? 'a' : 'b'} ${i}`
        const arrived = arrival(to, text)
        await from.send(group, text)
        latencies.push(await arrived)
      }
    }
    latencies.sort((x, y) => x - y)
    console.log(`[live flow] publish → decrypted, ${latencies.length} messages: p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`)
    expect(texts(alice, group)).toEqual(texts(bob, group))
    expect(texts(bob, group)).toHaveLength(1 + 2 * MESSAGES_EACH_WAY)
  })
})
