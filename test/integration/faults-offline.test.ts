/**
 * A peer offline for long catches up: A owns a group with B and C; B stops.
 * Meanwhile A and C send many messages across several epochs (A rotates its
 * keys three times, invites D, who writes once, and removes D again). B is
 * reopened from its data dir and must end with every message decrypted,
 * exactly once, at the group's current epoch and roster. Burrow nodes on the
 * private Tor network: real tor, MLS, SQLite and libp2p.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Burrow } from '../../src/node/index.js'
import { eventually, testNode, texts } from '../helpers/burrow.js'
import { bySoak } from '../helpers/faults.js'

const LONG = 120_000
/** Messages sent while B is away, half by A and half by C, over four epochs. */
const WHILE_AWAY = bySoak(200, 1_000)
const SEGMENTS = 4

const epochOf = (node: Burrow, group: string): number => node.group(group).epoch
const rosterOf = (node: Burrow, group: string): string[] => node.group(group).members.map((m) => m.identityKey).sort()

describe('a peer offline for long catches up', () => {
  const nodes: Record<string, Awaited<ReturnType<typeof testNode>>> = {}
  let a: Burrow
  let b: Burrow
  let c: Burrow
  let d: Burrow

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c', 'd']) nodes[name] = await testNode(`fault-${name}`)
    ;[a, b, c, d] = (['a', 'b', 'c', 'd'] as const).map((n) => nodes[n]!.node) as [Burrow, Burrow, Burrow, Burrow]
    await Promise.all([a, b, c, d].map((n) => n.start()))
    const pairs: [Burrow, Burrow][] = [[a, b], [a, c], [b, c], [a, d]]
    for (const [x, y] of pairs) {
      await x.addPeer(y.contactCard())
      await y.addPeer(x.contactCard())
    }
  })

  afterAll(async () => {
    await Promise.allSettled([a, b, c, d].map((n) => n?.stop()))
    for (const n of Object.values(nodes)) n.cleanup()
  })

  it(`B, away for ${WHILE_AWAY} messages, 3 key rotations, an add and a removal, reads every message at the current epoch`, { timeout: bySoak(400_000, 1_500_000) }, async () => {
    const group = (await a.createGroup('faults')).id
    await a.invite(group, 'fault-b')
    await a.invite(group, 'fault-c')
    await eventually(() => b.groups().some((g) => g.id === group && g.members.length === 3), LONG, 'B to join')
    await eventually(() => c.groups().some((g) => g.id === group && g.members.length === 3), LONG, 'C to join')
    const expected = ['a before', 'c before']
    await a.send(group, 'a before')
    await c.send(group, 'c before')
    await eventually(() => texts(b, group).length === 2, LONG, 'B to read the first two messages')

    await b.stop()
    const awayAt = Date.now()
    const perSegment = WHILE_AWAY / SEGMENTS / 2
    for (let segment = 0; segment < SEGMENTS; segment++) {
      // C writes at A's epoch: it has processed A's latest commit.
      await eventually(() => epochOf(c, group) === epochOf(a, group), LONG, `C to reach epoch ${epochOf(a, group)}`)
      for (let i = 0; i < perSegment; i++) {
        for (const [node, who] of [[a, 'a'], [c, 'c']] as const) {
          const message = `${who} ${segment}/${i}`
          await node.send(group, message)
          expected.push(message)
        }
      }
      if (segment === 0) {
        await a.invite(group, 'fault-d')
        await eventually(() => d.groups().some((g) => g.id === group && g.members.length === 4), LONG, 'D to join')
        await d.send(group, 'd was here')
        expected.push('d was here')
        await eventually(() => texts(a, group).includes('d was here'), LONG, "A to read D's message")
      } else if (segment === 1) {
        await a.removeMember(group, 'fault-d')
      }
      if (segment < SEGMENTS - 1) await a.rotateKeys(group)
    }
    await eventually(() => texts(a, group).length === expected.length && texts(c, group).length === expected.length, LONG, 'A and C to hold every message')
    console.log(`[faults] offline: ${expected.length - 2} messages sent in ${Date.now() - awayAt} ms while B was away; epoch ${epochOf(a, group)}`)

    const reopenedAt = Date.now()
    b = await nodes.b!.reopen()
    await b.start()
    await eventually(() => texts(b, group).length >= expected.length && epochOf(b, group) === epochOf(a, group), LONG, 'B to catch up').catch((err: unknown) => {
      throw new Error(`${String(err)}; B holds ${texts(b, group).length} of ${expected.length} messages at epoch ${epochOf(b, group)} (A at ${epochOf(a, group)})`)
    })
    console.log(`[faults] offline: B caught up ${Date.now() - reopenedAt} ms after reopening (start included)`)

    // Exactly every message, once, and nothing else; A's and C's views agree too.
    expect([...texts(b, group)].sort()).toEqual([...expected].sort())
    expect([...texts(a, group)].sort()).toEqual([...expected].sort())
    expect([...texts(c, group)].sort()).toEqual([...expected].sort())
    expect(epochOf(b, group)).toBe(epochOf(a, group))
    expect(rosterOf(b, group)).toEqual(rosterOf(a, group))
    expect(rosterOf(b, group)).toHaveLength(3)
    expect(texts(d, group)).not.toContain(`a ${SEGMENTS - 1}/0`)

    // And B takes part again at once.
    await b.send(group, 'b is back')
    await eventually(() => texts(a, group).includes('b is back') && texts(c, group).includes('b is back'), LONG, 'A and C to read B')
  })
})
