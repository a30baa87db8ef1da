/**
 * The node's parts of the life of a group, without a network: the owner's
 * invitation queue (with the key-package exchange done by direct calls), the
 * fork ledger over a real log store, and what peers list shows of errors.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { KeyPackageRefusedError } from '../../src/group/index.js'
import { createContactCard, deriveNodeKeys, type NodeKeys } from '../../src/keys/index.js'
import { forkProofFromText, verifyForkProof, toHex } from '../../src/log/index.js'
import { AddressTable, NetError, peerIdOfIdentityKey, type PeerRecord } from '../../src/net/index.js'
import { ForkLedger, INVITE_QUEUE_LIMITS, InviteQueue, type InviteEvent, type InviteNetwork } from '../../src/node/index.js'
import { namingFrom, peerView } from '../../src/node/views.js'
import { PeerStore, PendingInviteStore } from '../../src/store/index.js'
import { silentLogger } from '../../src/logging.js'
import { manualClock, Member, syncAll } from '../helpers/group.js'
import { TestAuthor } from '../helpers/logs.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

/** An owner with an allow-list and an invite queue over its database, and an invitee node. */
function owner(clock = manualClock()) {
  const ownerKeys = deriveNodeKeys(randomBytes(32))
  const a = member('a')
  a.remanage({ now: clock.now })
  const table = new AddressTable(new PeerStore(a.db), peerIdOfIdentityKey(a.key), clock.now)
  const queue = (): InviteQueue => new InviteQueue({ groups: a.manager, table, store: new PendingInviteStore(a.db), logger: silentLogger, now: clock.now })
  return { a, table, queue, clock, ownerKeys }
}

/** An invitee: keys for its card, and a group member over the same identity. */
function invitee(name: string): { keys: NodeKeys; node: Member } {
  const keys = deriveNodeKeys(randomBytes(32))
  return { keys, node: new Member(name, { seed: keys.identity.seed, publicKey: keys.identity.publicKey }) }
}

/** A network where `online` peers answer key-package requests from their own group manager. */
function network(a: Member, peers: Map<string, Member>, online: Set<string>, fail?: () => Error | undefined): InviteNetwork & { asked: number } {
  const net = {
    asked: 0,
    isConnected: (peerId: string) => online.has(peerId),
    fetchKeyPackage: async (peer: PeerRecord, request: { groupId: Uint8Array; nonce: Uint8Array }) => {
      net.asked++
      const failure = fail?.()
      if (failure !== undefined) throw failure
      if (!online.has(peer.peerId)) throw new NetError('PEER_UNAVAILABLE', `cannot reach ${peer.displayName}`)
      return peers.get(peer.peerId)!.manager.createKeyPackage(request.groupId, a.key, request.nonce)
    },
  }
  return net
}

describe('the invitation queue', () => {
  it('queues an invitation to a peer that is away, keeps it across a restart, and completes it when the peer connects', async () => {
    const { a, table, queue } = owner()
    const bob = invitee('bob')
    const record = table.add(createContactCard(bob.keys, 'bob'))
    const { id: groupId } = await a.manager.create({ name: 'team' })
    const online = new Set<string>()
    const peers = new Map([[record.peerId, bob.node]])

    const first = queue()
    first.start(network(a, peers, online))
    expect(await first.invite(groupId, record)).toBe('queued')
    await vi.waitFor(() => expect(first.list(groupId)[0]?.attempts).toBe(1), { timeout: 5000 })
    expect(first.list(groupId)).toEqual([expect.objectContaining({ name: 'bob', peerId: record.peerId, attempts: 1, lastError: expect.objectContaining({ code: 'PEER_UNAVAILABLE' }) })])
    first.stop()

    // The owner's node restarts: the invitation is still there, and goes out when bob connects.
    const second = queue()
    const events: InviteEvent[] = []
    second.on('invite', (e) => events.push(e))
    expect(second.list().map((i) => i.name)).toEqual(['bob'])
    second.start(network(a, peers, online))
    online.add(record.peerId)
    second.peerConnected(record.peerId)
    await vi.waitFor(() => expect(events.map((e) => e.state)).toEqual(['invited']), { timeout: 5000 })
    expect(second.list()).toEqual([])
    await syncAll([a, bob.node], groupId)
    expect(bob.node.manager.get(groupId)).toMatchObject({ active: true, name: 'team' })
    second.stop()
  })

  it('invites at once when the peer is connected; asking again for a member is refused', async () => {
    const { a, table, queue } = owner()
    const bob = invitee('bob')
    const record = table.add(createContactCard(bob.keys, 'bob'))
    const { id: groupId } = await a.manager.create()
    const q = queue()
    q.start(network(a, new Map([[record.peerId, bob.node]]), new Set([record.peerId])))
    expect(await q.invite(groupId, record)).toBe('invited')
    await expect(q.invite(groupId, record)).rejects.toMatchObject({ code: 'GROUP_ALREADY_A_MEMBER', message: 'bob already is a member of the group' })
    q.stop()
  })

  it('retries what may change (a refusal by a member not yet told of its removal), drops what will not', async () => {
    const { a, table, queue, clock } = owner()
    const [bob, carol] = [invitee('bob'), invitee('carol')]
    const bobRecord = table.add(createContactCard(bob.keys, 'bob'))
    const carolRecord = table.add(createContactCard(carol.keys, 'carol'))
    const { id: groupId } = await a.manager.create()
    let refusal: string | undefined = 'GROUP_ALREADY_A_MEMBER'
    const online = new Set([bobRecord.peerId])
    const net = network(a, new Map([[bobRecord.peerId, bob.node], [carolRecord.peerId, carol.node]]), online, () => (refusal === undefined ? undefined : new KeyPackageRefusedError(refusal)))
    const q = queue()
    const events: InviteEvent[] = []
    q.on('invite', (e) => events.push(e))
    q.start(net)
    expect(await q.invite(groupId, bobRecord)).toBe('queued')
    expect(q.list()[0]).toMatchObject({ attempts: 1, lastError: { code: 'GROUP_KEY_PACKAGE_REFUSED' } })
    // Tried again when bob (re)connects; the node's sweep does the same every 30 s while it stays connected.
    refusal = undefined
    clock.advance(INVITE_QUEUE_LIMITS.retryMs)
    q.peerConnected(bobRecord.peerId)
    await vi.waitFor(() => expect(events.map((e) => e.state)).toEqual(['queued', 'invited']), { timeout: 5000 })
    // A refusal that no retry changes drops the invitation.
    refusal = 'GROUP_ID_NOT_OWNED'
    online.add(carolRecord.peerId)
    await expect(q.invite(groupId, carolRecord)).rejects.toMatchObject({ code: 'GROUP_KEY_PACKAGE_REFUSED', refusal: 'GROUP_ID_NOT_OWNED' })
    expect(q.list()).toEqual([])
    expect(events.at(-1)).toMatchObject({ state: 'failed', name: 'carol' })
    q.stop()
  })

  it('is bounded: a week at most, 64 per group; it can be cancelled', async () => {
    const { a, table, queue, clock } = owner()
    const bob = invitee('bob')
    const record = table.add(createContactCard(bob.keys, 'bob'))
    const { id: groupId } = await a.manager.create()
    const q = queue()
    const events: InviteEvent[] = []
    q.on('invite', (e) => events.push(e))
    expect(await q.invite(groupId, record)).toBe('queued')
    expect(q.cancel(groupId, record)).toMatchObject({ name: 'bob' })
    expect(() => q.cancel(groupId, record)).toThrow(expect.objectContaining({ code: 'NODE_INVITE_NOT_QUEUED' }))
    await q.invite(groupId, record)
    clock.advance(INVITE_QUEUE_LIMITS.ttlMs)
    q.start(network(a, new Map(), new Set()))
    expect(events.map((e) => [e.state, e.error?.code])).toEqual([['cancelled', undefined], ['failed', 'NODE_INVITE_EXPIRED']])
    expect(q.list()).toEqual([])
    q.stop()
    const store = new PendingInviteStore(a.db)
    for (let i = 0; i < INVITE_QUEUE_LIMITS.perGroup; i++) store.add(groupId, randomBytes(32), clock.now())
    await expect(q.invite(groupId, record)).rejects.toMatchObject({ code: 'NODE_INVITE_QUEUE_FULL' })
  })
})

