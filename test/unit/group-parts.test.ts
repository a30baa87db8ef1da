/**
 * Commits and Welcomes larger than one operation (src/group/parts.ts): cut
 * into parts by the owner, taken only whole by members and joiners, and a
 * hostile member's broken parts refused without holding anything else up.
 * The last test does it with a real 2,000-member group.
 */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeGroupPayload, MAX_PAYLOAD_PARTS } from '../../src/group/index.js'
import { createKeyPackage } from '../../src/group/mls/index.js'
import { joinParts, payloadOperations, type StoredPart } from '../../src/group/parts.js'
import { decodeGroupPayload } from '../../src/group/payload.js'
import { GroupStore } from '../../src/store/index.js'
import { appendRaw, deliver, ingestInto, invite, Member, newIdentity, operationsOf, stateCopy, text } from '../helpers/group.js'

const stored = (payloads: Uint8Array[], epoch = 1): StoredPart[] =>
  payloads.map((p) => {
    const part = decodeGroupPayload(p)
    if (part.kind !== 'part') throw new Error('expected a part')
    return { part, epoch }
  })

describe('cutting and joining payloads', () => {
  const welcome = { kind: 'welcome' as const, welcome: new Uint8Array(randomBytes(10_000)) }

  it('keeps a payload that fits whole, cuts one that does not, and joins the parts back', () => {
    expect(payloadOperations(welcome, 20_000)).toEqual([encodeGroupPayload(welcome)])
    const parts = payloadOperations(welcome, 3_000)
    expect(parts.length).toBe(4)
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(3_000)
    expect(joinParts(stored(parts))).toEqual(welcome)
  })

  it('refuses to cut user content, or into more than the most parts', () => {
    expect(() => payloadOperations({ kind: 'application', message: new Uint8Array(5_000) }, 1_000)).toThrow(expect.objectContaining({ code: 'GROUP_INVALID_ARGUMENT' }))
    expect(() => payloadOperations(welcome, Math.floor(10_000 / MAX_PAYLOAD_PARTS))).toThrow(expect.objectContaining({ code: 'GROUP_INVALID_ARGUMENT' }))
  })

  it('refuses parts that are missing, out of order, from another epoch, of another digest, or parts of parts', () => {
    const parts = payloadOperations(welcome, 3_000)
    const other = payloadOperations({ kind: 'welcome', welcome: new Uint8Array(randomBytes(10_000)) }, 3_000)
    const cases: [string, StoredPart[]][] = [
      ['one missing', stored(parts.slice(0, 3))],
      ['out of order', stored([parts[0]!, parts[2]!, parts[1]!, parts[3]!])],
      ['not starting at 0', stored(parts.slice(1))],
      ['another epoch', [...stored(parts.slice(0, 3)), ...stored(parts.slice(3), 2)]],
      ['another digest', stored([...parts.slice(0, 3), other[3]!])],
    ]
    for (const [what, run] of cases) expect(() => joinParts(run), what).toThrow(expect.objectContaining({ code: 'GROUP_MALFORMED_PAYLOAD' }))
    // A whole that is itself a part's encoding, cut in two with the right digest.
    const inner = encodeGroupPayload({ kind: 'part', index: 0, count: 2, digest: new Uint8Array(32), bytes: new Uint8Array(100) })
    const digest = new Uint8Array(createHash('sha256').update(inner).digest())
    const half = inner.length >> 1
    const partsOfParts = [inner.subarray(0, half), inner.subarray(half)].map((bytes, index) => ({ part: { kind: 'part' as const, index, count: 2, digest, bytes }, epoch: 1 }))
    expect(() => joinParts(partsOfParts)).toThrow(expect.objectContaining({ code: 'GROUP_MALFORMED_PAYLOAD', message: 'parts carry parts' }))
    expect(() => decodeGroupPayload(encodeGroupPayload({ kind: 'part', index: 0, count: MAX_PAYLOAD_PARTS + 1, digest: new Uint8Array(32), bytes: new Uint8Array(1) }))).toThrow(
      expect.objectContaining({ code: 'GROUP_MALFORMED_PAYLOAD' }),
    )
  })
})

/** A member whose manager writes operations of at most `maxPayloadBytes`. */
function memberWithLimit(name: string, maxPayloadBytes: number): Member {
  const m = new Member(name)
  m.remanage({ maxPayloadBytes })
  return m
}

