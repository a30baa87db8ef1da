import { bytesEqual, fromHex, toHex } from '../log/bytes.js'
import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import type { Header, LogId, Operation } from '../log/types.js'
import type { ContactCard } from '../keys/index.js'
import type { KeeperDecision, KeeperStore, LogStore } from '../store/index.js'
import { GroupError } from './errors.js'
import { fileLogId } from './file-crypto.js'
import { isGroupIdOf } from './group-id.js'
import { decodePeerList, encodePeerEntry, MAX_KEEPERS, MAX_ORDER_MEMBERS, type KeeperRequest } from './keeper-wire.js'
import { isApplicationPayload } from './payload.js'

/** A keeper's limits: bytes (headers and payloads) it holds per kept group and in all. */
export interface KeeperQuota {
  readonly perGroupBytes: number
  readonly totalBytes: number
}

/** 1 GiB per group, 10 GiB in all. */
export const DEFAULT_KEEPER_QUOTA: KeeperQuota = { perGroupBytes: 1024 ** 3, totalBytes: 10 * 1024 ** 3 }

/** What a keeper knows of the node it runs on, and its limits. */
export interface KeptGroupsOptions {
  /** This node's identity key: a log holding its operations is its own, never kept, and a release never drops them. */
  readonly self: Uint8Array
  /** Whether this node created or joined `groupId`, or waits for a Welcome to it: a member never keeps its own group. */
  readonly isOwnGroup: (groupId: Uint8Array) => boolean
  readonly quota?: Partial<KeeperQuota>
  readonly now?: () => number
}

/** A peer that ordered this node to keep groups, and the user's answer (`ask` until there is one). */
export interface KeepingOrderer {
  readonly identityKey: Uint8Array
  readonly decision: KeeperDecision
  /** When it first asked, or when the user answered. */
  readonly decidedAt: number
  /** The groups kept here for it. */
  readonly groups: number
}

/** A kept group as `burrow status` shows it. */
export interface KeptGroupView {
  readonly groupId: Uint8Array
  readonly owner: Uint8Array
  readonly members: readonly ContactCard[]
  readonly keepers: readonly ContactCard[]
  readonly retentionMs: number | null
  readonly operations: number
  readonly bytes: number
  /** Whether new operations of the group are refused (its quota or the keeper's total is reached). */
  readonly full: boolean
}

/**
 * What an accepted order changes about who may reach the keeper: peers to
 * allow-list for the group, and those it no longer names; and the file logs
 * its members claimed before the order was carried out, kept from now on.
 */
export interface KeptPeersChange {
  readonly groupId: Uint8Array
  readonly peers: readonly ContactCard[]
  readonly dropped: readonly Uint8Array[]
  readonly claimed: readonly Uint8Array[]
}

interface Kept {
  readonly groupId: Uint8Array
  readonly owner: Uint8Array
  members: ContactCard[]
  keepers: ContactCard[]
  retentionMs: number | null
  /** Everyone the group's logs are shared with here (hex identity keys): owner, members, co-keepers. */
  sharedWith: Set<string>
  /** Who may write its logs (hex): owner and members. */
  writers: Set<string>
  fileLogs: Map<string, Uint8Array>
  bytes: number
  /** Set once an operation was refused for quota: logged once per filling. */
  full: boolean
  /** While full, the smallest operation refused for quota (bytes as counted): the group takes operations again once it fits. */
  wanted: number
}

type KeeperOrder = Extract<KeeperRequest, { type: 'order' }>

/** The peers an order shares its group with besides `from`, its owner: the members it names and the co-keepers. */
const sharedPeers = (from: Uint8Array, order: KeeperOrder): ContactCard[] => [...order.members.filter((m) => !bytesEqual(m.identityKey, from)), ...order.keepers]

const decodeList = (bytes: Uint8Array, max: number): ContactCard[] => decodePeerList(decodeCanonical(bytes), max, 'a stored peer list')
const encodeList = (cards: readonly ContactCard[]): Uint8Array => encodeCanonical(cards.map(encodePeerEntry) as CborValue[])

