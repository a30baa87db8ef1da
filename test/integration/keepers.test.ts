/**
 * Offline delivery through a keeper on the private Tor network: alice (the
 * group's owner) and bob are never online at the same time; their keeper
 * always is, and holds the group's logs without being a member. Real tor,
 * libp2p, sync, MLS and SQLite.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeContactCard, encodeContactCard } from '../../src/keys/index.js'
import { nodePaths, type Burrow } from '../../src/node/index.js'
import { onionMultiaddr } from '../../src/net/index.js'
import { streamChannel } from '../../src/net/stream-channel.js'
import { encodeFrame, SYNC_PROTOCOL, type WireOperation } from '../../src/net/sync/index.js'
import { openDatabase } from '../../src/store/index.js'
import { eventually, testNode, texts } from '../helpers/burrow.js'
import { startNetStack, TEST_PORT, type NetStack } from '../helpers/net-stack.js'

const LONG = 150_000
/** The keeper's quota for the group: what the first tests send (two files of 1.3 MB, a few messages) fits; 2 MB more does not. */
const KEEPER_QUOTA = 3.5 * 1024 * 1024

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : []
  })
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('keepers over Tor', () => {
  const nodes: Record<string, Awaited<ReturnType<typeof testNode>>> = {}
  const live: Record<string, Burrow | undefined> = {}
  let group: string
  let work: string
  const plaintexts: Buffer[] = []

  const node = (name: string): Burrow => live[name] ?? (() => { throw new Error(`${name} is not running`) })()

  async function stop(name: string): Promise<void> {
    await live[name]?.stop()
    live[name] = undefined
  }

  async function start(name: string): Promise<Burrow> {
    const n = await nodes[name]!.reopen()
    await n.start()
    live[name] = n
    return n
  }

  /** Operations the keeper holds of the group (its log and claimed file logs). */
  const kept = (): number => node('k').keptGroups().find((g) => g.groupId === group)?.operations ?? 0

  /** Sends two messages and a file from `name`; resolves once the keeper holds all of it. */
  async function sendThroughKeeper(name: string): Promise<{ words: string[]; file: Buffer; fileName: string }> {
    const before = kept()
    const words = [`${name}-${randomBytes(8).toString('hex')}`, `${name}-${randomBytes(8).toString('hex')}`]
    for (const w of words) await node(name).send(group, w)
    const file = randomBytes(5 * 256 * 1024 + 77)
    const fileName = `${name}.bin`
    writeFileSync(join(work, fileName), file)
    await node(name).content.sendFile(group, join(work, fileName))
    plaintexts.push(...words.map((w) => Buffer.from(w)), file.subarray(1000, 1064))
    // 2 messages, 1 announcement, 6 chunks.
    await eventually(() => kept() >= before + 9, LONG, `the keeper to hold what ${name} sent (${kept() - before} of 9)`)
    return { words, file, fileName }
  }

  /** `name` comes back online and gets what `from` sent while it was away. */
  async function receive(name: string, sent: { words: string[]; file: Buffer; fileName: string }): Promise<void> {
    const n = await start(name)
    await eventually(() => sent.words.every((w) => texts(n, group).includes(w)), LONG, `${name} to read the messages`)
    const file = await eventually(() => n.content.files(group).find((f) => f.name === sent.fileName && f.complete), LONG, `${name} to hold the file`)
    const out = join(work, `${name}-got-${sent.fileName}`)
    await n.content.saveFile(group, file.id, { out })
    expect(sha256(readFileSync(out))).toBe(sha256(sent.file))
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'burrow-keepers-it-'))
    for (const name of ['alice', 'bob', 'k']) {
      nodes[name] = await testNode(name, name === 'k' ? { keeperQuota: { perGroupBytes: KEEPER_QUOTA } } : {})
      live[name] = nodes[name]!.node
    }
    await Promise.all(['alice', 'bob', 'k'].map((n) => node(n).start()))
    const [alice, bob, k] = [node('alice'), node('bob'), node('k')]
    // Bob does not know the keeper: he learns it from the group.
    await alice.addPeers([bob.contactCard(), k.contactCard()])
    await bob.addPeer(alice.contactCard())
    await k.addPeer(alice.contactCard())
    group = (await alice.createGroup('kept')).id
    await alice.invite(group, 'bob')
    await eventually(() => bob.groups().find((g) => g.id === group && g.members.length === 2), LONG, 'bob to join')
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled(Object.values(live).map((n) => n?.stop()))
    for (const n of Object.values(nodes)) n.cleanup()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('the owner names a keeper; the member and the keeper\'s user are asked, allow it, and the keeper keeps the group for both', async () => {
    const [alice, bob, k] = [node('alice'), node('bob'), node('k')]
    const asked = new Promise<unknown>((resolve) => bob.once('group:keepers', resolve))
    const keeperAsked = new Promise<unknown>((resolve) => k.once('kept:asked', resolve))
    const view = await alice.addKeeper(group, 'k')
    expect(view.keepers.map((x) => x.peerId)).toEqual([k.peerId])
    expect(await asked).toMatchObject({ groupId: group, decision: 'ask', keepers: [{ peerId: k.peerId, name: 'k' }] })
    expect(bob.status().keeperQuestions.map((q) => q.groupId)).toEqual([group])
    // A refusal takes the keeper off bob's list (only keeping put it there); allowing puts it back.
    await bob.decideKeepers(group, 'deny')
    expect(bob.peers().some((p) => p.peerId === k.peerId)).toBe(false)
    expect(bob.status().keeperQuestions).toEqual([])
    await bob.decideKeepers(group, 'allow')
    expect(bob.peers().find((p) => p.peerId === k.peerId)?.keeping).toEqual(['keeper of kept'])
    // The keeper carries out orders only from peers its user allowed: it asks, and keeps nothing meanwhile.
    expect(await keeperAsked).toMatchObject({ peerId: alice.peerId, decision: 'ask', groups: 0 })
    expect(k.status().keepingQuestions.map((o) => o.peerId)).toEqual([alice.peerId])
    expect(k.keptGroups()).toEqual([])
    expect(k.peers().some((p) => p.peerId === bob.peerId)).toBe(false)
    // Allowed: the order it holds is carried out at once.
    expect(await k.decideKeeping('alice', 'allow')).toMatchObject({ peerId: alice.peerId, decision: 'allow', groups: 1 })
    expect(k.status().keepingQuestions).toEqual([])
    const held = await eventually(() => k.keptGroups().find((g) => g.groupId === group), LONG, 'the keeper to take the order')
    expect(held).toMatchObject({ owner: alice.keys.identity.publicKey.reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), members: 2, full: false })
    expect(k.peers().find((p) => p.peerId === bob.peerId)?.keeping).toEqual([`member of kept group ${group.slice(0, 12)}`])
    expect(k.groups()).toEqual([])
    // The keeper took the order only now: it catches up on the group's log before the next test counts what it gets.
    const held0 = storedOps(nodes.alice!.dataDir, Buffer.from(group, 'hex'), alice.keys.identity.publicKey).length
    await eventually(() => kept() >= held0, LONG, 'the keeper to catch up on the group')
  }, 200_000)

  it('alice and bob, never online together, reach each other through the keeper, both ways, messages and files', async () => {
    await stop('bob')
    const fromAlice = await sendThroughKeeper('alice')
    await stop('alice')
    await receive('bob', fromAlice)
    const fromBob = await sendThroughKeeper('bob')
    await stop('bob')
    await receive('alice', fromBob)
    // The keeper's data directory holds ciphertext only.
    const contents = filesUnder(nodes.k!.dataDir).map((f) => readFileSync(f))
    for (const p of plaintexts) expect(contents.some((c) => c.indexOf(p) >= 0), `plaintext ${p.toString('hex').slice(0, 16)} at the keeper`).toBe(false)
    expect(node('k').groups()).toEqual([])
  }, 600_000)

  it('a removed member gets nothing new', async () => {
    const alice = node('alice')
    const k = node('k')
    await alice.removeMember(group, 'bob')
    await eventually(() => k.keptGroups().find((g) => g.groupId === group && g.members === 1), LONG, 'the keeper to learn of the removal')
    // The keeper let bob go: only keeping had put him on its list.
    expect(k.peers().some((p) => p.peerId === nodes.bob!.node.peerId)).toBe(false)
    const before = kept()
    await alice.send(group, 'after bob left')
    await eventually(() => kept() > before, LONG, 'the keeper to store the message')
  }, 300_000)

  it('a full keeper refuses the group\'s new operations, tells its operator, and keeps the session', async () => {
    const [alice, k] = [node('alice'), node('k')]
    const full = new Promise<{ groupId: string; code: string }>((resolve) => k.once('keeper:full', resolve))
    const path = join(work, 'too-big.bin')
    writeFileSync(path, randomBytes(2 * 1024 * 1024))
    await alice.content.sendFile(group, path)
    expect(await full).toMatchObject({ groupId: group, code: 'KEEPER_QUOTA_FULL' })
    const status = k.status().kept.find((g) => g.groupId === group)
    expect(status).toMatchObject({ full: true, quotaBytes: KEEPER_QUOTA })
    expect(status!.bytes).toBeLessThanOrEqual(KEEPER_QUOTA)
    // Refused, not a protocol fault: alice is not cut off.
    await new Promise((r) => setTimeout(r, 3_000))
    expect(k.peers().find((p) => p.name === 'alice')?.connected).toBe(true)
    expect(k.peers().find((p) => p.name === 'alice')?.lastError).toBeUndefined()
  }, 120_000)

  it('a removed keeper gets nothing new', async () => {
    const alice = node('alice')
    const k = node('k')
    await alice.removeKeeper(group, 'k')
    await eventually(() => k.keptGroups().length === 0, LONG, 'the keeper to be released')
    const operations = k.status().operations
    await alice.send(group, 'after the keeper left')
    await new Promise((r) => setTimeout(r, 5_000))
    expect(k.status().operations).toBe(operations)
    expect(k.peers().map((p) => p.name)).toEqual(['alice'])
  }, 300_000)
})