describe('a group whose commits and Welcomes come in parts', () => {
  it('a joiner waits for the last part of its Welcome, members for the last part of a commit', async () => {
    const owner = memberWithLimit('owner', 400)
    const [bob, carol] = [new Member('bob'), new Member('carol')]
    const { id } = await owner.manager.create({ name: 'parts' })
    await invite(owner, bob, id)
    const ownerOps = operationsOf(owner, owner, id)
    // Commits (about 550 bytes) and Welcomes (860 and more) are cut; the group's setting (355) is not.
    const parts = ownerOps.filter((op) => decodeGroupPayload(op.payload!).kind === 'part')
    expect(parts.length).toBeGreaterThan(2)
    // Everything up to the Welcome's last part: bob cannot join yet.
    const lastPart = ownerOps.findLastIndex((op) => decodeGroupPayload(op.payload!).kind === 'part')
    ingestInto(bob, ownerOps.slice(0, lastPart))
    await bob.manager.processPending()
    expect(bob.manager.get(id)).toBeUndefined()
    ingestInto(bob, ownerOps.slice(lastPart))
    await bob.manager.processPending()
    expect(bob.manager.get(id)?.active).toBe(true)

    await invite(owner, carol, id)
    const more = operationsOf(owner, owner, id, ownerOps.at(-1)!.header.seq)
    // Bob gets carol's commit one operation at a time: nothing changes before its last part.
    const commitEnd = more.findIndex((op) => {
      const p = decodeGroupPayload(op.payload!)
      return p.kind === 'part' && p.index === p.count - 1
    })
    expect(commitEnd).toBeGreaterThan(0)
    for (const [i, op] of more.entries()) {
      ingestInto(bob, [op])
      await bob.manager.processPending()
      expect(bob.manager.members(id)).toHaveLength(i < commitEnd ? 2 : 3)
    }
    expect(bob.manager.members(id)).toHaveLength(3)
    deliver(owner, carol, id, owner)
    await carol.manager.processPending()
    await owner.manager.send(id, text('to both'))
    deliver(owner, bob, id, owner)
    deliver(owner, carol, id, owner)
    await bob.manager.processPending()
    await carol.manager.processPending()
    expect(bob.texts(id)).toEqual(['to both'])
    expect(carol.texts(id)).toEqual(['to both'])
    for (const m of [owner, bob, carol]) expect(m.manager.rejected(id)).toEqual([])
  })

  it("refuses a member's broken parts as one operation and goes on with what follows", async () => {
    const owner = new Member('owner')
    const bob = new Member('bob')
    const { id } = await owner.manager.create({ name: 'hostile parts' })
    await invite(owner, bob, id)
    deliver(owner, bob, id, owner)
    await bob.manager.processPending()
    const epoch = { epoch: Number(owner.manager.get(id)!.epoch) }
    const run = payloadOperations({ kind: 'proposal', proposal: new Uint8Array(randomBytes(3_000)) }, 1_000)
    // Bob writes a run whose third part carries another digest, then a real message.
    const forged = payloadOperations({ kind: 'proposal', proposal: new Uint8Array(randomBytes(3_000)) }, 1_000)
    for (const p of [run[0]!, run[1]!, forged[2]!, run[3]!]) appendRaw(bob, id, p, epoch)
    await bob.manager.send(id, text('after the parts'))
    deliver(bob, owner, id, bob)
    await owner.manager.processPending()
    expect(owner.texts(id)).toEqual(['after the parts'])
    const rejected = owner.manager.rejected(id)
    expect(rejected.map((r) => r.code)).toEqual(['GROUP_MALFORMED_PAYLOAD'])
    // Refused as one: at the last part's place.
    expect(rejected[0]!.seq).toBe(operationsOf(owner, bob, id)[3]!.header.seq)
  })

  it("refuses a member's proposal in parts, which no honest proposal needs, and changes nothing", async () => {
    const owner = new Member('owner')
    const bob = new Member('bob')
    const { id } = await owner.manager.create()
    await invite(owner, bob, id)
    deliver(owner, bob, id, owner)
    await bob.manager.processPending()
    const { proposal } = await stateCopy(bob, id).proposeUpdate()
    const whole = { kind: 'proposal' as const, proposal }
    const parts = payloadOperations(whole, Math.ceil(encodeGroupPayload(whole).length / 2) + 64)
    expect(parts).toHaveLength(2)
    for (const p of parts) appendRaw(bob, id, p, { epoch: 1 })
    await bob.manager.send(id, text('after the parts'))
    deliver(bob, owner, id, bob)
    await owner.manager.processPending()
    expect(owner.manager.rejected(id).map((r) => [r.code, r.seq])).toEqual([['GROUP_PROPOSAL_REFUSED', operationsOf(owner, bob, id)[1]!.header.seq]])
    expect(owner.manager.get(id)?.epoch).toBe(1)
    expect(owner.texts(id)).toEqual(['after the parts'])
  })

  it('a 2,000-member group: its Welcome of about 500 KB travels in parts of 256 KiB and the newcomer joins', { timeout: 240_000 }, async () => {
    const owner = new Member('owner')
    const { id } = await owner.manager.create({ name: 'two thousand' })
    // 1,998 members in one commit, on the stored state (no API adds that many at once; members join one by one).
    const packages: Uint8Array[] = []
    for (let i = 0; i < 1998; i++) packages.push((await createKeyPackage(newIdentity())).publicPackage)
    const grown = (await stateCopy(owner, id).addMembers(packages)).group
    const store = new GroupStore(owner.db)
    store.updateState(id, { state: grown.encodeState(), epoch: Number(grown.epoch), active: true, ended: null, ownProposal: null })
    store.setMembers(id, grown.members())
    owner.restart()
    owner.remanage({ maxPayloadBytes: 256 * 1024 })
    expect(owner.manager.members(id)).toHaveLength(1999)

    const newcomer = new Member('newcomer')
    const before = owner.logs.heights(id).get(owner.hex)!
    await invite(owner, newcomer, id)
    const written = operationsOf(owner, owner, id, before).map((op) => decodeGroupPayload(op.payload!))
    const welcomeParts = written.filter((p) => p.kind === 'part')
    expect(welcomeParts.length).toBeGreaterThanOrEqual(2)
    const whole = joinParts(welcomeParts.map((part) => ({ part: part as Extract<typeof part, { kind: 'part' }>, epoch: 0 })))
    expect(whole.kind).toBe('welcome')
    expect(whole.kind === 'welcome' && whole.welcome.length).toBeGreaterThan(400_000)
    deliver(owner, newcomer, id, owner)
    await newcomer.manager.processPending()
    expect(newcomer.manager.get(id)?.active).toBe(true)
    expect(newcomer.manager.members(id)).toHaveLength(2000)
    expect(newcomer.manager.rejected(id)).toEqual([])
  })
})