/**
 * The groups this node keeps for their owners: ciphertext only, never an
 * MLS member (the group manager ignores logs of groups it is not in). An
 * order comes from the group's owner (proven by the nonce its id derives
 * from, and pinned: the first orderer stays the only one) whom the user
 * allowed to order (`decide`; until then the order is held in memory and
 * refused with `KEEPER_NOT_ALLOWED`, and `onAsked` tells the user once); it
 * names the members and co-keepers the group's logs are shared with, and
 * the retention period. A group this node is a member of is never kept, and
 * its own operations are never dropped. Members claim their files' logs, up
 * to {@link MAX_KEPT_FILE_LOGS} per group. Each group has a quota, and all
 * of them a total: past it, new operations of the group are refused
 * (`accepts`), never stored then dropped, so the sender keeps them.
 *
 * Asked by the sync policy for every frame: answered from memory.
 */
export class KeptGroups {
  readonly #store: KeeperStore
  readonly #logs: LogStore
  readonly #quota: KeeperQuota
  readonly #now: () => number
  readonly #self: Uint8Array
  readonly #isOwnGroup: (groupId: Uint8Array) => boolean
  readonly #groups = new Map<string, Kept>()
  /** The user's answer per orderer (hex identity key). */
  readonly #orderers = new Map<string, { decision: KeeperDecision; decidedAt: number }>()
  /** Orders of peers not allowed yet, by `<orderer>:<group>`, oldest first: carried out if the user allows the orderer. */
  readonly #held = new Map<string, { from: Uint8Array; order: KeeperOrder }>()
  /**
   * File ids (hex) claimed for groups not kept (yet), by `<group>:<claimer>`
   * (hex), oldest first: taken into account when the group's order is
   * carried out, if the order names the claimer. A member claims as soon as
   * it allows the keepers, which may be before the owner's order arrives or
   * the keeper's user allows it; it claims again only at its next change or start.
   */
  readonly #early = new Map<string, Set<string>>()
  /** File ids in {@link #early}, at most {@link MAX_EARLY_FILE_IDS}. */
  #earlyFileIds = 0
  /**
   * Operations taken and not stored yet, by `<log>:<author>:<seq>`: the
   * size their header states is counted until they are stored (then what
   * was stored counts: `stored`), or until every session that brought them
   * ended without storing them (`ended`). One offered twice counts once.
   */
  readonly #coming = new Map<string, { groupId: Uint8Array; size: number; peers: string[] }>()
  readonly #fileGroup = new Map<string, Kept>()
  /** Per kept (log, author) that had an operation refused: the next seq it may take, so that no gap follows a refusal. */
  readonly #resumeAt = new Map<string, number>()
  /** Per (log, author): how far the retention sweep went. */
  readonly #swept = new Map<string, number>()
  #total = 0
  /** Called when a group fills up (once per filling): the operator's error. */
  onFull: (groupId: Uint8Array, error: GroupError) => void = () => {}
  /** Called when a peer the user has not answered orders this node for the first time: ask the user. */
  onAsked: (orderer: Uint8Array) => void = () => {}
  /**
   * Called with the peers an order (or the orders an `allow` carries out)
   * would have this node allow-list, before anything is written: throws
   * when the node cannot take them (its peer limit), and the order is then
   * refused with that error, leaving no half-made kept group.
   */
  checkRoom: (peers: readonly ContactCard[]) => void = () => {}

