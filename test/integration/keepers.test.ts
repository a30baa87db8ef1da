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
import type { Burrow } from '../../src/node/index.js'
import { eventually, testNode, texts } from '../helpers/burrow.js'

const LONG = 150_000

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
      nodes[name] = await testNode(name)
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

  it('the owner names a keeper; the member is asked, allows it, and the keeper keeps the group for both', async () => {
    const [alice, bob, k] = [node('alice'), node('bob'), node('k')]
    const asked = new Promise<unknown>((resolve) => bob.once('group:keepers', resolve))
    const view = await alice.addKeeper(group, 'k')
    expect(view.keepers.map((x) => x.peerId)).toEqual([k.peerId])
    expect(await asked).toMatchObject({ groupId: group, decision: 'ask', keepers: [{ peerId: k.peerId, name: 'k' }] })
    expect(bob.status().keeperQuestions.map((q) => q.groupId)).toEqual([group])
    await bob.decideKeepers(group, 'allow')
    expect(bob.status().keeperQuestions).toEqual([])
    expect(bob.peers().find((p) => p.peerId === k.peerId)?.keeping).toEqual(['keeper of kept'])
    const held = await eventually(() => k.keptGroups().find((g) => g.groupId === group), LONG, 'the keeper to take the order')
    expect(held).toMatchObject({ owner: alice.keys.identity.publicKey.reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), members: 2, full: false })
    expect(k.peers().find((p) => p.peerId === bob.peerId)?.keeping).toEqual([`member of kept group ${group.slice(0, 12)}`])
    expect(k.groups()).toEqual([])
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

  it('a removed member, then a removed keeper, get nothing new', async () => {
    const alice = node('alice')
    const k = node('k')
    await alice.removeMember(group, 'bob')
    await eventually(() => k.keptGroups().find((g) => g.groupId === group && g.members === 1), LONG, 'the keeper to learn of the removal')
    // The keeper let bob go: only keeping had put him on its list.
    expect(k.peers().some((p) => p.peerId === nodes.bob!.node.peerId)).toBe(false)
    const before = kept()
    await alice.send(group, 'after bob left')
    await eventually(() => kept() > before, LONG, 'the keeper to store the message')

    await alice.removeKeeper(group, 'k')
    await eventually(() => k.keptGroups().length === 0, LONG, 'the keeper to be released')
    const operations = k.status().operations
    await alice.send(group, 'after the keeper left')
    await new Promise((r) => setTimeout(r, 5_000))
    expect(k.status().operations).toBe(operations)
    expect(k.peers().map((p) => p.name)).toEqual(['alice'])
  }, 300_000)
})
