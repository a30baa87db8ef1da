import type { EventEmitter } from 'node:events'
import type { Database } from 'better-sqlite3'
import type { Logger } from '../logging.js'
import { bytesEqual, toHex } from '../log/bytes.js'
import { createOperation } from '../log/operation.js'
import type { Operation, Signer } from '../log/types.js'
import type { LogStore } from '../store/log-store.js'
import type { GroupStore, OwnProposal, RejectedGroupOperation, GroupMessage } from './group-store.js'
import { MlsGroup, type MlsIdentity } from './mls/index.js'
import { encodeGroupPayload, type GroupPayload } from './payload.js'
import { GroupRoster } from './roster.js'
import type { GroupInfo, GroupManagerEvents } from './types.js'

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

/** An operation for this node's own log: a payload and the epoch it belongs to. */
export interface OwnWrite {
  readonly payload: GroupPayload
  readonly epoch: number
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
  /** The consumed operation could not be used: record it under this error code. */
  readonly rejected?: { readonly op: Operation; readonly code: string; readonly epoch: number | null }
}

/** What {@link GroupCore.apply} wrote. */
export interface AppliedChange {
  readonly operations: Operation[]
  readonly message: GroupMessage | undefined
}

/** Options of {@link GroupCore}. */
export interface GroupCoreOptions {
  readonly db: Database
  readonly logs: LogStore
  readonly store: GroupStore
  readonly identity: MlsIdentity
  readonly signer: Signer
  readonly events: EventEmitter<GroupManagerEvents>
  readonly logger: Logger
  readonly now: () => number
}

/** Bytewise order, for stable member lists. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

function sameMembers(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((m) => b.some((n) => bytesEqual(m, n)))
}

/**
 * The loaded groups and the one way their state changes: {@link apply}, which
 * signs this node's new operations and stores them, the MLS state, cursors
 * and local-view rows in one transaction, then updates memory and emits
 * events. Callers serialize their use (the manager's queue).
 */
export class GroupCore {
  readonly db: Database
  readonly logs: LogStore
  readonly store: GroupStore
  readonly identity: MlsIdentity
  readonly self: Uint8Array
  readonly now: () => number
  readonly logger: Logger
  readonly #signer: Signer
  readonly #events: EventEmitter<GroupManagerEvents>
  readonly #live = new Map<string, LiveGroup>()

  constructor(options: GroupCoreOptions) {
    this.db = options.db
    this.logs = options.logs
    this.store = options.store
    this.identity = options.identity
    this.self = options.signer.publicKey
    this.now = options.now
    this.logger = options.logger
    this.#signer = options.signer
    this.#events = options.events
  }

  /** The group with its MLS state, loaded once and cached; undefined if unknown here. */
  load(groupId: Uint8Array): LiveGroup | undefined {
    const key = toHex(groupId)
    const cached = this.#live.get(key)
    if (cached !== undefined) return cached
    const row = this.store.group(groupId)
    if (row === undefined) return undefined
    const roster = new GroupRoster(this.store.members(groupId))
    const group: LiveGroup = {
      id: row.groupId.slice(),
      owner: row.owner.slice(),
      joinedEpoch: row.joinedEpoch,
      roster,
      mls: MlsGroup.decodeState(row.state, this.identity, roster.accepts),
      active: row.active,
      ownProposal: row.ownProposal,
    }
    this.#live.set(key, group)
    return group
  }

  /**
   * Stores a group this node just created or joined from a Welcome. A join
   * also records the Welcome's position in the owner's log (everything before
   * it is unreadable to us) and drops our key packages for the group.
   */
  adopt(input: {
    readonly mls: MlsGroup
    readonly roster: GroupRoster
    readonly owner: Uint8Array
    readonly name: string | null
    readonly welcomeSeq?: number
  }): LiveGroup {
    const { mls, roster, owner } = input
    const groupId = mls.groupId
    const members = mls.members().sort(compareBytes)
    const epoch = Number(mls.epoch)
    this.db.transaction(() => {
      this.store.insertGroup(
        {
          groupId,
          name: input.name,
          owner,
          state: mls.encodeState(),
          epoch,
          joinedEpoch: epoch,
          active: true,
          ownProposal: null,
          createdAt: this.now(),
        },
        members,
      )
      if (input.welcomeSeq !== undefined) {
        this.store.setCursor(groupId, owner, input.welcomeSeq)
        this.store.deleteInvitations(groupId)
      }
    }).immediate()
    roster.reset(members)
    const group: LiveGroup = { id: groupId, owner: owner.slice(), joinedEpoch: epoch, roster, mls, active: true, ownProposal: null }
    this.#live.set(toHex(groupId), group)
    return group
  }