  constructor(store: KeeperStore, logs: LogStore, options: KeptGroupsOptions) {
    this.#store = store
    this.#logs = logs
    this.#quota = { ...DEFAULT_KEEPER_QUOTA, ...options.quota }
    this.#now = options.now ?? Date.now
    this.#self = options.self.slice()
    this.#isOwnGroup = options.isOwnGroup
    for (const row of store.orderers()) this.#orderers.set(toHex(row.identityKey), { decision: row.decision, decidedAt: row.decidedAt })
    for (const row of store.keptGroups()) {
      this.#remember(row.groupId, row.owner, decodeList(row.members, MAX_ORDER_MEMBERS), decodeList(row.keepers, MAX_KEEPERS), row.retentionMs)
    }
    for (const { logId, groupId } of store.keptFileLogs()) {
      const kept = this.#groups.get(toHex(groupId))
      if (kept !== undefined) this.#addFileLog(kept, logId)
    }
    for (const kept of this.#groups.values()) this.#measure(kept)
  }

  get quota(): KeeperQuota {
    return this.#quota
  }

  /** The owner (hex) of the kept group a log belongs to: a catch-up sends its operations last, as members do. */
  ownerOf(logId: LogId): string | undefined {
    const kept = this.#keptOf(logId)
    return kept === undefined ? undefined : toHex(kept.owner)
  }

  /** Whether this node keeps `groupId`. */
  keeps(groupId: Uint8Array): boolean {
    return this.#groups.has(toHex(groupId))
  }

  /** The logs of kept group `groupId`: its own and its claimed file logs (none when it is not kept). */
  logsOf(groupId: Uint8Array): LogId[] {
    const kept = this.#groups.get(toHex(groupId))
    return kept === undefined ? [] : [kept.groupId, ...kept.fileLogs.values()]
  }

  /**
   * Takes an order from `from` (an allow-listed peer's identity key):
   * `KEEPER_REFUSED` unless it owns the group (id and nonce), is the
   * group's first orderer here, and the group is not this node's own;
   * `KEEPER_NOT_ALLOWED` until the user allowed `from` to order (the order
   * is held meanwhile, unless the user denied it); whatever
   * {@link checkRoom} throws when the node cannot allow-list the peers it
   * names. Nothing changes unless it is carried out whole. Returns who the
   * group is now shared with.
   */
  order(from: Uint8Array, order: KeeperOrder): KeptPeersChange {
    const existing = this.#vet(from, order)
    const decision = this.#orderers.get(toHex(from))?.decision
    if (decision !== 'allow') {
      if (decision !== 'deny') this.#hold(from, order)
      throw new GroupError('KEEPER_NOT_ALLOWED', 'this node\'s user has not allowed the orderer to have groups kept here')
    }
    if (existing === undefined && this.#keptFor(from).length >= MAX_KEPT_PER_ORDERER) {
      throw new GroupError('KEEPER_REFUSED', `this node keeps ${MAX_KEPT_PER_ORDERER} groups for the orderer already`)
    }
    this.checkRoom(sharedPeers(from, order))
    return this.#carryOut(from, order)
  }

  /** Ends keeping a group, by its owner's word; its logs are dropped (never our own operations). Returns who it was shared with. */
  release(from: Uint8Array, groupId: Uint8Array): KeptPeersChange {
    return this.#drop(this.#owned(from, groupId))
  }

  /**
   * The user's answer to `orderer`: `allow` carries out its held orders
   * (those refused meanwhile are skipped) and lets it order from now on;
   * `deny` refuses its orders and drops the groups kept for it. Returns
   * what changed about who may reach this node, per group. An `allow` whose
   * held orders together name more peers than {@link checkRoom} lets in
   * changes nothing: the orders stay held and the user is still asked.
   */
  decide(orderer: Uint8Array, decision: 'allow' | 'deny'): KeptPeersChange[] {
    const carried: KeeperOrder[] = []
    if (decision === 'allow') {
      let groups = this.#keptFor(orderer).length
      for (const order of this.#heldOf(orderer)) {
        try {
          const renews = this.#vet(orderer, order) !== undefined
          if (!renews && groups >= MAX_KEPT_PER_ORDERER) continue
          if (!renews) groups++
          carried.push(order)
        } catch (err) {
          if (!(err instanceof GroupError)) throw err
        }
      }
      this.checkRoom(carried.flatMap((order) => sharedPeers(orderer, order)))
    }
    const at = this.#now()
    this.#store.setOrderer(orderer, decision, at)
    this.#orderers.set(toHex(orderer), { decision, decidedAt: at })
    this.#dropHeld(orderer)
    if (decision === 'deny') return this.#keptFor(orderer).map((kept) => this.#drop(kept))
    return carried.map((order) => this.#carryOut(orderer, order))
  }

  /**
   * The rules an order meets whatever the user answered: `from` owns the
   * group (id and nonce) and is its pinned orderer, and the group is not
   * this node's own. Returns the kept group it renews, if any.
   */
  #vet(from: Uint8Array, order: KeeperOrder): Kept | undefined {
    if (!isGroupIdOf(order.groupId, from, order.nonce)) throw new GroupError('KEEPER_REFUSED', 'the group id is not the orderer\'s')
    // A member's node keeping its own group would share it as its owner orders, and drop it, our operations with it, on release.
    if (this.#isOwnGroup(order.groupId) || this.#holdsOurs(order.groupId)) throw new GroupError('KEEPER_REFUSED', 'this node is a member of that group')
    const existing = this.#groups.get(toHex(order.groupId))
    if (existing !== undefined && !bytesEqual(existing.owner, from)) throw new GroupError('KEEPER_REFUSED', 'another peer orders this group')
    return existing
  }

  /** Writes an order that passed every check, and takes the claims held for its group. */
  #carryOut(from: Uint8Array, order: KeeperOrder): KeptPeersChange {
    const existing = this.#groups.get(toHex(order.groupId))
    const members = order.members.filter((m) => !bytesEqual(m.identityKey, from))
    const before = existing === undefined ? new Set<string>() : new Set(existing.sharedWith)
    this.#store.upsertKept({ groupId: order.groupId, owner: from, members: encodeList(members), keepers: encodeList(order.keepers), retentionMs: order.retentionMs, orderedAt: this.#now() })
    const kept = this.#remember(order.groupId, from, members, [...order.keepers], order.retentionMs)
    if (existing !== undefined) {
      kept.fileLogs = existing.fileLogs
      kept.bytes = existing.bytes
      kept.full = existing.full
      kept.wanted = existing.wanted
      // Its file logs must lead to the group as it is now: through the one it
      // replaces, their operations counted against a quota nobody read.
      for (const logId of kept.fileLogs.values()) this.#fileGroup.set(toHex(logId), kept)
    } else {
      this.#measure(kept)
    }
    const dropped = [...before].filter((k) => !kept.sharedWith.has(k)).map(fromHex)
    return { groupId: order.groupId, peers: sharedPeers(from, order), dropped, claimed: this.#takeEarlyClaims(kept) }
  }

  /** Forgets `orderer` (it left the allow-list): its answer, its held orders, and the groups kept for it, which are dropped. */
  forget(orderer: Uint8Array): KeptPeersChange[] {
    this.#store.forgetOrderer(orderer)
    this.#orderers.delete(toHex(orderer))
    this.#dropHeld(orderer)
    return this.#keptFor(orderer).map((kept) => this.#drop(kept))
  }

  /** The peers that ordered this node to keep groups, with the user's answers. */
  orderers(): KeepingOrderer[] {
    return [...this.#orderers].map(([key, { decision, decidedAt }]) => ({ identityKey: fromHex(key), decision, decidedAt, groups: this.#keptFor(fromHex(key)).length }))
  }

  /**
   * A member's (or the owner's) claim of its group's files: their logs are
   * kept with the group from now on, up to {@link MAX_KEPT_FILE_LOGS} per
   * group (`KEEPER_QUOTA_FULL` for a claim of which none fits). Returns the
   * new file logs. A claim of a group not kept (yet) is refused, and held:
   * if the group's order comes and names the claimer, it counts then.
   */
  claim(from: Uint8Array, groupId: Uint8Array, fileIds: readonly Uint8Array[]): Uint8Array[] {
    const kept = this.#groups.get(toHex(groupId))
    if (kept === undefined) {
      this.#holdClaim(from, groupId, fileIds)
      // Its order waits for the user's answer: the member asks again.
      const held = [...this.#held.values()].some((h) => bytesEqual(h.order.groupId, groupId))
      throw new GroupError(held ? 'KEEPER_NOT_ALLOWED' : 'KEEPER_REFUSED', 'this node does not keep that group')
    }
    if (!kept.writers.has(toHex(from))) throw new GroupError('KEEPER_REFUSED', 'only a member claims the files of a group')
    const { added, full } = this.#addClaimed(kept, fileIds)
    if (full && added.length === 0) throw new GroupError('KEEPER_QUOTA_FULL', `kept group ${toHex(groupId).slice(0, 12)} holds its ${MAX_KEPT_FILE_LOGS} file logs: no more are claimed`)
    return added
  }

  /** Keeps the logs of `fileIds` with `kept`, as far as its {@link MAX_KEPT_FILE_LOGS} go (`full` past them); returns the new ones. */
  #addClaimed(kept: Kept, fileIds: readonly Uint8Array[]): { added: Uint8Array[]; full: boolean } {
    const added = new Map<string, Uint8Array>()
    let full = false
    for (const fileId of fileIds) {
      const logId = fileLogId(kept.groupId, fileId)
      const key = toHex(logId)
      if (this.#fileGroup.has(key) || added.has(key) || this.#holdsOurs(logId)) continue
      if (kept.fileLogs.size + added.size >= MAX_KEPT_FILE_LOGS) {
        full = true
        break
      }
      added.set(key, logId)
    }
    this.#store.addKeptFileLogs([...added.values()], kept.groupId)
    for (const logId of added.values()) this.#addFileLog(kept, logId)
    return { added: [...added.values()], full }
  }

  /** Holds a claim of a group not kept: the latest claimer's last, the oldest going past {@link MAX_EARLY_FILE_IDS} file ids in all. */
  #holdClaim(from: Uint8Array, groupId: Uint8Array, fileIds: readonly Uint8Array[]): void {
    const key = `${toHex(groupId)}:${toHex(from)}`
    const held = this.#early.get(key) ?? new Set<string>()
    this.#early.delete(key)
    this.#early.set(key, held)
    for (const fileId of fileIds) {
      if (held.size >= MAX_EARLY_FILE_IDS) break
      const id = toHex(fileId)
      if (held.has(id)) continue
      held.add(id)
      this.#earlyFileIds++
    }
    for (const [oldest, ids] of this.#early) {
      if (this.#earlyFileIds <= MAX_EARLY_FILE_IDS) break
      this.#early.delete(oldest)
      this.#earlyFileIds -= ids.size
    }
  }

  /** Takes the claims held for a group now kept: those of the writers its order names count; returns the file logs kept from now on. */
  #takeEarlyClaims(kept: Kept): Uint8Array[] {
    const prefix = `${toHex(kept.groupId)}:`
    const claimed: Uint8Array[] = []
    for (const [key, fileIds] of this.#early) {
      if (!key.startsWith(prefix)) continue
      this.#early.delete(key)
      this.#earlyFileIds -= fileIds.size
      if (kept.writers.has(key.slice(prefix.length))) claimed.push(...this.#addClaimed(kept, [...fileIds].map(fromHex)).added)
    }
    return claimed
  }

  /** Every peer (identity key) some kept group is shared with, with the groups. */
  peers(): Map<string, Uint8Array[]> {
    const out = new Map<string, Uint8Array[]>()
    for (const kept of this.#groups.values()) for (const peer of kept.sharedWith) out.set(peer, [...(out.get(peer) ?? []), kept.groupId])
    return out
  }

  // ---- the sync policy's questions ------------------------------------------

  /** The kept logs shared with `peer` (identity key): the group logs and file logs of the kept groups that name it. */
  sharedLogs(peer: Uint8Array): LogId[] {
    const who = toHex(peer)
    const out: LogId[] = []
    for (const kept of this.#groups.values()) if (kept.sharedWith.has(who)) out.push(kept.groupId, ...kept.fileLogs.values())
    return out
  }

  /** Whether kept log `logId` may be exchanged with `peer`; undefined when `logId` is not kept here. */
  mayShare(peer: Uint8Array, logId: LogId): boolean | undefined {
    const kept = this.#keptOf(logId)
    return kept === undefined ? undefined : kept.sharedWith.has(toHex(peer))
  }

  /**
   * Whether to store an operation of a kept log that peer `from` (a PeerId)
   * offers (undefined when the log is not kept here): written by the owner
   * or a member, and within the group's quota and the total, counting the
   * size its header states until it is stored. A refusal is never followed
   * by a later operation of the same author's log (the store would see a
   * gap), and the first refusal of a filling reaches `onFull`.
   */
  accepts(header: Header, from: string): boolean | undefined {
    const kept = this.#keptOf(header.logId)
    if (kept === undefined) return undefined
    const key = `${toHex(header.logId)}:${toHex(header.author)}`
    const resume = this.#resumeAt.get(key)
    if (resume !== undefined && header.seq > resume) return false
    const refuse = (): false => {
      if (resume !== undefined || this.#resumeAt.size < MAX_RESUME_ENTRIES) this.#resumeAt.set(key, Math.min(resume ?? header.seq, header.seq))
      return false
    }
    // An author the order does not name (yet: a member added since) is refused like a full group.
    if (!kept.writers.has(toHex(header.author))) return refuse()
    // Stored already: the store keeps one.
    if (header.seq <= (this.#logs.heightOf(header.logId, toHex(header.author)) ?? -1)) return true
    // On its way through another session (two sessions, a relaying member): counted once.
    const opKey = `${key}:${header.seq}`
    const coming = this.#coming.get(opKey)
    if (coming !== undefined) {
      if (!coming.peers.includes(from)) coming.peers.push(from)
      return true
    }
    const size = header.payloadSize + HEADER_ALLOWANCE
    if (kept.bytes + size > this.#quota.perGroupBytes || this.#total + size > this.#quota.totalBytes) {
      refuse()
      kept.wanted = kept.full ? Math.min(kept.wanted, size) : size
      if (!kept.full) {
        kept.full = true
        const which = kept.bytes + size > this.#quota.perGroupBytes ? `its quota of ${this.#quota.perGroupBytes} bytes` : `the keeper's total of ${this.#quota.totalBytes} bytes`
        this.onFull(kept.groupId, new GroupError('KEEPER_QUOTA_FULL', `kept group ${toHex(kept.groupId).slice(0, 12)} reached ${which}: new operations are refused`))
      }
      return false
    }
    if (resume !== undefined) this.#resumeAt.set(key, header.seq + 1)
    if (this.#coming.size < MAX_COMING) {
      this.#coming.set(opKey, { groupId: kept.groupId, size, peers: [from] })
      this.#count(kept, size)
    }
    return true
  }

  /**
   * Operations a sync session stored (or had stored already): each one
   * taken counts what was stored (its header, and its payload if it came)
   * instead of what its header states. Returns the groups back under their
   * quota (ask their members for what they hold).
   */
  stored(ops: readonly Operation[]): Uint8Array[] {
    const reopened: Uint8Array[] = []
    // Asked for every batch any session stores: a node that keeps nothing on its way answers at once.
    if (this.#coming.size === 0) return reopened
    for (const op of ops) {
      const { logId, author, seq } = op.header
      const opKey = `${toHex(logId)}:${toHex(author)}:${seq}`
      const coming = this.#coming.get(opKey)
      if (coming === undefined) continue
      this.#coming.delete(opKey)
      // A forked log stores nothing more: its operation counts nothing.
      const bytes = (this.#logs.heightOf(logId, toHex(author)) ?? -1) >= seq ? op.headerBytes.length + (op.payload?.length ?? 0) : 0
      this.#settle(coming.groupId, bytes - coming.size, reopened)
    }
    return reopened
  }

  /**
   * A sync session with `peer` (a PeerId) ended: what it brought and did
   * not store (an invalid operation ends a session before it is stored)
   * counts no more, unless another session brings it too. Returns the
   * groups back under their quota.
   */
  ended(peer: string): Uint8Array[] {
    const reopened: Uint8Array[] = []
    for (const [opKey, coming] of this.#coming) {
      const at = coming.peers.indexOf(peer)
      if (at === -1) continue
      coming.peers.splice(at, 1)
      if (coming.peers.length > 0) continue
      this.#coming.delete(opKey)
      this.#settle(coming.groupId, -coming.size, reopened)
    }
    return reopened
  }

  /** Corrects a kept group's count by `delta` bytes; adds it to `reopened` if that brings it back under its quota. */
  #settle(groupId: Uint8Array, delta: number, reopened: Uint8Array[]): void {
    const kept = this.#groups.get(toHex(groupId))
    if (kept === undefined) return
    this.#count(kept, delta)
    if (this.#reopens(kept)) reopened.push(kept.groupId.slice())
  }

  #count(kept: Kept, delta: number): void {
    kept.bytes += delta
    this.#total += delta
  }

  // ---- retention and status ---------------------------------------------------

  /**
   * Applies each kept group's retention period: the payloads of application
   * messages and file chunks older than it are deleted (commits, proposals
   * and Welcomes keep theirs, as members keep them). Then the sizes are
   * measured again, and a group back under its quota takes operations again
   * (`reopened`: ask its members for what they hold).
   */
  sweep(): { expired: number; reopened: Uint8Array[] } {
    let expired = 0
    const reopened: Uint8Array[] = []
    const now = this.#now()
    // Measured from the store again: what was counted on its way is stored by now, or was never.
    this.#coming.clear()
    for (const kept of this.#groups.values()) {
      const wasFull = kept.full
      expired += this.#sweepGroup(kept, now)
      this.#measure(kept)
      if (wasFull && !kept.full) reopened.push(kept.groupId.slice())
    }
    return { expired, reopened }
  }

  /** Deletes the payloads of a kept group that its retention period expired; returns how many. */
  #sweepGroup(kept: Kept, now: number): number {
    if (kept.retentionMs === null) return 0
    let expired = 0
    const cutoff = now - kept.retentionMs
    for (const logId of [kept.groupId, ...kept.fileLogs.values()]) {
      const isFileLog = logId !== kept.groupId
      for (const authorKey of this.#logs.heights(logId).keys()) {
        const author = fromHex(authorKey)
        const key = `${toHex(logId)}:${authorKey}`
        let after = this.#swept.get(key) ?? -1
        scan: for (;;) {
          const ops = this.#logs.operationsAfter(author, logId, after, 256)
          for (const op of ops) {
            const ts = op.header.extensions.get('ts')
            if (typeof ts === 'number' && ts >= cutoff) break scan
            if (op.payload !== undefined && (isFileLog || isApplicationPayload(op.payload))) {
              this.#logs.deletePayload(op.hash)
              expired++
            }
            after = op.header.seq
          }
          if (ops.length < 256) break
        }
        this.#swept.set(key, after)
      }
    }
    return expired
  }

  /** The kept groups with their sizes. */
  list(): KeptGroupView[] {
    return [...this.#groups.values()].map((k) => ({
      groupId: k.groupId.slice(),
      owner: k.owner.slice(),
      members: k.members,
      keepers: k.keepers,
      retentionMs: k.retentionMs,
      operations: [k.groupId, ...k.fileLogs.values()].reduce((n, logId) => n + this.#store.logSize(logId).operations, 0),
      bytes: k.bytes,
      full: k.full,
    }))
  }

  #owned(from: Uint8Array, groupId: Uint8Array): Kept {
    const kept = this.#groups.get(toHex(groupId))
    if (kept === undefined) throw new GroupError('KEEPER_REFUSED', 'this node does not keep that group')
    if (!bytesEqual(kept.owner, from)) throw new GroupError('KEEPER_REFUSED', 'only the group\'s owner releases it')
    return kept
  }

  /** Drops a kept group and its logs, keeping any operation of ours; returns who it was shared with. */
  #drop(kept: Kept): KeptPeersChange {
    const self = toHex(this.#self)
    this.#store.deleteKept(kept.groupId)
    for (const logId of [kept.groupId, ...kept.fileLogs.values()]) {
      for (const author of this.#logs.heights(logId).keys()) if (author !== self) this.#logs.dropLog(fromHex(author), logId)
    }
    this.#groups.delete(toHex(kept.groupId))
    for (const key of kept.fileLogs.keys()) this.#fileGroup.delete(key)
    // What was on its way leaves the total with the group.
    for (const [opKey, { groupId }] of this.#coming) if (bytesEqual(groupId, kept.groupId)) this.#coming.delete(opKey)
    this.#total -= kept.bytes
    return { groupId: kept.groupId, peers: [], dropped: [...kept.sharedWith].map(fromHex), claimed: [] }
  }

  /** Whether `logId` holds operations of this node. */
  #holdsOurs(logId: LogId): boolean {
    return this.#logs.heightOf(logId, toHex(this.#self)) !== undefined
  }

  #keptFor(orderer: Uint8Array): Kept[] {
    return [...this.#groups.values()].filter((k) => bytesEqual(k.owner, orderer))
  }

  /** Holds the latest order of a peer not allowed yet (the oldest held one goes past {@link MAX_HELD_ORDERS}); asks the user the first time. */
  #hold(from: Uint8Array, order: KeeperOrder): void {
    const key = `${toHex(from)}:${toHex(order.groupId)}`
    this.#held.delete(key)
    this.#held.set(key, { from: from.slice(), order })
    if (this.#held.size > MAX_HELD_ORDERS) this.#held.delete(this.#held.keys().next().value!)
    if (this.#orderers.has(toHex(from))) return
    const at = this.#now()
    this.#store.setOrderer(from, 'ask', at)
    this.#orderers.set(toHex(from), { decision: 'ask', decidedAt: at })
    this.onAsked(from.slice())
  }

  #heldOf(orderer: Uint8Array): KeeperOrder[] {
    return [...this.#held.values()].filter((h) => bytesEqual(h.from, orderer)).map((h) => h.order)
  }

  #dropHeld(orderer: Uint8Array): void {
    const prefix = `${toHex(orderer)}:`
    for (const key of this.#held.keys()) if (key.startsWith(prefix)) this.#held.delete(key)
  }

  #keptOf(logId: LogId): Kept | undefined {
    const key = toHex(logId)
    return this.#groups.get(key) ?? this.#fileGroup.get(key)
  }

  #remember(groupId: Uint8Array, owner: Uint8Array, members: ContactCard[], keepers: ContactCard[], retentionMs: number | null): Kept {
    const writers = new Set([toHex(owner), ...members.map((m) => toHex(m.identityKey))])
    const kept: Kept = {
      groupId: groupId.slice(),
      owner: owner.slice(),
      members,
      keepers,
      retentionMs,
      sharedWith: new Set([...writers, ...keepers.map((k) => toHex(k.identityKey))]),
      writers,
      fileLogs: new Map(),
      bytes: 0,
      full: false,
      wanted: 0,
    }
    this.#groups.set(toHex(groupId), kept)
    return kept
  }

  #addFileLog(kept: Kept, logId: Uint8Array): void {
    kept.fileLogs.set(toHex(logId), logId.slice())
    this.#fileGroup.set(toHex(logId), kept)
  }

  /** Reads a group's stored size; it takes operations again when under its quota. */
  #measure(kept: Kept): void {
    this.#total -= kept.bytes
    kept.bytes = [kept.groupId, ...kept.fileLogs.values()].reduce((n, logId) => n + this.#store.logSize(logId).bytes, 0)
    this.#total += kept.bytes
    this.#reopens(kept)
  }

  /**
   * Whether a full group has room again for the smallest operation it
   * refused, within its quota and the total: it takes operations again
   * (room for less would only refill it, and report it full again).
   */
  #reopens(kept: Kept): boolean {
    if (!kept.full || kept.bytes + kept.wanted > this.#quota.perGroupBytes || this.#total + kept.wanted > this.#quota.totalBytes) return false
    kept.full = false
    return true
  }
}

/**
 * Refused (log, author) pairs remembered: each costs a map entry, and a peer
 * may send operations of made-up authors. Past it, a later operation of a
 * refused author may arrive after a gap, which ends that sync session (the
 * peer reconnects and syncs from our heights).
 */
const MAX_RESUME_ENTRIES = 4096

/**
 * Most groups kept for one orderer. The default total quota (10 GiB) holds
 * ten groups at their full default quota; 16 leaves room for smaller ones
 * while bounding what one allowed peer puts on this node: 16 orders of at
 * most 1,008 peers each on the allow-list, 16 GiB of quota claims.
 */
export const MAX_KEPT_PER_ORDERER = 16

/**
 * Most file logs claimed per kept group. Each costs a row, two map entries
 * and an id in every sync session's announcement to each member (32 bytes,
 * plus its heights): 4,096 of them are 128 KiB of ids per session start,
 * and cover a group's files for years of ordinary use (a file a day for
 * eleven years). A member can name any file id (the keeper cannot tell real
 * ones), so without a bound claims were limited only by memory.
 */
export const MAX_KEPT_FILE_LOGS = 4096

/** Orders held for peers the user has not answered: each may name 1,008 peers (about 200 KiB), so a few. */
const MAX_HELD_ORDERS = 16

/**
 * File ids of claims held for groups not kept yet, in all: one group's worth
 * ({@link MAX_KEPT_FILE_LOGS}); 0.4 MiB of heap as eight full claims, 1.7 MiB
 * as 4,096 claims of one id each (measured). Any allow-listed peer may claim
 * for any group id; past the bound the oldest claims go, and their members
 * claim again at their next change or start, as before this was held.
 */
const MAX_EARLY_FILE_IDS = MAX_KEPT_FILE_LOGS

/** Bytes counted for an operation's header before it is stored (a header is about 150 bytes): a slight overestimate, corrected once it is stored. */
const HEADER_ALLOWANCE = 192

/**
 * Operations counted on their way at once: each a map entry of about 210
 * bytes (measured), 3.4 MiB in all. A session has one frame's operations
 * between `accepts` and `stored` at a time: a frame of 4 MiB holds up to
 * about 27,000 headers alone, 870 at the 128 KiB frames peers send. Past the
 * bound an operation is taken uncounted until the next measure (a minute
 * at most).
 */
const MAX_COMING = 16_384
