import type { Database } from 'better-sqlite3'
import type { Logger } from '../logging.js'
import { bytesEqual, fromHex, toHex } from '../log/bytes.js'
import { createOperation } from '../log/operation.js'
import type { ExtensionValue, Operation, Signer } from '../log/types.js'
import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import type { ContactCard } from '../keys/index.js'
import {
  GroupStore,
  KeeperStore,
  type KeeperDecision,
  type DepartedRow,
  type FileRow,
  type GroupEnd,
  type GroupMessage,
  type InvitationRow,
  type LogStore,
  type OwnProposal,
  type RejectedGroupOperation,
  withoutFsync,
} from '../store/index.js'
import { MlsGroup, type KeyPackagePair, type MlsIdentity, type RatchetStep } from './mls/index.js'
import { FileIndex } from './file-index.js'
import { fileContent } from './file-reader.js'
import { FileUpload } from './file-upload.js'
import { encodeGroupPayload, type GroupPayload } from './payload.js'
import { MAX_OPERATION_PAYLOAD_BYTES, payloadOperations } from './parts.js'
import { GroupRoster } from './roster.js'
import { MAX_GROUP_NAME_LENGTH, type GroupSetting } from './setting.js'
import { decodePeerList, encodePeerEntry, MAX_KEEPERS } from './keeper-wire.js'
import { DEPARTED_SHARE_MS, MAX_DEPARTED, SharingIndex, type DepartedEntry } from './sharing.js'
import type { GroupEvent, GroupInfo, GroupStatus } from './types.js'

/** A group this node is in, with its MLS state loaded. Mutated only by {@link GroupCore.apply}. */
export interface LiveGroup {
  readonly id: Uint8Array
  readonly owner: Uint8Array
  /** Epoch this node entered the group at (0 for the owner). */
  readonly joinedEpoch: number
  readonly roster: GroupRoster
  mls: MlsGroup
  active: boolean
  ownProposal: OwnProposal | null
}

/**
 * An operation for this node's own log: a payload and the epoch it belongs
 * to; or, without a payload, a clear control operation: `delete` names
 * earlier operations of our log whose payloads every store deletes
 * (store/log-store.ts), `prune` lets every node drop our operations below it.
 */
export interface OwnWrite {
  readonly payload?: GroupPayload
  readonly epoch: number
  readonly delete?: readonly number[]
  readonly prune?: true
}

/** An operation that could not be used, and the stable code of why. */
export interface Rejection {
  readonly op: Operation
  readonly code: string
  /** The operation's epoch tag, when it had a valid one. */
  readonly epoch: number | null
}

/**
 * Everything that results from one step (one operation processed, one call
 * of the API): persisted together in one SQLite transaction, so a crash keeps
 * all of it or none, and an MLS state is never stored apart from the
 * operations it produced or consumed.
 */
export interface GroupChange {
  /** The new MLS state; omitted when the step leaves it as it is. */
  readonly next?: MlsGroup
  /**
   * All that changed from the group's state to `next`, when an application
   * message was sent or received: stored instead of the whole state, whose
   * size grows with the group (the whole state is stored again at the next
   * epoch change).
   */
  readonly step?: RatchetStep
  /** Our pending proposal after the step; by default kept within an epoch and cleared by a new one. */
  readonly ownProposal?: OwnProposal | null
  /** The operation this step consumed: its author's cursor moves to it. */
  readonly processed?: { readonly author: Uint8Array; readonly seq: number }
  /** Operations to sign and append to our own log, in order. */
  readonly append?: readonly OwnWrite[]
  /** A decrypted message from another member, for the local view. */
  readonly received?: Omit<GroupMessage, 'id' | 'groupId' | 'receivedAt'>
  /** Plaintext of our own message carried by the first appended operation, for the local view. */
  readonly sent?: Uint8Array
  /** The consumed operation could not be used: record it. */
  readonly rejected?: Rejection
  /**
   * A file the `received` or `sent` entry announces: kept with its key, and
   * the entry refers to it. For a sent one, `seq` is filled in with the
   * announcement's.
   */
  readonly file?: FileRow
  /** The file log of ours this announcement ends (its upload record goes). */
  readonly uploaded?: Uint8Array
  /** Entries of `author` that leave the local view (its deletion): their files and file logs go too. */
  readonly removed?: { readonly author: Uint8Array; readonly seqs: readonly number[] }
  /** The owner's new retention period for the group (ms; null: none). */
  readonly retention?: number | null
  /** The owner's group setting (its name, description): carried by the consumed operation, or by the first appended one (ours, as the owner). */
  readonly setting?: GroupSetting
  /** The owner's new keepers list of the group (the consumed operation's, or ours as the owner). */
  readonly keepers?: readonly ContactCard[]
}

/** A group's keepers as this node knows them: the owner's latest list and our answer to it (the owner's own is always `allow`). */
export interface KeeperList {
  readonly groupId: Uint8Array
  readonly keepers: readonly ContactCard[]
  readonly decision: KeeperDecision
}