  /** What the API tells about a group, from its stored row; undefined if unknown here. */
  info(groupId: Uint8Array): GroupInfo | undefined {
    const row = this.store.group(groupId)
    if (row === undefined) return undefined
    return {
      id: row.groupId,
      name: row.name,
      owner: row.owner,
      isOwner: bytesEqual(row.owner, this.self),
      epoch: row.epoch,
      members: this.store.members(groupId),
      active: row.active,
    }
  }

  /** Persists one step (see {@link GroupChange}) atomically, then updates memory and emits events. */
  apply(group: LiveGroup, change: GroupChange): AppliedChange {
    const previous = group.mls
    const next = change.next ?? previous
    const epochChanged = next.epoch !== previous.epoch
    const ownProposal = change.ownProposal !== undefined ? change.ownProposal : epochChanged ? null : group.ownProposal
    const operations = this.#sign(group.id, change.append ?? [])
    const members = change.next === undefined ? undefined : next.members().sort(compareBytes)
    const membersChanged = members !== undefined && !sameMembers(members, previous.members())
    const receivedAt = this.now()
    let message: GroupMessage | undefined
    this.db.transaction(() => {
      for (const op of operations) this.logs.append(op)
      if (change.next !== undefined || ownProposal !== group.ownProposal) {
        this.store.updateState(group.id, { state: next.encodeState(), epoch: Number(next.epoch), active: next.active, ownProposal })
      }
      if (membersChanged) this.store.setMembers(group.id, members)
      if (change.processed !== undefined) this.store.setCursor(group.id, change.processed.author, change.processed.seq)
      const row = this.#messageRow(group, change, operations, receivedAt)
      if (row !== undefined) message = { id: this.store.insertMessage(row), ...row }
      if (change.rejected !== undefined) this.store.insertRejected(this.#rejectedRow(group, change.rejected, receivedAt))
    }).immediate()

    const wasActive = group.active
    group.mls = next
    group.active = next.active
    group.ownProposal = ownProposal
    if (members !== undefined) group.roster.reset(members)
    if (operations.length > 0) this.emit('appended', operations)
    if (message !== undefined) this.emit('message', message)
    if (epochChanged || membersChanged) {
      this.emit('changed', { groupId: group.id, epoch: Number(next.epoch), members: members ?? this.store.members(group.id) })
    }
    if (wasActive && !next.active) this.emit('removed', { groupId: group.id })
    return { operations, message }
  }

  /** Emits an event; a throwing listener is logged, never allowed to abort processing of committed work. */
  emit<K extends keyof GroupManagerEvents>(event: K, ...args: GroupManagerEvents[K]): void {
    try {
      // The generic EventEmitter typing cannot follow K through the rest parameter.
      ;(this.#events.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args)
    } catch (err) {
      this.logger.error({ event, code: (err as { code?: unknown }).code }, 'group event listener threw')
    }
  }

  #messageRow(
    group: LiveGroup,
    change: GroupChange,
    operations: readonly Operation[],
    receivedAt: number,
  ): Omit<GroupMessage, 'id'> | undefined {
    if (change.received !== undefined) return { groupId: group.id, receivedAt, ...change.received }
    const carrier = operations[0]
    if (change.sent === undefined || carrier === undefined) return undefined
    return {
      groupId: group.id,
      author: this.self,
      seq: carrier.header.seq,
      epoch: Number(carrier.header.extensions.get('epoch')),
      plaintext: change.sent,
      receivedAt,
    }
  }

  #rejectedRow(group: LiveGroup, rejected: NonNullable<GroupChange['rejected']>, at: number): RejectedGroupOperation {
    const { op, code, epoch } = rejected
    return { hash: op.hash, groupId: group.id, author: op.header.author, seq: op.header.seq, epoch, code, rejectedAt: at }
  }

  /** Signs `writes` as the next operations of our log for `groupId`. */
  #sign(groupId: Uint8Array, writes: readonly OwnWrite[]): Operation[] {
    if (writes.length === 0) return []
    const tip = this.logs.heights(groupId).get(toHex(this.self))
    let seq = tip === undefined ? 0 : tip + 1
    let backlink = tip === undefined ? null : (this.logs.operationsAfter(this.self, groupId, tip - 1, 1)[0]?.hash ?? null)
    return writes.map((w) => {
      const op = createOperation({
        signer: this.#signer,
        logId: groupId,
        seq,
        backlink,
        payload: encodeGroupPayload(w.payload),
        extensions: { epoch: w.epoch },
      })
      seq += 1
      backlink = op.hash
      return op
    })
  }
}