describe('fork proofs held', () => {
  it('lists a detected fork with its author marked, and exports a proof that verifies', () => {
    const { a, table } = owner()
    const seed = randomBytes(32)
    const [device1, device2] = [new TestAuthor(seed), new TestAuthor(seed)]
    const log = randomBytes(32)
    expect(a.logs.ingest([device1.next(log)]).stored).toBe(1)
    const detected = a.logs.ingest([device2.next(log)])
    expect(detected.forks).toHaveLength(1)
    const ledger = new ForkLedger(a.logs, namingFrom(table, a.key, () => a.logs.forkedAuthors()))
    const [fork] = ledger.list()
    expect(fork).toMatchObject({ author: toHex(device1.publicKey), logId: toHex(log), seq: 0, self: false, detectedAt: expect.any(Number) })
    expect(fork!.id).toMatch(/^[0-9a-f]{16}$/)
    expect(a.logs.forkedAuthors()).toEqual(new Set([toHex(device1.publicKey)]))
    const exported = ledger.export(fork!.id.slice(0, 4))
    expect(verifyForkProof(forkProofFromText(exported.proof))).toMatchObject({ seq: 0 })
    expect(() => ledger.export('abc')).toThrow(expect.objectContaining({ code: 'NODE_FORK_NOT_FOUND' }))
    expect(() => ledger.export('0000000000000000')).toThrow(expect.objectContaining({ code: 'NODE_FORK_NOT_FOUND' }))
    // The same view names the peer that revealed it, for the log:fork event.
    expect(ledger.detected(detected.forks[0]!, 'peer-x', table)).toMatchObject({ id: fork!.id, peerId: 'peer-x' })
  })
})

describe('what peers list shows of errors', () => {
  it('the last error until the peer is heard from again; the last five in the history', () => {
    const { table, clock } = owner()
    const bob = table.add(createContactCard(deriveNodeKeys(randomBytes(32)), 'bob'))
    const view = (): ReturnType<typeof peerView> => peerView(table.get(bob.peerId)!, false, false)
    expect(view()).toMatchObject({ errors: [], forked: false })
    expect(view().lastError).toBeUndefined()
    for (let i = 0; i < 7; i++) {
      clock.advance(1_000)
      table.recordError(bob.peerId, `E${i}`, `failure ${i}`)
    }
    expect(view().lastError).toMatchObject({ code: 'E6', at: clock.now() })
    expect(view().errors.map((e) => e.code)).toEqual(['E6', 'E5', 'E4', 'E3', 'E2'])
    clock.advance(2_000)
    table.markSeen(bob.peerId)
    expect(view().lastError).toBeUndefined()
    expect(view().errors).toHaveLength(5)
    clock.advance(2_000)
    table.recordError(bob.peerId, 'E7', 'again')
    expect(view().lastError?.code).toBe('E7')
    expect(view().fingerprint).toMatch(/^([0-9a-f]{4} ){4}[0-9a-f]{4}$/)
  })
})