/** `author`'s operations of log `logId` as a node stored them, read with a connection of its own, closed at once. */
function storedOps(dataDir: string, logId: Uint8Array, author: Uint8Array): { hash: string; wire: WireOperation }[] {
  const db = openDatabase(nodePaths(dataDir).database, { readonly: true })
  try {
    const rows = db.prepare('SELECT hash, header, payload FROM log_operations WHERE log_id = ? AND author = ? ORDER BY seq').all(logId, author) as { hash: Buffer; header: Buffer; payload: Buffer | null }[]
    return rows.map((r) => ({ hash: r.hash.toString('hex'), wire: { header: new Uint8Array(r.header), payload: r.payload === null ? null : new Uint8Array(r.payload) } }))
  } finally {
    db.close()
  }
}

describe('a lying keeper', () => {
  const nodes: Record<string, Awaited<ReturnType<typeof testNode>>> = {}
  const live: Record<string, Burrow | undefined> = {}
  let liar: NetStack

  afterAll(async () => {
    await Promise.allSettled([...Object.values(live).map((n) => n?.stop()), liar?.stop()])
    for (const n of Object.values(nodes)) n.cleanup()
  })

  it('cannot make a member store anything invalid: forged and out-of-order operations are refused, withholding only delays', async () => {
    for (const name of ['alice', 'bob']) {
      nodes[name] = await testNode(name)
      live[name] = nodes[name]!.node
    }
    ;[liar] = await Promise.all([startNetStack('liar', []), live.alice!.start(), live.bob!.start()])
    let [alice, bob] = [live.alice!, live.bob!]
    await alice.addPeers([bob.contactCard(), encodeContactCard(liar.card, liar.keys)])
    await bob.addPeer(alice.contactCard())
    await liar.allow(decodeContactCard(alice.contactCard()))
    const group = (await alice.createGroup('lied-to')).id
    const groupId = Buffer.from(group, 'hex')
    await alice.invite(group, 'bob')
    await eventually(() => bob.groups().find((g) => g.id === group && g.members.length === 2), LONG, 'bob to join')
    await alice.addKeeper(group, 'liar')
    await eventually(() => bob.keepers(group).keepers.length === 1 || undefined, LONG, 'bob to learn of the keeper')
    await bob.decideKeepers(group, 'allow')
    expect(bob.peers().find((p) => p.peerId === liar.peerId)?.keeping).toEqual(['keeper of lied-to'])

    await bob.stop()
    const words = Array.from({ length: 6 }, (_, i) => `lie-${i}-${randomBytes(6).toString('hex')}`)
    for (const w of words) await alice.send(group, w)
    const aliceKey = alice.keys.identity.publicKey
    const ops = storedOps(nodes.alice!.dataDir, groupId, aliceKey)
    await alice.stop()
    live.alice = undefined

    // Bob comes back; only the liar is there. It speaks raw sync to him.
    bob = live.bob = await nodes.bob!.reopen()
    await bob.start()
    await liar.allow(decodeContactCard(bob.contactCard()))
    await liar.sync.stop()
    const bobAddr = onionMultiaddr(nodes.bob!.node.onionAddress, TEST_PORT, bob.peerId)
    /** Sends one `ops` frame on a sync stream of its own, and waits for `done`. */
    const say = async (wire: WireOperation[], done: (connection: { status: string }) => boolean, what: string): Promise<void> => {
      const connection = await liar.net.libp2p.dial(bobAddr, { force: true })
      const stream = await connection.newStream(SYNC_PROTOCOL)
      streamChannel(stream).send(encodeFrame({ type: 'ops', logId: groupId, ops: wire }))
      await eventually(() => done(connection), 30_000, what)
      stream.abort(new Error('next lie'))
    }
    // Bob hangs up on a protocol violation.
    const hungUp = (connection: { status: string }): boolean => connection.status !== 'open'
    const held = (): string[] => storedOps(nodes.bob!.dataDir, groupId, aliceKey).map((o) => o.hash)
    const before = held()
    const known = ops.filter((o) => !before.includes(o.hash))
    expect(known.length).toBeGreaterThanOrEqual(6)
    // Forged: a payload that is not the one alice signed.
    const tampered = { header: known[0]!.wire.header, payload: Uint8Array.from(known[0]!.wire.payload!, (b, i) => (i === 10 ? b ^ 1 : b)) }
    await say([tampered], hungUp, 'bob to hang up on a forged operation')
    // Out of order: the second and third without the first.
    await say([known[2]!.wire, known[1]!.wire], hungUp, 'bob to hang up on operations out of order')
    expect(held()).toEqual(before)
    // Withheld: only the first two; bob stores exactly them, alice's.
    await say([known[0]!.wire, known[1]!.wire], () => held().length === before.length + 2, 'bob to store the two honest operations')
    expect(held()).toEqual([...before, known[0]!.hash, known[1]!.hash])
    // Withholding delays only: alice brings the rest.
    alice = live.alice = await nodes.alice!.reopen()
    await alice.start()
    await eventually(() => words.every((w) => texts(bob, group).includes(w)), LONG, 'bob to read every message once alice is back')
    expect(held()).toEqual(ops.map((o) => o.hash))
  }, 400_000)
})
