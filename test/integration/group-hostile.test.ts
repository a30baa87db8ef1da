/**
 * A hostile allow-listed peer against the key-package endpoint, over the
 * private Tor network: M is on V's allow-list and tries to squat A's group
 * by asking V for a key package "for" A's group id with its nonce (refused:
 * the id does not derive from M's key), after which A's own invitation
 * succeeds; then M hammers `/burrow/keypackage/1` (refused beyond the rate;
 * V keeps only what it served). V and A are real Burrow nodes;
 * M is a real libp2p stack behind its own onion service, speaking the
 * protocol by hand.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decodeKeyPackageResponse,
  encodeKeyPackageRequest,
  groupIdOf,
  INVITATION_LIMITS,
  KEY_PACKAGE_PROTOCOL,
  MAX_KEY_PACKAGE_RESPONSE_BYTES,
} from '../../src/group/index.js'
import { decodeContactCard, encodeContactCard } from '../../src/keys/index.js'
import { fromHex } from '../../src/log/index.js'
import { request } from '../../src/net/index.js'
import { nodePaths, type Burrow } from '../../src/node/index.js'
import { openDatabase } from '../../src/store/index.js'
import { eventually, testNode, texts } from '../helpers/burrow.js'
import { startNetStack, type NetStack } from '../helpers/net-stack.js'

const LONG = 120_000
const HAMMER = 100
/** Requests in flight at once (libp2p resets a connection's streams of one protocol beyond 32). */
const WAVE = 20

describe('a hostile allow-listed peer and the key-package endpoint', () => {
  const nodes: Awaited<ReturnType<typeof testNode>>[] = []
  let a: Burrow
  let v: Burrow
  let m: NetStack

  /** M's request to V over Tor: 'key package', the refusal code V sent, or 'stream refused' (libp2p's cap on open streams). */
  async function ask(body: Uint8Array): Promise<string> {
    let answer: Uint8Array
    try {
      answer = await request(m.net.libp2p, peerIdFromString(v.peerId), KEY_PACKAGE_PROTOCOL, body, { maxResponseBytes: MAX_KEY_PACKAGE_RESPONSE_BYTES })
    } catch {
      return 'stream refused'
    }
    try {
      decodeKeyPackageResponse(answer)
      return 'key package'
    } catch (err) {
      return /\(([A-Z_]+)\)/.exec((err as Error).message)?.[1] ?? 'unreadable refusal'
    }
  }

  /** V's database as it is now (V keeps running; a read-only connection sees its last commit). */
  function victimRows(sql: string): number {
    const db = openDatabase(nodePaths(nodes[1]!.dataDir).database, { readonly: true })
    try {
      return (db.prepare(sql).get() as { n: number }).n
    } finally {
      db.close()
    }
  }

  beforeAll(async () => {
    for (const name of ['a', 'v']) nodes.push(await testNode(name))
    a = nodes[0]!.node
    v = nodes[1]!.node
    ;[m] = await Promise.all([startNetStack('m', []), a.start(), v.start()])
    await a.addPeer(v.contactCard())
    await v.addPeer(a.contactCard())
    await v.addPeer(encodeContactCard(m.card, m.keys))
    await m.allow(decodeContactCard(v.contactCard()))
    await eventually(() => v.peers().find((p) => p.name === 'm' && p.connected), LONG, 'M connected to V')
  })

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), v?.stop(), m?.stop()])
    for (const n of nodes) n.cleanup()
  })

  it("cannot squat the owner's group id: V refuses M's request for it, and the owner's invitation then succeeds", async () => {
    const group = await a.createGroup('squatted?')
    // What a member of A's group learns from A's key-package request: the id and its nonce.
    const db = openDatabase(nodePaths(nodes[0]!.dataDir).database, { readonly: true })
    const { id_nonce: nonce } = db.prepare('SELECT id_nonce FROM groups WHERE group_id = ?').get(fromHex(group.id)) as { id_nonce: Buffer }
    db.close()
    const groupId = fromHex(group.id)
    expect(await ask(encodeKeyPackageRequest({ groupId, nonce: new Uint8Array(nonce) }))).toBe('GROUP_ID_NOT_OWNED')
    expect(victimRows('SELECT COUNT(*) AS n FROM group_invitations')).toBe(0)

    await a.invite(group.id, 'v')
    await eventually(() => v.groups().find((g) => g.id === group.id && g.members.length === 2), LONG, 'V to join A’s group')
    expect(v.group(group.id).owner).toBe(a.status().identityKey)
    await v.send(group.id, 'v joined the real group')
    await eventually(() => texts(a, group.id).includes('v joined the real group'), LONG, 'A to read V')
  })
  it(`serves at most ${INVITATION_LIMITS.requestBurst} of ${HAMMER} key packages asked in waves of ${WAVE}, refuses the rest, and keeps only those`, async () => {
    const before = victimRows('SELECT COUNT(*) AS n FROM group_invitations')
    const started = Date.now()
    const answers: string[] = []
    for (let sent = 0; sent < HAMMER; sent += WAVE) {
      const wave = Array.from({ length: WAVE }, () => {
        const nonce = new Uint8Array(randomBytes(32))
        return ask(encodeKeyPackageRequest({ groupId: groupIdOf(m.keys.identity.publicKey, nonce), nonce }))
      })
      answers.push(...(await Promise.all(wave)))
    }
    const seconds = (Date.now() - started) / 1000
    const served = answers.filter((x) => x === 'key package').length
    // The squat attempt took one token (refilled if it was a minute ago); each minute of hammering adds one.
    expect(served).toBeGreaterThanOrEqual(INVITATION_LIMITS.requestBurst - 1)
    expect(served).toBeLessThanOrEqual(INVITATION_LIMITS.requestBurst + Math.ceil((seconds * 1000) / INVITATION_LIMITS.requestIntervalMs))
    const limited = answers.filter((x) => x === 'GROUP_RATE_LIMITED').length
    expect(answers.filter((x) => x === 'stream refused')).toHaveLength(HAMMER - served - limited)
    expect(victimRows('SELECT COUNT(*) AS n FROM group_invitations') - before).toBe(served)
    console.log(
      `[hostile] ${HAMMER} requests over Tor in ${seconds.toFixed(1)} s: ${served} served, ${limited} refused GROUP_RATE_LIMITED, ` +
        `${HAMMER - served - limited} streams refused; V holds ${served} pending invitations`,
    )
  })

})