/** What {@link GroupCore.apply} wrote, and the events it calls for (the manager emits them). */
export interface AppliedChange {
  readonly operations: Operation[]
  readonly message: GroupMessage | undefined
  readonly events: GroupEvent[]
}

/** Options of {@link GroupCore}. */
export interface GroupCoreOptions {
  /** Open database migrated to the current schema. Not closed by the core. */
  readonly db: Database
  /** The node's log store over the same database. */
  readonly logs: LogStore
  readonly identity: MlsIdentity
  readonly signer: Signer
  readonly logger: Logger
  readonly now: () => number
  /** How long a pending invitation (and its private key package) is kept. */
  readonly invitationTtlMs: number
  /** Largest payload of one of our operations; a larger commit or Welcome goes in parts (parts.ts). Default: the log's limit, 1 MiB. */
  readonly maxPayloadBytes?: number
}

/** An empty keepers list: canonical CBOR `[]`. */
const EMPTY_LIST = encodeCanonical([])

/** Bytewise order, for stable member lists. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** Who joined and who left between two member lists, by hex set: linear, whatever the size of the group. */
function memberChanges(before: readonly Uint8Array[], after: readonly Uint8Array[]): { added: Uint8Array[]; removed: Uint8Array[] } {
  const had = new Set(before.map(toHex))
  const has = new Set(after.map(toHex))
  return { added: after.filter((m) => !had.has(toHex(m))), removed: before.filter((m) => !has.has(toHex(m))) }
}

/**
 * The loaded groups and the one way their state changes: {@link apply}, which
 * signs this node's new operations and stores them, the MLS state, cursors
 * and local-view rows in one transaction, then updates memory and returns the
 * events of the change. Everything else here only reads, or records a step
 * that changes no MLS state (an invitation, a cursor moved before joining).
 * Callers serialize their use (the manager's queue).
 */
export class GroupCore {
  readonly identity: MlsIdentity
  readonly self: Uint8Array
  readonly now: () => number
  readonly logger: Logger
  readonly #db: Database
  readonly #logs: LogStore
  readonly #store: GroupStore
  readonly #keeperStore: KeeperStore
  readonly #signer: Signer
  readonly #live = new Map<string, LiveGroup>()
  /** A received deletion removed content since the last scrub. */
  #scrubDue = false
  readonly #sharing = new SharingIndex()
  /** The file logs known here: shared with their group's members. */
  readonly files = new FileIndex()
  readonly #invitationTtlMs: number
  readonly #maxPayloadBytes: number

