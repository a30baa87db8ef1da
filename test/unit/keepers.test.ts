// Keepers: the wire of /burrow/keeper/1 and of the keepers list, the owner
// and members' side in the group layer, and a keeper's kept groups (policy,
// pinning, claims, quota, retention). Real GroupManagers, SQLite and ts-mls;
// "sync" copies operations.
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import {
  decodeKeeperRequest,
  decodeKeeperResponse,
  encodeKeeperRequest,
  encodeKeeperResponse,
  fileLogId,
  groupIdOf,
  INVITATION_LIMITS,
  KeptGroups,
  MAX_KEEPERS,
  MAX_KEPT_FILE_LOGS,
  MAX_KEPT_PER_ORDERER,
  type KeptGroupsOptions,
  type KeeperList,
  type KeeperRequest,
} from '../../src/group/index.js'

type KeeperOrder = Extract<KeeperRequest, { type: 'order' }>

const allHeights = (m: Member, logId: Uint8Array): [string, number][] => [...m.logs.heights(logId)].sort()
import { decodeAppBody, encodeAppBody } from '../../src/group/app-body.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { toHex } from '../../src/log/index.js'
import type { ContactCard } from '../../src/keys/index.js'
import { silentLogger } from '../../src/logging.js'
import { AddressTable, peerIdOfIdentityKey } from '../../src/net/index.js'
import { assertPeerLimit, MAX_PEERS } from '../../src/node/index.js'
import { KeeperService } from '../../src/node/keepers.js'
import { KeeperStore, PeerStore } from '../../src/store/index.js'
import { onionAddressFromPublicKey } from '../../src/tor/onion-address.js'
import { TestAuthor } from '../helpers/logs.js'
import { prng } from '../helpers/prng.js'
import { deliver, invite, manualClock, syncAll, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()
/** The PeerId a kept group's operations come from (a sync session's peer). */
const PEER = 'peer-a'

/** A peer entry for an identity key (its onion and client-auth keys random). */
function cardFor(identityKey: Uint8Array, displayName?: string): ContactCard {
  return {
    version: 1,
    identityKey,
    onionAddress: onionAddressFromPublicKey(ed25519.getPublicKey(ed25519.utils.randomSecretKey())),
    clientAuthKey: new Uint8Array(randomBytes(32)),
    ...(displayName !== undefined ? { displayName } : {}),
  }
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('keeper wire', () => {
  const groupId = new Uint8Array(randomBytes(32))
  const nonce = new Uint8Array(randomBytes(32))
  const peers = [cardFor(new Uint8Array(randomBytes(32)), 'bob'), cardFor(new Uint8Array(randomBytes(32)))]

  it('round-trips orders, releases, claims and answers', () => {
    const requests: KeeperRequest[] = [
      { type: 'order', groupId, nonce, members: peers, keepers: [peers[1]!], retentionMs: 86_400_000 },
      { type: 'order', groupId, nonce, members: [], keepers: [], retentionMs: null },
      { type: 'release', groupId },
      { type: 'claim', groupId, fileIds: [new Uint8Array(16), new Uint8Array(randomBytes(16))] },
    ]
    for (const r of requests) expect(decodeKeeperRequest(encodeKeeperRequest(r))).toEqual(r)
    expect(() => decodeKeeperResponse(encodeKeeperResponse())).not.toThrow()
    expect(() => decodeKeeperResponse(encodeKeeperResponse('KEEPER_NOT_OWNER'))).toThrow(/KEEPER_NOT_OWNER/)
    // A hostile keeper's refusal text reaches nobody as it is.
    expect(() => decodeKeeperResponse(encodeCanonical([0, '\u001b[31mrm -rf']))).toThrow('the keeper refused (??31???????)')
    expect(code(() => decodeKeeperResponse(encodeCanonical([2])))).toBe('KEEPER_MALFORMED')
  })

  it('refuses malformed requests with KEEPER_MALFORMED', () => {
    const peer = (p: ContactCard): unknown[] => [p.identityKey, new Uint8Array(32), p.clientAuthKey, null]
    const bad: unknown[] = [
      [],
      [9, groupId],
      [2, new Uint8Array(31)],
      [2, groupId, 1],
      [1, groupId, nonce, [], [], -5],
      [1, groupId, new Uint8Array(8), [], [], null],
      [1, groupId, nonce, [[1, 2, 3, 4]], [], null],
      [1, groupId, nonce, [peer(peers[0]!), peer(peers[0]!)], [], null],
      [1, groupId, nonce, [], Array.from({ length: MAX_KEEPERS + 1 }, () => peer(cardFor(new Uint8Array(randomBytes(32))))), null],
      [3, groupId, []],
      [3, groupId, [new Uint8Array(15)]],
      [3, groupId, Array.from({ length: 513 }, () => new Uint8Array(16))],
    ]
    for (const value of bad) expect(code(() => decodeKeeperRequest(encodeCanonical(value as never)))).toBe('KEEPER_MALFORMED')
    // Not canonical CBOR (an indefinite-length array), and not CBOR at all.
    expect(code(() => decodeKeeperRequest(Uint8Array.from([0x9f, 0x02, 0xff])))).toBe('KEEPER_MALFORMED')
    expect(code(() => decodeKeeperRequest(new Uint8Array(300 * 1024)))).toBe('KEEPER_MALFORMED')
  })

  it('answers every mutation of a valid request with a request or KEEPER_MALFORMED, nothing else', () => {
    const random = prng(25)
    const valid = encodeKeeperRequest({ type: 'order', groupId, nonce, members: peers, keepers: [peers[1]!], retentionMs: 86_400_000 })
    const codes = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const bytes = Uint8Array.from(valid)
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes
      codes.add(code(() => decodeKeeperRequest(cut)) ?? 'decoded')
    }
    expect([...codes].sort()).toEqual(['KEEPER_MALFORMED', 'decoded'])
  })

  it('carries the keepers list as a typed body; a bad entry is a malformed payload', () => {
    const body = { type: 'keepers' as const, keepers: peers }
    expect(decodeAppBody(encodeAppBody(body))).toEqual(body)
    expect(code(() => decodeAppBody(encodeCanonical([3, [[new Uint8Array(3)]]])))).toBe('GROUP_MALFORMED_PAYLOAD')
  })
})

/** Owner `a` and member `b` in a group, and a keeper's identity `k`. */
async function groupWithKeeper(): Promise<{ a: Member; b: Member; k: Member; groupId: Uint8Array }> {
  const [a, b, k] = [member('a'), member('b'), member('k')]
  const { id: groupId } = await a.manager.create()
  await invite(a, b, groupId)
  await syncAll([a, b], groupId)
  return { a, b, k, groupId }
}

describe('keepers in the group layer', () => {
  it('the owner shares with its keepers at once; a member only once it allows them, and stops on deny or removal', async () => {
    const { a, b, k, groupId } = await groupWithKeeper()
    expect(a.manager.mayShare(k.key, groupId)).toBe(false)
    await a.manager.setKeepers(groupId, [cardFor(k.key, 'keeper')])
    expect(a.manager.mayShare(k.key, groupId)).toBe(true)
    expect(a.manager.sharedLogs(k.key).map(toHex)).toContain(toHex(groupId))

    const heard: KeeperList[] = []
    b.manager.on('keepers', (l) => heard.push(l))
    await syncAll([a, b], groupId)
    expect(heard.map((l) => [l.decision, l.keepers.map((c) => c.displayName)])).toEqual([['ask', ['keeper']]])
    expect(b.manager.mayShare(k.key, groupId)).toBe(false)

    await b.manager.decideKeepers(groupId, 'allow')
    expect(b.manager.mayShare(k.key, groupId)).toBe(true)
    // Files go to allowed keepers too.
    const upload = b.manager.beginFile(groupId, { chunkSize: 1024 })
    upload.write(randomBytes(3000))
    const sent = await b.manager.sendFile(upload, { name: 'x.bin', mediaType: 'application/octet-stream' })
    expect(b.manager.mayShare(k.key, sent.fileLog!)).toBe(true)
    expect(b.manager.sharedLogs(k.key).map(toHex)).toContain(toHex(sent.fileLog!))
    expect(b.manager.fileIds(groupId)).toHaveLength(1)

    await b.manager.decideKeepers(groupId, 'deny')
    expect(b.manager.mayShare(k.key, groupId)).toBe(false)
    expect(b.manager.mayShare(k.key, sent.fileLog!)).toBe(false)
    await b.manager.decideKeepers(groupId, 'allow')

    // The owner drops the keeper: everyone stops.
    await a.manager.setKeepers(groupId, [])
    expect(a.manager.mayShare(k.key, groupId)).toBe(false)
    await syncAll([a, b], groupId)
    expect(b.manager.mayShare(k.key, groupId)).toBe(false)
    expect(b.manager.keepers(groupId)?.keepers).toEqual([])
  })

  it('a late joiner learns the list; only the owner names keepers; a keeper is never also a member', async () => {
    const { a, b, k, groupId } = await groupWithKeeper()
    await a.manager.setKeepers(groupId, [cardFor(k.key)])
    const c = member('c')
    // The joiner reads nothing from before its Welcome: the list comes again with it.
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    expect(c.manager.keepers(groupId)?.keepers.map((x) => toHex(x.identityKey))).toEqual([k.hex])
    await c.manager.decideKeepers(groupId, 'allow')
    expect(c.manager.mayShare(k.key, groupId)).toBe(true)
    await expect(b.manager.setKeepers(groupId, [cardFor(k.key)])).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
    await expect(a.manager.setKeepers(groupId, [cardFor(b.key)])).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    await expect(a.manager.decideKeepers(groupId, 'deny')).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
    await expect(invite(a, k, groupId)).rejects.toMatchObject({ code: 'GROUP_INVALID_ARGUMENT' })
  })

  it('a node that is no member ignores a group log it holds, recording no error', async () => {
    const { a, b, k, groupId } = await groupWithKeeper()
    await a.manager.send(groupId, new TextEncoder().encode('hello'))
    deliver(a, k, groupId)
    deliver(b, k, groupId)
    const summary = await k.manager.processPending()
    expect(summary).toMatchObject({ rejected: 0 })
    expect(k.manager.list()).toEqual([])
    expect(k.db.prepare('SELECT COUNT(*) AS n FROM group_rejected').get()).toEqual({ n: 0 })
  })
})

describe('kept groups', () => {
  /** A keeper node `k` (a real group manager: what its node tells KeptGroups), allowing `orderers` to order it. */
  function keeper(options: Omit<KeptGroupsOptions, 'self' | 'isOwnGroup'> = {}, orderers: readonly Uint8Array[] = [], k: Member = member('k')): { k: Member; kept: KeptGroups; reopen: () => KeptGroups } {
    const isOwnGroup = (groupId: Uint8Array): boolean => k.manager.get(groupId) !== undefined || k.manager.invitations().some((i) => toHex(i.groupId) === toHex(groupId))
    const make = (): KeptGroups => new KeptGroups(new KeeperStore(k.db), k.logs, { ...options, self: k.key, isOwnGroup })
    const kept = make()
    for (const o of orderers) kept.decide(o, 'allow')
    return { k, kept, reopen: make }
  }

  it('takes orders from the group owner only, pinned, and shares with the order’s members, co-keepers and owner alone', async () => {
    const { a, b, groupId } = await groupWithKeeper()
    const { kept, reopen } = keeper({}, [a.key])
    const stranger = member('s')
    const coKeeper = cardFor(new Uint8Array(randomBytes(32)))
    const order = { type: 'order' as const, groupId, nonce: a.manager.ownershipNonce(groupId), members: [cardFor(b.key)], keepers: [coKeeper], retentionMs: null }
    // The nonce proves the group id is the orderer's.
    expect(code(() => kept.order(b.key, order))).toBe('KEEPER_REFUSED')
    const change = kept.order(a.key, order)
    expect(change.peers.map((p) => toHex(p.identityKey))).toEqual([b.hex, toHex(coKeeper.identityKey)])
    for (const [who, shared] of [[a.key, true], [b.key, true], [coKeeper.identityKey, true], [stranger.key, false]] as const) {
      expect(kept.mayShare(who, groupId)).toBe(shared)
      expect(kept.sharedLogs(who).length).toBe(shared ? 1 : 0)
    }
    expect(kept.mayShare(a.key, new Uint8Array(32))).toBeUndefined()

    // The next order drops b: nothing more for it.
    const next = kept.order(a.key, { ...order, members: [] })
    expect(next.dropped.map(toHex)).toEqual([b.hex])
    expect(kept.mayShare(b.key, groupId)).toBe(false)
    // Kept across a restart.
    const again = reopen()
    expect(again.keeps(groupId)).toBe(true)
    expect(again.mayShare(a.key, groupId)).toBe(true)
    expect(again.mayShare(b.key, groupId)).toBe(false)
    expect(code(() => again.release(b.key, groupId))).toBe('KEEPER_REFUSED')
    again.release(a.key, groupId)
    expect(again.keeps(groupId)).toBe(false)
  })

  it('keeps a claimed file log with its group, claimed by a member only, verified by its id', async () => {
    const { a, b, groupId } = await groupWithKeeper()
    const { kept } = keeper({}, [a.key])
    kept.order(a.key, { type: 'order', groupId, nonce: a.manager.ownershipNonce(groupId), members: [cardFor(b.key)], keepers: [], retentionMs: null })
    const fileId = new Uint8Array(randomBytes(16))
    expect(code(() => kept.claim(member('s').key, groupId, [fileId]))).toBe('KEEPER_REFUSED')
    expect(code(() => kept.claim(b.key, new Uint8Array(32), [fileId]))).toBe('KEEPER_REFUSED')
    expect(kept.claim(b.key, groupId, [fileId]).map(toHex)).toEqual([toHex(fileLogId(groupId, fileId))])
    expect(kept.mayShare(a.key, fileLogId(groupId, fileId))).toBe(true)
    expect(kept.sharedLogs(b.key).map(toHex)).toEqual([toHex(groupId), toHex(fileLogId(groupId, fileId))])
    // A group back under its quota asks again in each of these (a session asks per log).
    expect(kept.logsOf(groupId).map(toHex)).toEqual([toHex(groupId), toHex(fileLogId(groupId, fileId))])
  })

  it('refuses operations past the group quota, reports it once, never leaves a gap, and takes them again once retention frees space', async () => {
    const clock = manualClock()
    const owner = new TestAuthor()
    const { kept, k } = keeper({ quota: { perGroupBytes: 10_000 }, now: clock.now }, [owner.publicKey])
    const nonce = new Uint8Array(randomBytes(32))
    const groupId = groupIdOf(owner.publicKey, nonce)
    kept.order(owner.publicKey, { type: 'order', groupId, nonce, members: [], keepers: [], retentionMs: 60_000 })
    const full: string[] = []
    kept.onFull = (_g, err) => full.push(err.code)
    // Application payloads (`82 01 …`), about 1 KiB each, dated now.
    const ops = Array.from({ length: 15 }, () => owner.next(groupId, Uint8Array.from([0x82, 0x01, ...randomBytes(1000)])))
    const taken = ops.filter((op) => kept.accepts(op.header, PEER))
    expect(taken.length).toBeGreaterThan(5)
    expect(taken.length).toBeLessThan(10)
    expect(full).toEqual(['KEEPER_QUOTA_FULL'])
    expect(k.logs.ingest(taken).stored).toBe(taken.length)
    // Stored, they count a little less than they stated: not room enough for the operation refused, which would only refill the group.
    expect(kept.stored(taken)).toEqual([])
    expect(kept.list()[0]).toMatchObject({ full: true, operations: taken.length })
    // Nothing after the first refused operation is taken, even when it would fit.
    expect(kept.accepts(ops[ops.length - 1]!.header, PEER)).toBe(false)
    // Operations older than the retention period lose their payloads: space again, from the first refused seq on.
    clock.advance(120_000)
    expect(kept.sweep()).toEqual({ expired: taken.length, reopened: [groupId] })
    expect(kept.list()[0]!.full).toBe(false)
    expect(kept.accepts(ops[taken.length + 1]!.header, PEER)).toBe(false)
    expect(kept.accepts(ops[taken.length]!.header, PEER)).toBe(true)
    expect(kept.accepts(ops[taken.length + 1]!.header, PEER)).toBe(true)
    // Operations of someone the order does not name are not taken; nor, then, its later ones (a member added since: the
    // keeper asks for its log from the start once the order names it).
    const stranger = new TestAuthor()
    const strangerOps = [stranger.next(groupId), stranger.next(groupId)]
    expect(kept.accepts(strangerOps[0]!.header, PEER)).toBe(false)
    kept.order(owner.publicKey, { type: 'order', groupId, nonce, members: [cardFor(stranger.publicKey)], keepers: [], retentionMs: 60_000 })
    expect(kept.accepts(strangerOps[1]!.header, PEER)).toBe(false)
    expect(kept.accepts(strangerOps[0]!.header, PEER)).toBe(true)
  })

  it('counts a claimed file log against its group after the group is ordered again', () => {
    const owner = new TestAuthor()
    const { kept } = keeper({ quota: { perGroupBytes: 10_000 } }, [owner.publicKey])
    const sender = new TestAuthor()
    const nonce = new Uint8Array(randomBytes(32))
    const groupId = groupIdOf(owner.publicKey, nonce)
    const order = { type: 'order' as const, groupId, nonce, members: [cardFor(sender.publicKey)], keepers: [], retentionMs: null }
    kept.order(owner.publicKey, order)
    const [fileLog] = kept.claim(sender.publicKey, groupId, [new Uint8Array(randomBytes(16))])
    // A file's announcement changes the group, and the owner sends its order again, while the chunks are on their way.
    kept.order(owner.publicKey, order)
    const full: string[] = []
    kept.onFull = (_g, err) => full.push(err.code)
    const chunks = Array.from({ length: 15 }, () => sender.next(fileLog!, new Uint8Array(randomBytes(1000))))
    const taken = chunks.filter((op) => kept.accepts(op.header, PEER))
    expect(taken.length).toBeLessThan(10)
    expect(full).toEqual(['KEEPER_QUOTA_FULL'])
    expect(kept.list()[0]).toMatchObject({ full: true })
    expect(kept.list()[0]!.bytes).toBeGreaterThan(0)
  })

  /** An order of a new group of `owner` naming `members`. */
  function newOrder(owner: Uint8Array, members: ContactCard[] = []): KeeperOrder {
    const nonce = new Uint8Array(randomBytes(32))
    return { type: 'order', groupId: groupIdOf(owner, nonce), nonce, members, keepers: [], retentionMs: null }
  }

  it('a member\'s node refuses an order for its own group, and a release never drops its own operations', async () => {
    const { a, b, groupId } = await groupWithKeeper()
    await b.manager.send(groupId, new TextEncoder().encode('mine'))
    const heights = b.logs.heights(groupId)
    expect(heights.has(b.hex)).toBe(true)
    // The owner orders b's own node to keep the group naming nobody (cutting b off from the others), then releases it.
    const { kept } = keeper({}, [a.key], b)
    const order = { type: 'order' as const, groupId, nonce: a.manager.ownershipNonce(groupId), members: [], keepers: [], retentionMs: null }
    expect(code(() => kept.order(a.key, order))).toBe('KEEPER_REFUSED')
    expect(kept.keeps(groupId)).toBe(false)
    expect(code(() => kept.release(a.key, groupId))).toBe('KEEPER_REFUSED')
    expect(b.logs.heights(groupId)).toEqual(heights)

    // A node that is no member (any more) but holds operations of its own in the group's log refuses it too.
    const owner = new TestAuthor()
    const k = member('k')
    const self = new TestAuthor(k.identity.seed)
    const left = newOrder(owner.publicKey)
    k.logs.ingest([self.next(left.groupId)])
    const { kept: atK } = keeper({}, [owner.publicKey], k)
    expect(code(() => atK.order(owner.publicKey, left))).toBe('KEEPER_REFUSED')
    // A group kept first and written to by this node since (its owner made it a member after all): a release keeps our operations.
    const later = newOrder(owner.publicKey)
    atK.order(owner.publicKey, later)
    const ours = self.next(later.groupId)
    const fileLog = atK.claim(owner.publicKey, later.groupId, [new Uint8Array(randomBytes(16))])[0]!
    k.logs.ingest([owner.next(later.groupId), ours, self.next(fileLog), owner.next(fileLog)])
    atK.release(owner.publicKey, later.groupId)
    expect(k.logs.heights(later.groupId)).toEqual(new Map([[toHex(self.publicKey), 0]]))
    expect(k.logs.heights(fileLog)).toEqual(new Map([[toHex(self.publicKey), 0]]))
  })

  it('keeps groups only for peers its user allowed: asks once, holds the order, carries it out on allow, drops the groups on deny', async () => {
    const { a, b, groupId } = await groupWithKeeper()
    const { kept, reopen } = keeper()
    const asked: string[] = []
    kept.onAsked = (orderer) => asked.push(toHex(orderer))
    const order = { type: 'order' as const, groupId, nonce: a.manager.ownershipNonce(groupId), members: [cardFor(b.key)], keepers: [], retentionMs: null }
    expect(code(() => kept.order(a.key, order))).toBe('KEEPER_NOT_ALLOWED')
    expect(code(() => kept.order(a.key, order))).toBe('KEEPER_NOT_ALLOWED')
    expect(asked).toEqual([a.hex])
    expect(kept.keeps(groupId)).toBe(false)
    expect(kept.sharedLogs(b.key)).toEqual([])
    // A member's claim meanwhile is to be sent again (not dropped as refused).
    expect(code(() => kept.claim(b.key, groupId, [new Uint8Array(16)]))).toBe('KEEPER_NOT_ALLOWED')
    expect(reopen().orderers()).toMatchObject([{ identityKey: a.key, decision: 'ask', groups: 0 }])

    // Allowed: the held order is carried out, and who it names is to be allow-listed.
    const changes = kept.decide(a.key, 'allow')
    expect(changes.map((c) => [toHex(c.groupId), c.peers.map((p) => toHex(p.identityKey))])).toEqual([[toHex(groupId), [b.hex]]])
    expect(kept.keeps(groupId)).toBe(true)
    expect(kept.mayShare(b.key, groupId)).toBe(true)
    expect(kept.orderers()).toMatchObject([{ decision: 'allow', groups: 1 }])

    // Denied: the groups kept for it go, with the peers they named; its orders are refused and not held.
    const denied = kept.decide(a.key, 'deny')
    expect(denied.map((c) => c.dropped.map(toHex).sort())).toEqual([[a.hex, b.hex].sort()])
    expect(kept.keeps(groupId)).toBe(false)
    expect(code(() => kept.order(a.key, order))).toBe('KEEPER_NOT_ALLOWED')
    expect(kept.decide(a.key, 'allow')).toEqual([])
    expect(asked).toEqual([a.hex])
    expect(reopen().orderers()).toMatchObject([{ identityKey: a.key, decision: 'allow' }])
    // Forgotten (the user removed the peer): its groups go, and its next order asks again.
    kept.order(a.key, order)
    expect(kept.forget(a.key).map((c) => toHex(c.groupId))).toEqual([toHex(groupId)])
    expect(kept.orderers()).toEqual([])
    expect(code(() => kept.order(a.key, order))).toBe('KEEPER_NOT_ALLOWED')
    expect(asked).toEqual([a.hex, a.hex])
  })

  it('counts the claims that came before the group\'s order once it is carried out, of the members it names, within a bound', () => {
    const owner = new TestAuthor()
    const [b, stranger] = [new TestAuthor(), new TestAuthor()]
    const { kept } = keeper()
    const order = newOrder(owner.publicKey, [cardFor(b.publicKey)])
    const fileIds = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(16)))
    const [early, waiting, strangers] = fileIds(3)
    // Before any order (the member allowed the keepers first), and while the order waits for the keeper's user.
    expect(code(() => kept.claim(b.publicKey, order.groupId, [early!]))).toBe('KEEPER_REFUSED')
    expect(code(() => kept.order(owner.publicKey, order))).toBe('KEEPER_NOT_ALLOWED')
    expect(code(() => kept.claim(b.publicKey, order.groupId, [waiting!]))).toBe('KEEPER_NOT_ALLOWED')
    expect(code(() => kept.claim(stranger.publicKey, order.groupId, [strangers!]))).toBe('KEEPER_NOT_ALLOWED')
    const [change] = kept.decide(owner.publicKey, 'allow')
    const claimed = [early!, waiting!].map((f) => toHex(fileLogId(order.groupId, f))).sort()
    expect(kept.sharedLogs(b.publicKey).map(toHex).sort()).toEqual([toHex(order.groupId), ...claimed].sort())
    expect(change!.claimed.map(toHex).sort()).toEqual(claimed)
    // Held in memory, one group's worth of file ids in all: the oldest claims go first.
    const later = newOrder(owner.publicKey, [cardFor(b.publicKey)])
    expect(code(() => kept.claim(b.publicKey, later.groupId, fileIds(1)))).toBe('KEEPER_REFUSED')
    for (let i = 0; i < MAX_KEPT_FILE_LOGS / 512; i++) code(() => kept.claim(stranger.publicKey, new Uint8Array(randomBytes(32)), fileIds(512)))
    expect(kept.order(owner.publicKey, later).claimed).toEqual([])
  })

  it('carries out an order whole or not at all at the node\'s peer limit; once room is made, it is carried out', async () => {
    const owner = new TestAuthor()
    const { k, kept } = keeper()
    const table = new AddressTable(new PeerStore(k.db), peerIdOfIdentityKey(k.key))
    const store = new KeeperStore(k.db)
    const service = new KeeperService({
      groups: k.manager,
      kept,
      table,
      store,
      // As the node's allow-list does it (Burrow's #admit): the limit first, then the cards.
      allow: async (cards) => {
        assertPeerLimit(table.size + cards.length)
        table.addAll(cards)
      },
      disallow: async (peerId) => void table.remove(peerId),
      logger: silentLogger,
    })
    const strangers = (n: number): ContactCard[] => Array.from({ length: n }, () => cardFor(new Uint8Array(randomBytes(32))))
    const contacts = table.addAll([cardFor(owner.publicKey), ...strangers(MAX_PEERS - 3)]).slice(1)
    const makeRoom = (n: number): void => contacts.splice(0, n).forEach((c) => table.remove(c.peerId))
    const untouched = (order: KeeperOrder, size: number): void => {
      expect(kept.keeps(order.groupId)).toBe(false)
      expect(store.keptGroups().map((r) => toHex(r.groupId))).not.toContain(toHex(order.groupId))
      expect(store.peerReasons().filter((r) => r.reason === `kept:${toHex(order.groupId)}`)).toEqual([])
      expect(table.size).toBe(size)
    }
    // The user's allow would carry out a held order naming 3 peers, with room for 2: refused whole, still asked.
    const held = newOrder(owner.publicKey, strangers(3))
    expect(code(() => kept.order(owner.publicKey, held))).toBe('KEEPER_NOT_ALLOWED')
    await expect(service.decide(owner.publicKey, 'allow')).rejects.toMatchObject({ code: 'NODE_PEER_LIMIT', message: expect.stringContaining(`at most ${MAX_PEERS} peers`) })
    untouched(held, MAX_PEERS - 2)
    expect(kept.orderers()).toMatchObject([{ decision: 'ask' }])
    makeRoom(1)
    await service.decide(owner.publicKey, 'allow')
    expect(kept.keeps(held.groupId)).toBe(true)
    expect(table.size).toBe(MAX_PEERS)
    // The same for an order of an allowed orderer (what the keeper answers it), and its retry.
    const next = newOrder(owner.publicKey, strangers(2))
    expect(code(() => kept.order(owner.publicKey, next))).toBe('NODE_PEER_LIMIT')
    untouched(next, MAX_PEERS)
    makeRoom(2)
    expect(kept.order(owner.publicKey, next).peers).toHaveLength(2)
    // A card the allow-list would refuse (an onion another peer uses) is refused before anything is written too.
    makeRoom(1)
    const impostor = { ...cardFor(new Uint8Array(randomBytes(32))), onionAddress: contacts[0]!.onion }
    const clash = newOrder(owner.publicKey, [impostor])
    const size = table.size
    expect(code(() => kept.order(owner.publicKey, clash))).toBe('PEER_REJECTED')
    untouched(clash, size)
  })

  it('an invitation to a group it keeps, left to expire, does not drop the kept log', async () => {
    const { a, b, k, groupId } = await groupWithKeeper()
    const time = manualClock()
    const manager = k.remanage({ now: time.now })
    const { kept } = keeper({}, [a.key], k)
    kept.order(a.key, { type: 'order', groupId, nonce: a.manager.ownershipNonce(groupId), members: [cardFor(b.key)], keepers: [], retentionMs: null })
    await a.manager.send(groupId, new TextEncoder().encode('kept'))
    deliver(a, k, groupId, a)
    const held = allHeights(k, groupId)
    expect(held.length).toBeGreaterThan(0)
    await manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    time.advance(INVITATION_LIMITS.pendingTtlMs)
    await manager.processPending()
    expect(manager.invitations()).toEqual([])
    expect(allHeights(k, groupId)).toEqual(held)
  })

  it(`keeps at most ${MAX_KEPT_PER_ORDERER} groups for one orderer`, () => {
    const owner = new TestAuthor()
    const { kept } = keeper({}, [owner.publicKey])
    const orders = Array.from({ length: MAX_KEPT_PER_ORDERER }, () => newOrder(owner.publicKey))
    for (const order of orders) kept.order(owner.publicKey, order)
    expect(code(() => kept.order(owner.publicKey, newOrder(owner.publicKey)))).toBe('KEEPER_REFUSED')
    // Ordered again (a membership change), a kept group is no new one.
    expect(() => kept.order(owner.publicKey, orders[0]!)).not.toThrow()
    expect(kept.list()).toHaveLength(MAX_KEPT_PER_ORDERER)
  })

  it(`keeps at most ${MAX_KEPT_FILE_LOGS} file logs per group: claims past it are refused and the logs shared stay bounded`, () => {
    const owner = new TestAuthor()
    const sender = new TestAuthor()
    const { kept, k } = keeper({}, [owner.publicKey])
    const { groupId } = kept.order(owner.publicKey, newOrder(owner.publicKey, [cardFor(sender.publicKey)]))
    const fileIds = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(16)))
    let claimed = 0
    for (let i = 0; i < MAX_KEPT_FILE_LOGS / 512 - 1; i++) claimed += kept.claim(sender.publicKey, groupId, fileIds(512)).length
    claimed += kept.claim(sender.publicKey, groupId, fileIds(412)).length
    // The claim that reaches the bound is taken as far as it goes; the next one is refused.
    expect(kept.claim(sender.publicKey, groupId, fileIds(512))).toHaveLength(MAX_KEPT_FILE_LOGS - claimed)
    expect(code(() => kept.claim(sender.publicKey, groupId, fileIds(512)))).toBe('KEEPER_QUOTA_FULL')
    expect(kept.sharedLogs(sender.publicKey)).toHaveLength(1 + MAX_KEPT_FILE_LOGS)
    expect(k.db.prepare('SELECT COUNT(*) AS n FROM kept_file_logs').get()).toEqual({ n: MAX_KEPT_FILE_LOGS })
  })

  it('counts an operation offered more than once (two sessions, a relaying member) once', () => {
    const owner = new TestAuthor()
    const { kept, k, reopen } = keeper({ quota: { perGroupBytes: 3 * 1024 * 1024 } }, [owner.publicKey])
    const { groupId } = kept.order(owner.publicKey, newOrder(owner.publicKey))
    const op = owner.next(groupId, new Uint8Array(1024 * 1024))
    // Two sessions offer it before either stored it, two more after.
    expect([kept.accepts(op.header, PEER), kept.accepts(op.header, PEER)]).toEqual([true, true])
    expect(k.logs.ingest([op]).stored).toBe(1)
    expect([kept.accepts(op.header, PEER), kept.accepts(op.header, PEER)]).toEqual([true, true])
    const [view] = kept.list()
    expect(view!.bytes).toBeGreaterThanOrEqual(1024 * 1024)
    expect(view!.bytes).toBeLessThan(1024 * 1024 + 1024)
    expect(view!.full).toBe(false)
    // After a sweep or a restart, what is stored is not counted again.
    kept.sweep()
    kept.accepts(op.header, PEER)
    const again = reopen()
    again.accepts(op.header, PEER)
    for (const k of [kept, again]) expect(k.list()[0]!.bytes).toBeLessThan(1024 * 1024 + 1024)
  })

  it('counts what an operation stored holds, not what its header states, and what was never stored only until its sessions end', () => {
    const owner = new TestAuthor()
    const member = new TestAuthor()
    const { kept, k } = keeper({ quota: { perGroupBytes: 4 * 1024 * 1024 } }, [owner.publicKey])
    const { groupId } = kept.order(owner.publicKey, newOrder(owner.publicKey, [cardFor(member.publicKey)]))
    const full: string[] = []
    kept.onFull = (_g, err) => full.push(err.code)
    const MiB = (): Uint8Array => new Uint8Array(randomBytes(1024 * 1024))
    // Headers alone, each stating a 1 MiB payload: valid, stored, and counted as stored.
    const headers = Array.from({ length: 3 }, () => ({ ...member.next(groupId, MiB()), payload: undefined }))
    expect(headers.map((op) => kept.accepts(op.header, PEER))).toEqual([true, true, true])
    expect(k.logs.ingest(headers).stored).toBe(3)
    expect(kept.stored(headers)).toEqual([])
    expect(kept.list()[0]!.bytes).toBe(new KeeperStore(k.db).logSize(groupId).bytes)
    // Operations the store refuses (a payload its header does not name, then a gap) count until the session that brought them ends.
    const tampered = { ...member.next(groupId, MiB()), payload: MiB() }
    const refused = [tampered, ...member.many(groupId, 3, 1024 * 1024).slice(1)]
    expect(refused.map((op) => kept.accepts(op.header, PEER))).toEqual([true, true, true])
    expect(k.logs.ingest(refused).rejected).toHaveLength(3)
    const honest = owner.next(groupId, MiB())
    expect(kept.accepts(honest.header, 'peer-b')).toBe(false)
    expect(full).toEqual(['KEEPER_QUOTA_FULL'])
    expect(kept.ended(PEER).map(toHex)).toEqual([toHex(groupId)])
    expect(kept.list()[0]).toMatchObject({ bytes: new KeeperStore(k.db).logSize(groupId).bytes, full: false })
    // One brought by two sessions counts until both ended, or it is stored.
    expect([kept.accepts(honest.header, 'peer-b'), kept.accepts(honest.header, 'peer-c')]).toEqual([true, true])
    kept.ended('peer-b')
    expect(kept.list()[0]!.bytes).toBeGreaterThan(1024 * 1024)
    k.logs.ingest([honest])
    kept.stored([honest])
    expect(kept.list()[0]!.bytes).toBe(new KeeperStore(k.db).logSize(groupId).bytes)
  })

  it('counts the total of all kept groups', async () => {
    const owners = [new TestAuthor(), new TestAuthor()]
    const { kept } = keeper({ quota: { perGroupBytes: 1_000_000, totalBytes: 3000 } }, owners.map((o) => o.publicKey))
    const groups = owners.map((o) => {
      const nonce = new Uint8Array(randomBytes(32))
      const groupId = groupIdOf(o.publicKey, nonce)
      kept.order(o.publicKey, { type: 'order', groupId, nonce, members: [], keepers: [], retentionMs: null })
      return groupId
    })
    expect(kept.accepts(owners[0]!.next(groups[0]!, new Uint8Array(2000)).header, PEER)).toBe(true)
    expect(kept.accepts(owners[1]!.next(groups[1]!, new Uint8Array(2000)).header, PEER)).toBe(false)
  })
})