  constructor(options: GroupCoreOptions) {
    this.#db = options.db
    this.#logs = options.logs
    this.#store = new GroupStore(options.db)
    this.#keeperStore = new KeeperStore(options.db)
    this.identity = options.identity
    this.self = options.signer.publicKey
    this.now = options.now
    this.logger = options.logger
    this.#signer = options.signer
    this.#invitationTtlMs = options.invitationTtlMs
    this.#maxPayloadBytes = options.maxPayloadBytes ?? MAX_OPERATION_PAYLOAD_BYTES
    const members = new Map<string, { groupId: Uint8Array; members: Uint8Array[] }>()
    for (const { groupId, identity } of this.#store.activeMemberships()) {
      const key = toHex(groupId)
      if (!members.has(key)) members.set(key, { groupId, members: [] })
      members.get(key)!.members.push(identity)
    }
    for (const group of members.values()) this.#sharing.setGroup(group.groupId, group.members, true)
    for (const i of this.#store.invitationTimes()) this.#sharing.addInvitation(i.groupId, i.inviter, i.createdAt + this.#invitationTtlMs)
    for (const file of this.#store.files()) this.files.add(file)
    for (const row of this.#keeperStore.keeperLists()) if (members.has(toHex(row.groupId))) this.#shareWithKeepers(this.#keeperList(row))
    this.dropExpiredInvitations()
    // No upload outlives the process that made it: what one left behind was never announced.
    for (const { logId } of this.#store.uploads()) this.#discardUpload(logId)
    this.#trimDeparted(true)
  }

  // ---- reading ---------------------------------------------------------------

  /** The group with its MLS state, loaded once and cached; undefined if unknown here. */
  load(groupId: Uint8Array): LiveGroup | undefined {
    const key = toHex(groupId)
    const cached = this.#live.get(key)
    if (cached !== undefined) return cached
    const row = this.#store.group(groupId)
    const state = this.#store.state(groupId)
    if (row === undefined || state === undefined) return undefined
    const roster = new GroupRoster(this.#store.members(groupId))
    const group: LiveGroup = {
      id: row.groupId.slice(),
      owner: row.owner.slice(),
      joinedEpoch: row.joinedEpoch,
      roster,
      mls: MlsGroup.decodeState(state, this.identity, roster.accepts, this.#store.ratchets(groupId)),
      active: row.active,
      ownProposal: row.ownProposal,
    }
    this.#live.set(key, group)
    return group
  }

  /** What the API tells about a group, from its stored row; undefined if unknown here. */
  info(groupId: Uint8Array): GroupInfo | undefined {
    const row = this.#store.group(groupId)
    if (row === undefined) return undefined
    const status: GroupStatus = row.active ? (row.ownProposal?.kind === 'leave' ? 'leaving' : 'active') : (row.ended ?? 'removed')
    return {
      id: row.groupId,
      name: row.name,
      sharedName: row.sharedName,
      description: row.description,
      owner: row.owner,
      isOwner: bytesEqual(row.owner, this.self),
      epoch: row.epoch,
      members: this.#store.members(groupId),
      active: row.active,
      retentionMs: row.retentionMs,
      status,
      pendingProposal: row.ownProposal?.kind ?? null,
    }
  }

  /** The owner's retention period of the group (ms); null: none, or the group is unknown here. */
  retentionMs(groupId: Uint8Array): number | null {
    return this.#store.group(groupId)?.retentionMs ?? null
  }

  /** Why the group is inactive here (`removed` for a group that ended before this was recorded); null while active or unknown. */
  ended(groupId: Uint8Array): GroupEnd | null {
    const row = this.#store.group(groupId)
    return row === undefined || row.active ? null : (row.ended ?? 'removed')
  }

  /** Whether another group here than `groupId` has the local name `name`. */
  nameTaken(name: string, groupId?: Uint8Array): boolean {
    return this.#store.groups().some((g) => g.name === name && (groupId === undefined || !bytesEqual(g.groupId, groupId)))
  }

  /** What is shared with `peer` of log `logId` as a departed member of the group, if it is one (see `PartialShare`). From memory. */
  departed(peer: Uint8Array, logId: Uint8Array): DepartedEntry | undefined {
    return this.#sharing.departed(peer, logId, this.now())
  }

  /** Ids of every group here (inactive ones included), oldest first. */
  groupIds(): Uint8Array[] {
    return this.#store.groupIds()
  }

  /**
   * Authors (hex identity keys) with operations stored in the group's log
   * after their cursor, so that a pass over a group of many authors reads
   * the logs of only those with something new.
   */
  pendingAuthors(groupId: Uint8Array): string[] {
    return this.#store.pendingAuthors(groupId)
  }

  /** Every author (hex identity key) with operations stored in the group's log: for the retention sweep, which runs now and then. */
  authors(groupId: Uint8Array): string[] {
    return [...this.#logs.heights(groupId).keys()]
  }

  /** The stored operation of `author` in the group's log with the highest seq. */
  lastOperation(groupId: Uint8Array, author: Uint8Array): Operation | undefined {
    return this.#logs.lastOperation(author, groupId)
  }

  /** Highest stored seq of `author` in the group's log. */
  heightOf(groupId: Uint8Array, author: Uint8Array): number | undefined {
    return this.#logs.heightOf(groupId, toHex(author))
  }

  /** Up to `limit` stored operations of `author` in the group's log after `afterSeq`. */
  operationsAfter(author: Uint8Array, groupId: Uint8Array, afterSeq: number, limit: number): Operation[] {
    return this.#logs.operationsAfter(author, groupId, afterSeq, limit)
  }

  /** Last processed seq of (author, group log), -1 before the first. */
  cursor(groupId: Uint8Array, author: Uint8Array): number {
    return this.#store.cursor(groupId, author)
  }

  /** Whether the author of (author, group log) deleted the payload at `seq`. */
  isDeleted(author: Uint8Array, groupId: Uint8Array, seq: number): boolean {
    return this.#logs.isDeleted(author, groupId, seq)
  }

  /** Whether group log `logId` is shared with `peer`: a member of the active group, or the inviter of a pending invitation. From memory. */
  mayShare(peer: Uint8Array, logId: Uint8Array): boolean {
    return !bytesEqual(peer, this.self) && this.#sharing.mayShare(peer, logId, this.now())
  }

  /** Whether `peer` (not us) is a current member of group `groupId`: who a file log of the group is shared with. From memory. */
  isMember(peer: Uint8Array, groupId: Uint8Array): boolean {
    return !bytesEqual(peer, this.self) && this.#sharing.isMember(peer, groupId)
  }

  /** Whether `peer` is a keeper of group `groupId` we share it with (allowed here). From memory. */
  isKeeper(peer: Uint8Array, groupId: Uint8Array): boolean {
    return this.#sharing.isKeeper(peer, groupId)
  }

  /** The owner's latest keepers list of a group and our answer; undefined before one arrived (or was asked for). */
  keepers(groupId: Uint8Array): KeeperList | undefined {
    const row = this.#keeperStore.keeperList(groupId)
    return row === undefined ? undefined : this.#keeperList(row)
  }

  /** Every group's keepers list known here. */
  keeperLists(): KeeperList[] {
    return this.#keeperStore.keeperLists().map((row) => this.#keeperList(row))
  }

  #keeperList(row: { groupId: Uint8Array; keepers: Uint8Array; decision: KeeperDecision }): KeeperList {
    const owner = this.#store.group(row.groupId)?.owner
    const decision = owner !== undefined && bytesEqual(owner, this.self) ? 'allow' : row.decision
    return { groupId: row.groupId, keepers: decodePeerList(decodeCanonical(row.keepers), MAX_KEEPERS, 'a stored keepers list'), decision }
  }

  /** Shares an active group with its keepers when they are allowed here, with nobody else as keeper otherwise. */
  #shareWithKeepers(list: KeeperList): void {
    const active = this.#store.group(list.groupId)?.active === true
    this.#sharing.setKeepers(list.groupId, active && list.decision === 'allow' ? list.keepers.map((k) => k.identityKey) : [])
  }

  /**
   * Records our answer to a group's keepers (before its list arrived too: a
   * join may answer ahead). Returns the list as it now stands, and shares the
   * group with its keepers, or stops, at once.
   */
  setKeeperDecision(groupId: Uint8Array, decision: KeeperDecision): KeeperList {
    this.#db.transaction(() => {
      if (this.#keeperStore.keeperList(groupId) === undefined) this.#keeperStore.setKeeperList(groupId, EMPTY_LIST, decision)
      else this.#keeperStore.setDecision(groupId, decision)
    }).immediate()
    const list = this.keepers(groupId)!
    this.#shareWithKeepers(list)
    return list
  }

  /** The group logs shared with `peer` (see {@link mayShare}). From memory. */
  sharedLogs(peer: Uint8Array): Uint8Array[] {
    return bytesEqual(peer, this.self) ? [] : this.#sharing.sharedLogs(peer, this.now())
  }

  /** The nonce our group's id derives from (see group-id.ts); null for a group we joined or made before ids were derived. */
  idNonce(groupId: Uint8Array): Uint8Array | null {
    return this.#store.group(groupId)?.idNonce ?? null
  }

  /** Local-view messages with id above `afterId`, oldest first. */
  messages(groupId: Uint8Array, afterId: number, limit: number): GroupMessage[] {
    return this.#store.messages(groupId, afterId, limit)
  }

  /** Operations of the group that could not be used. */
  rejected(groupId: Uint8Array): RejectedGroupOperation[] {
    return this.#store.rejected(groupId)
  }

  /** Our key packages for a group, oldest first. */
  invitations(groupId: Uint8Array): InvitationRow[] {
    return this.#store.invitations(groupId)
  }

  /** (group, inviter) pairs with a key package of ours that has not expired and no joined group yet. */
  pendingInvitations(): { groupId: Uint8Array; inviter: Uint8Array }[] {
    return this.#sharing.pendingPairs(this.now())
  }

  /** Stored key packages of ours waiting for a Welcome, in total or from `inviter`. */
  pendingInvitationCount(inviter?: Uint8Array): number {
    return this.#sharing.pendingCount(inviter)
  }

  /** Whether the local view holds the entry of `author`'s operation at `seq`. */
  hasMessageAt(groupId: Uint8Array, author: Uint8Array, seq: number): boolean {
    return this.#store.hasMessageAt(groupId, author, seq)
  }

  /** Our last `limit` local-view entries in the group, oldest first. */
  latestOwnMessages(groupId: Uint8Array, limit: number): GroupMessage[] {
    return this.#store.latestOf(groupId, this.self, limit)
  }

  /** Whether `payload` fits in one of our operations (a message may not come in parts). */
  fitsOneOperation(payload: GroupPayload): boolean {
    return encodeGroupPayload(payload).length <= this.#maxPayloadBytes
  }

  /** A local-view entry by its id. */
  message(groupId: Uint8Array, id: number): GroupMessage | undefined {
    return this.#store.message(groupId, id)
  }

  /** The files of a group known here, oldest first, with their keys. */
  fileRows(groupId: Uint8Array): FileRow[] {
    return this.#store.files(groupId)
  }

  /** A file by its log id. */
  fileRow(logId: Uint8Array): FileRow | undefined {
    return this.#store.file(logId)
  }

  /** How many of a file's chunks are stored here (they arrive in order). */
  chunksHeld(file: Pick<FileRow, 'author' | 'logId'>): number {
    return (this.#logs.heights(file.logId).get(toHex(file.author)) ?? -1) + 1
  }

  /** The file's content, chunk by chunk (see file-reader.ts). */
  fileContent(file: FileRow): Generator<Uint8Array, void, undefined> {
    return fileContent(this.#logs, file)
  }

  /** Last seq of (author, group log) the retention sweep passed. */
  swept(groupId: Uint8Array, author: Uint8Array): number {
    return this.#store.swept(groupId, author)
  }

  /** The highest prune point of (author, group log) at or below `atOrBelow`. */
  prunePoint(groupId: Uint8Array, author: Uint8Array, atOrBelow: number): number | undefined {
    return this.#logs.prunePoint(author, groupId, atOrBelow)
  }

  // ---- changing --------------------------------------------------------------

  /**
   * Starts a file upload into our file log for the group (file-upload.ts).
   * It is recorded, so that a crash before its announcement leaves nothing
   * behind after the next start.
   */
  beginUpload(groupId: Uint8Array, chunkSize?: number): FileUpload {
    const upload = new FileUpload(
      groupId,
      this.#signer,
      {
        append: (ops) => this.#db.transaction(() => ops.forEach((op) => this.#logs.append(op))).immediate(),
        discard: (logId) => this.#discardUpload(logId),
      },
      chunkSize,
    )
    this.#store.insertUpload(upload.logId, groupId, this.now())
    return upload
  }

  #discardUpload(logId: Uint8Array): void {
    this.#db.transaction(() => {
      this.#logs.dropLog(this.self, logId)
      this.#store.deleteUpload(logId)
    }).immediate()
  }

  /**
   * Retention (retention.ts): in one transaction, deletes the payloads
   * `hashes` of `author`'s log, removes its entries at `seqs` from the local
   * view (their files with them), records how far the sweep went, and
   * prunes the log below `pruneBelow`. Returns the events it calls for.
   */
  expire(groupId: Uint8Array, author: Uint8Array, expired: { hashes: readonly Uint8Array[]; seqs: readonly number[]; swept: number; pruneBelow?: number }): GroupEvent[] {
    let files: FileRow[] = []
    this.#db.transaction(() => {
      for (const hash of expired.hashes) this.#logs.deletePayload(hash)
      files = this.#removeEntries(groupId, author, expired.seqs)
      this.#store.setSwept(groupId, author, expired.swept)
      if (expired.pruneBelow !== undefined) this.#logs.prune(author, groupId, expired.pruneBelow)
    }).immediate()
    for (const f of files) this.files.drop(f.logId)
    this.#scrubDeleted()
    return expired.seqs.length > 0 ? [['deleted', { groupId, author, seqs: [...expired.seqs] }]] : []
  }

  /**
   * Sets a group's local name as the user chose it; `null` goes back to the
   * owner's shared name (made unique here).
   */
  setLabel(groupId: Uint8Array, name: string | null): void {
    const row = this.#store.group(groupId)
    if (row === undefined) return
    if (name !== null) this.#store.setLabel(groupId, name, true)
    else this.#store.setLabel(groupId, row.sharedName === null ? null : this.#uniqueName(groupId, row.sharedName), false)
  }

  /** Keeps a key package of ours (secret part included) until `inviter`'s Welcome arrives, or the invitation expires. */
  addInvitation(groupId: Uint8Array, inviter: Uint8Array, pair: KeyPackagePair): void {
    const now = this.now()
    this.#store.insertInvitation(groupId, inviter, pair.publicPackage, pair.privatePackage, now)
    this.#sharing.addInvitation(groupId, inviter, now + this.#invitationTtlMs)
  }

  /**
   * Deletes the invitations (and their private key packages) that have
   * expired; cheap when none has. A group whose last invitation expired
   * before we joined it loses its log here too: what its inviters wrote is
   * unreadable to us and would otherwise stay for ever.
   */
  dropExpiredInvitations(): void {
    const now = this.now()
    if (this.#sharing.nextExpiry > now) return
    const expired = this.#sharing.expiredGroups(now)
    // A group this node keeps for others holds the same log: it stays.
    const kept = new Set(expired.size === 0 ? [] : this.#keeperStore.keptGroups().map((row) => toHex(row.groupId)))
    const neverJoined = [...expired].filter(([key, groupId]) => !kept.has(key) && this.#store.group(groupId) === undefined).map(([, groupId]) => groupId)
    // One transaction: a crash in between would leave a log that no invitation names any more, for ever.
    const dropped = this.#db
      .transaction(() => {
        const deleted = this.#store.deleteInvitationsMadeBy(now - this.#invitationTtlMs)
        for (const groupId of neverJoined) {
          for (const author of this.#logs.heights(groupId).keys()) this.#logs.dropLog(fromHex(author), groupId)
          this.#store.deleteCursors(groupId)
        }
        return deleted
      })
      .immediate()
    this.#sharing.dropExpired(now)
    if (dropped > 0 || neverJoined.length > 0) this.#scrubDeleted()
  }

  /** For a group we await a Welcome to: whether `author` is one of its inviters (undefined for any other log). From memory. */
  awaitedInviter(author: Uint8Array, logId: Uint8Array): boolean | undefined {
    return this.#sharing.awaitedInviter(author, logId, this.now())
  }

  /**
   * Invitee, before joining: moves the inviter's cursor over an operation of
   * the group log that is not our Welcome (everything before the Welcome is
   * unreadable to a joiner), recording it as rejected when it is invalid.
   */
  passBeforeJoin(groupId: Uint8Array, op: Operation, rejection?: Omit<Rejection, 'op'>): void {
    this.#db.transaction(() => {
      if (rejection !== undefined) this.#store.insertRejected(this.#rejectedRow(groupId, { op, ...rejection }, this.now()))
      this.#store.setCursor(groupId, op.header.author, op.header.seq)
    }).immediate()
  }

  /**
   * Stores a group this node just created or joined from a Welcome. A join
   * also records the Welcome's position in the owner's log (everything before
   * it is unreadable to us), drops our key packages for the group, and calls
   * for a `joined` event. Joining a group we had left or were removed from
   * replaces its MLS state and members and keeps the rest: its name, local
   * view and cursors (operations of the epochs in between are unreadable to
   * us and skipped).
   */
  adopt(input: {
    readonly mls: MlsGroup
    readonly roster: GroupRoster
    readonly owner: Uint8Array
    /** Creator only: the group's name and description, shared with the members it invites. */
    readonly setting?: GroupSetting
    /** Creator only: the nonce the group id derives from. */
    readonly idNonce?: Uint8Array
    readonly welcomeSeq?: number
  }): { group: LiveGroup; events: GroupEvent[] } {
    const { mls, roster, owner } = input
    const groupId = mls.groupId
    const members = mls.members().sort(compareBytes)
    const epoch = Number(mls.epoch)
    const existing = this.#store.group(groupId)
    this.#db.transaction(() => {
      if (existing !== undefined) {
        this.#store.rejoinGroup({ groupId, owner, state: mls.encodeState(), epoch, joinedEpoch: epoch }, members)
        // The owner sends its retention period again after the Welcome, if it has one.
        this.#store.setRetention(groupId, null)
      } else {
        const name = input.setting?.name ?? null
        this.#store.insertGroup(
          { groupId, name, owner, idNonce: input.idNonce ?? null, state: mls.encodeState(), epoch, joinedEpoch: epoch, active: true, createdAt: this.now(), labelSet: name !== null },
          members,
        )
        if (input.setting !== undefined) this.#store.setShared(groupId, input.setting.name, input.setting.description)
      }
      if (input.welcomeSeq !== undefined) {
        this.#store.setCursor(groupId, owner, input.welcomeSeq)
        this.#store.deleteInvitations(groupId)
      }
    }).immediate()
    this.#sharing.setGroup(groupId, members, true)
    const keepers = this.keepers(groupId)
    if (keepers !== undefined) this.#shareWithKeepers(keepers)
    if (input.welcomeSeq !== undefined) {
      this.#sharing.dropInvitations(groupId)
      this.#scrubDeleted()
    }
    roster.reset(members)
    const group: LiveGroup = { id: groupId, owner: owner.slice(), joinedEpoch: epoch, roster, mls, active: true, ownProposal: null }
    this.#live.set(toHex(groupId), group)
    const info = this.info(groupId)
    return { group, events: input.welcomeSeq !== undefined && info !== undefined ? [['joined', info]] : [] }
  }

  /** Persists one step (see {@link GroupChange}) atomically, then updates memory; returns what it wrote and the events it calls for. */
  apply(group: LiveGroup, change: GroupChange): AppliedChange {
    const previous = group.mls
    const next = change.next ?? previous
    const epochChanged = next.epoch !== previous.epoch
    const ownProposal = change.ownProposal !== undefined ? change.ownProposal : epochChanged ? null : group.ownProposal
    const signed = this.#sign(group.id, change.append ?? [])
    const operations = signed.flat()
    // Members change only with the epoch (or when a commit removes us): an application message skips the walk over the tree.
    const members = change.next === undefined || (!epochChanged && next.active === previous.active) ? undefined : next.members().sort(compareBytes)
    const changes = members === undefined ? undefined : memberChanges(previous.members(), members)
    const membersChanged = changes !== undefined && (changes.added.length > 0 || changes.removed.length > 0)
    // Asked to leave, or removed: a leave the owner committed (or a removal while our leave waited) is a leave.
    const ended: GroupEnd | null = next.active ? null : group.ownProposal?.kind === 'leave' ? 'left' : 'removed'
    const receivedAt = this.now()
    const file = change.file === undefined ? undefined : change.sent === undefined ? change.file : { ...change.file, seq: operations[0]!.header.seq }
    const turnover = membersChanged && next.active ? this.#turnover(group, changes, signed[0]?.at(-1), change, receivedAt) : undefined
    const naming = change.setting === undefined ? undefined : this.#naming(group, change.setting)
    let message: GroupMessage | undefined
    let removedFiles: FileRow[] = []
    const write = this.#db.transaction(() => {
      for (const op of operations) this.#logs.append(op)
      if (change.step !== undefined && !epochChanged && ownProposal === group.ownProposal) {
        this.#store.setRatchet(group.id, change.step)
      } else if (change.next !== undefined || ownProposal !== group.ownProposal) {
        this.#store.updateState(group.id, { state: next.encodeState(), epoch: Number(next.epoch), active: next.active, ended, ownProposal })
      }
      if (membersChanged) this.#store.changeMembers(group.id, changes!)
      if (change.processed !== undefined) this.#store.setCursor(group.id, change.processed.author, change.processed.seq)
      if (file !== undefined) this.#store.insertFile(file)
      if (change.uploaded !== undefined) this.#store.deleteUpload(change.uploaded)
      const row = this.#messageRow(group, change, operations, receivedAt, file)
      if (row !== undefined) message = { id: this.#store.insertMessage(row), ...row }
      if (change.rejected !== undefined) this.#store.insertRejected(this.#rejectedRow(group.id, change.rejected, receivedAt))
      if (change.removed !== undefined) removedFiles = this.#removeEntries(group.id, change.removed.author, change.removed.seqs)
      if (change.retention !== undefined) this.#store.setRetention(group.id, change.retention)
      for (const d of turnover?.gone ?? []) this.#store.upsertDeparted(d)
      for (const member of turnover?.back ?? []) this.#store.deleteDeparted(group.id, member)
      if (ended !== null) this.#store.deleteDepartedOf(group.id)
      if (change.keepers !== undefined) this.#keeperStore.setKeeperList(group.id, encodeCanonical(change.keepers.map(encodePeerEntry) as CborValue[]), 'ask')
      if (naming !== undefined) {
        this.#store.setShared(group.id, naming.setting.name, naming.setting.description)
        if (naming.label !== undefined) this.#store.setLabel(group.id, naming.label.name, naming.label.chosen)
      }
    })
    // Processing a received operation appends nothing of ours and can be redone from the stored log: it
    // need not wait for an fsync (a third of a receive's CPU, and most of its time on a slow disk).
    if (operations.length === 0 && change.processed !== undefined) withoutFsync(this.#db, () => write.immediate())
    else write.immediate()
    if (file !== undefined) this.files.add(file)
    for (const f of removedFiles) this.files.drop(f.logId)
    // A deletion left the payloads and plaintext it removed in older WAL pages. One received while processing is
    // scrubbed at the end of the pass (scrubIfDue): a member writing deletions must not cost a checkpoint each.
    if (change.removed !== undefined) {
      if (change.processed !== undefined) this.#scrubDue = true
      else this.#scrubDeleted()
    }

    const wasActive = group.active
    group.mls = next
    group.active = next.active
    group.ownProposal = ownProposal
    if (members !== undefined) group.roster.reset(members)
    if (members !== undefined && (membersChanged || wasActive !== next.active)) this.#sharing.setGroup(group.id, members, next.active)
    for (const d of turnover?.gone ?? []) this.#sharing.setDeparted(d.member, this.#departedEntry(d, group.owner))
    for (const member of turnover?.back ?? []) this.#sharing.dropDeparted(group.id, member)
    if (ended !== null) this.#sharing.dropAllDeparted(group.id)
    const keepers = change.keepers !== undefined ? this.keepers(group.id) : undefined
    if (keepers !== undefined) this.#shareWithKeepers(keepers)
    if ((turnover?.gone.length ?? 0) > 0) this.#trimDeparted(false)
    const events: GroupEvent[] = []
    if (operations.length > 0) events.push(['appended', operations])
    if (message !== undefined) events.push(['message', message])
    if (epochChanged || membersChanged || naming !== undefined) {
      events.push(['changed', { groupId: group.id, epoch: Number(next.epoch), members: members ?? this.#store.members(group.id) }])
    }
    if (wasActive && ended !== null) events.push(['removed', { groupId: group.id, how: ended }])
    if (file !== undefined) events.push(['file', { groupId: group.id, logId: file.logId }])
    if (keepers !== undefined) events.push(['keepers', keepers])
    if (change.removed !== undefined) events.push(['deleted', { groupId: group.id, author: change.removed.author, seqs: [...change.removed.seqs] }])
    return { operations, message, events }
  }

  /**
   * Inside a transaction: removes `author`'s local-view entries at `seqs`,
   * and the files they announced with their keys and file logs. Returns the
   * files removed.
   */
  #removeEntries(groupId: Uint8Array, author: Uint8Array, seqs: readonly number[]): FileRow[] {
    const files: FileRow[] = []
    for (const seq of seqs) {
      this.#store.deleteMessage(groupId, author, seq)
      const file = this.#store.fileAt(groupId, author, seq)
      if (file === undefined) continue
      this.#store.deleteFile(file.logId)
      this.#logs.dropLog(file.author, file.logId)
      files.push(file)
    }
    return files
  }

  /**
   * Who a membership change let go and who it took back. Those who left or
   * were removed are still handed the owner's log up to and including the
   * commit that removed them (its seq: the commit we appended as the owner,
   * or the owner's commit we processed), so that they learn of it.
   */
  #turnover(
    group: LiveGroup,
    changes: { added: Uint8Array[]; removed: Uint8Array[] },
    ownCommit: Operation | undefined,
    change: GroupChange,
    at: number,
  ): { gone: DepartedRow[]; back: Uint8Array[] } {
    // Our commit's last operation (it may come in parts), or the owner's that we processed.
    const commitSeq = bytesEqual(group.owner, this.self) ? ownCommit?.header.seq : change.processed?.seq
    const gone =
      commitSeq === undefined
        ? []
        : changes.removed.filter((m) => !bytesEqual(m, this.self)).map((member) => ({ groupId: group.id, member, ownerSeq: commitSeq, departedAt: at }))
    return { gone, back: changes.added }
  }

  /**
   * What a setting changes here: the shared name and description, and the
   * local name unless the user chose one (the owner's own rename is its
   * choice; a member's follows the owner, made unique among its groups).
   */
  #naming(group: LiveGroup, setting: GroupSetting): { setting: GroupSetting; label?: { name: string | null; chosen: boolean } } {
    if (bytesEqual(group.owner, this.self)) return { setting, label: { name: setting.name, chosen: true } }
    const row = this.#store.group(group.id)
    if (row === undefined || row.labelSet) return { setting }
    return { setting, label: { name: setting.name === null ? null : this.#uniqueName(group.id, setting.name), chosen: false } }
  }

  /** `wanted`, or `wanted-2`, `wanted-3`, … : the first that no other group here is named. */
  #uniqueName(groupId: Uint8Array, wanted: string): string {
    const taken = new Set(this.#store.groups().filter((g) => !bytesEqual(g.groupId, groupId) && g.name !== null).map((g) => g.name!))
    // Ends: among taken.size + 1 candidates at least one is free.
    for (let n = 1; ; n++) {
      const suffix = n === 1 ? '' : `-${n}`
      const candidate = `${wanted.slice(0, MAX_GROUP_NAME_LENGTH - suffix.length)}${suffix}`
      if (!taken.has(candidate)) return candidate
    }
  }

  #departedEntry(d: DepartedRow, owner: Uint8Array): DepartedEntry {
    return { groupId: d.groupId, owner, ownerSeq: d.ownerSeq, expiresAt: d.departedAt + DEPARTED_SHARE_MS }
  }

  /**
   * Drops departures older than {@link DEPARTED_SHARE_MS} and beyond
   * {@link MAX_DEPARTED}; `reload` (at start) also rebuilds the index, which
   * otherwise happens only when something was dropped.
   */
  #trimDeparted(reload: boolean): void {
    const dropped = this.#store.trimDeparted(this.now() - DEPARTED_SHARE_MS, MAX_DEPARTED)
    if (!reload && dropped === 0) return
    const owners = new Map(this.#store.groups().map((g) => [toHex(g.groupId), g.owner]))
    const entries = this.#store.departed().flatMap((d) => {
      const owner = owners.get(toHex(d.groupId))
      return owner === undefined ? [] : [{ member: d.member, entry: this.#departedEntry(d, owner) }]
    })
    this.#sharing.replaceDeparted(entries)
  }

  /**
   * After a transaction deleted key material: `secure_delete` zeroed it in
   * the pages that transaction wrote, but the WAL still holds earlier copies
   * of those pages; a truncating checkpoint writes the zeroed pages into the
   * database file and empties the WAL. Rare (a join, an expiry). A reader in
   * another process holding an old snapshot makes it wait (at most the busy
   * timeout) and stop short; the next one finishes the job.
   */
  #scrubDeleted(): void {
    this.#scrubDue = false
    this.#db.pragma('wal_checkpoint(TRUNCATE)')
  }

  /** Scrubs what deletions received in a processing pass removed (see {@link apply}). */
  scrubIfDue(): void {
    if (this.#scrubDue) this.#scrubDeleted()
  }

  #messageRow(group: LiveGroup, change: GroupChange, operations: readonly Operation[], receivedAt: number, file: FileRow | undefined): Omit<GroupMessage, 'id'> | undefined {
    const fileLog = file === undefined ? {} : { fileLog: file.logId }
    if (change.received !== undefined) return { groupId: group.id, receivedAt, ...change.received, ...fileLog }
    const carrier = operations[0]
    if (change.sent === undefined || carrier === undefined) return undefined
    return {
      groupId: group.id,
      author: this.self,
      seq: carrier.header.seq,
      epoch: Number(carrier.header.extensions.get('epoch')),
      plaintext: change.sent,
      receivedAt,
      sentAt: Number(carrier.header.extensions.get('ts')),
      ...fileLog,
    }
  }

  #rejectedRow(groupId: Uint8Array, rejected: Rejection, at: number): RejectedGroupOperation {
    const { op, code, epoch } = rejected
    return { hash: op.hash, groupId, author: op.header.author, seq: op.header.seq, epoch, code, rejectedAt: at }
  }

  /** Signs `writes` as the next operations of our log for `groupId`. */
  /** Our operations for `writes`, one list per write: a commit or Welcome too large for one operation comes in parts. */
  #sign(groupId: Uint8Array, writes: readonly OwnWrite[]): Operation[][] {
    if (writes.length === 0) return []
    const last = this.#logs.lastOperation(this.self, groupId)
    let seq = last === undefined ? 0 : last.header.seq + 1
    let backlink = last?.hash ?? null
    const ts = this.now()
    return writes.map((w) => {
      // `ts` dates every operation for the retention rules of the group (retention.ts).
      const extensions: Record<string, ExtensionValue> = { epoch: w.epoch, ts }
      if (w.delete !== undefined) extensions.delete = [...w.delete]
      if (w.prune === true) extensions.prune = true
      const payloads: (Uint8Array | undefined)[] = w.payload === undefined ? [undefined] : payloadOperations(w.payload, this.#maxPayloadBytes)
      return payloads.map((payload) => {
        const op = createOperation({ signer: this.#signer, logId: groupId, seq, backlink, ...(payload !== undefined ? { payload } : {}), extensions })
        seq += 1
        backlink = op.hash
        return op
      })
    })
  }

}
