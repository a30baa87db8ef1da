import { EventEmitter } from 'node:events'
import { BurrowError } from '../errors.js'
import { GroupError, KeyPackageRefusedError, type GroupManager, type KeyPackageRequest } from '../group/index.js'
import { identityFingerprint } from '../keys/index.js'
import { bytesEqual, toHex } from '../log/index.js'
import type { Logger } from '../logging.js'
import { NetError, peerIdOfIdentityKey, type AddressTable, type PeerRecord } from '../net/index.js'
import type { PendingInviteRow, PendingInviteStore } from '../store/index.js'
import { NodeError } from './errors.js'
import type { GroupSummary } from './views.js'

/**
 * Bounds of the owner's invitation queue: how many may wait, for how long,
 * and how often one is retried while its invitee is connected.
 */
export const INVITE_QUEUE_LIMITS = Object.freeze({
  /** Invitations waiting in one group. */
  perGroup: 64,
  /** Invitations waiting in all. */
  total: 1024,
  /** How long one waits for its invitee (the invitee's key packages live 28 days; its pending invitations 7). */
  ttlMs: 7 * 24 * 60 * 60 * 1000,
  /** Between two attempts while the invitee is connected (a rate limit, a member not yet told of its removal). */
  retryMs: 30_000,
  /** How long an attempt started by `invite` keeps dialing an invitee that is not connected. */
  connectBudgetMs: 60_000,
})

/** How the queue reaches an invitee while the node runs. */
export interface InviteNetwork {
  isConnected(peerId: string): boolean
  /** Connects to `peer` (within `budgetMs`) and asks it for a key package for our group. */
  fetchKeyPackage(peer: PeerRecord, request: KeyPackageRequest, options: { budgetMs: number; signal?: AbortSignal }): Promise<Uint8Array>
}

/** An invitation waiting for its invitee. */
export interface PendingInviteView {
  /** Group id, hex. */
  groupId: string
  peerId: string
  /** The invitee's display name, from the allow-list. */
  name?: string
  /** The invitee's identity key, hex. */
  identityKey: string
  fingerprint: string
  /** When it was queued, ms since the Unix epoch. */
  since: number
  attempts: number
  lastAttemptAt?: number
  /** Why the last attempt did not complete. */
  lastError?: { code: string; message: string }
}

/** What became of an invitation: done at once, or queued until the invitee can be reached. */
export type InviteState = 'invited' | 'queued'

/** Options of `Burrow.invite` and {@link InviteQueue.invite}. */
export interface InviteOptions {
  /** Ends the wait (never the invitation, which stays queued). */
  signal?: AbortSignal
  /**
   * When the invitee is not connected: try to reach it first (within
   * {@link INVITE_QUEUE_LIMITS.connectBudgetMs}), and answer `queued` only if
   * that fails (true, the default); or answer `queued` at once and try in
   * the background (false: what the local API does, so that the CLI can say
   * at once that it waits).
   */
  reachFirst?: boolean
}

/** What `Burrow.invite` returns: the state, the group, and the queued invitation when it waits. */
export interface InviteOutcome {
  state: InviteState
  group: GroupSummary
  invite?: PendingInviteView
}

/** An invitation changed state: `queued` (again, after an attempt that did not complete), `invited`, `failed` (dropped for good), `cancelled`. */
export interface InviteEvent {
  groupId: string
  peerId: string
  name?: string
  state: 'queued' | 'invited' | 'failed' | 'cancelled'
  error?: { code: string; message: string }
}

/** Refusals by the invitee that no retry will change. */
const FINAL_REFUSALS = new Set(['GROUP_ID_NOT_OWNED', 'MALFORMED_REQUEST'])

/** Local errors that no retry will change: the group, our role in it, the peer, or the key package it gave. */
function isFinal(err: unknown): boolean {
  if (err instanceof KeyPackageRefusedError) return FINAL_REFUSALS.has(err.refusal)
  if (!(err instanceof BurrowError)) return false
  return (
    err.code.startsWith('MLS_') ||
    ['GROUP_NOT_FOUND', 'GROUP_NOT_OWNER', 'GROUP_INACTIVE', 'GROUP_ID_UNBOUND', 'GROUP_INVALID_ARGUMENT', 'PEER_UNKNOWN', 'NODE_INVITE_EXPIRED'].includes(err.code)
  )
}

function errorJson(err: unknown): { code: string; message: string } {
  return err instanceof BurrowError ? { code: err.code, message: err.message } : { code: 'NODE_INVITE_FAILED', message: 'the invitation failed unexpectedly; see the node log' }
}

const key = (groupId: Uint8Array, peer: Uint8Array): string => `${toHex(groupId)}:${toHex(peer)}`

/**
 * The owner's invitations, queued until the invitee can be reached: stored
 * (so they survive a restart), tried at once when the invitee is connected,
 * again whenever it connects, and every {@link INVITE_QUEUE_LIMITS.retryMs}
 * while it stays connected and the last try did not complete; dropped when
 * done, cancelled, refused for good, or older than a week. One attempt per
 * invitation at a time. An attempt fetches a fresh key package over
 * `/burrow/keypackage/1` and commits the add (`GroupManager.invite`).
 */
export class InviteQueue extends EventEmitter<{ invite: [InviteEvent] }> {
  readonly #groups: GroupManager
  readonly #table: AddressTable
  readonly #store: PendingInviteStore
  readonly #log: Logger
  readonly #now: () => number
  readonly #inFlight = new Map<string, Promise<InviteState>>()
  #net: InviteNetwork | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(options: { groups: GroupManager; table: AddressTable; store: PendingInviteStore; logger: Logger; now?: () => number }) {
    super()
    this.#groups = options.groups
    this.#table = options.table
    this.#store = options.store
    this.#log = options.logger
    this.#now = options.now ?? Date.now
  }

  /**
   * Queues the invitation of `peer` into our group and tries it: `invited`
   * when the attempt completes, `queued` when it does not (the invitee is
   * away: it is tried again whenever it connects, and a `group:invite` event
   * tells the outcome). An invitee that is not connected is first dialed for
   * up to a minute, unless `reachFirst` is false (see {@link InviteOptions}).
   * When the node is not running the invitation is only queued. Throws the
   * error of an attempt that no retry will change (the invitation is then
   * dropped), `GROUP_ALREADY_A_MEMBER`, or `NODE_INVITE_QUEUE_FULL`.
   */
  async invite(groupId: Uint8Array, peer: PeerRecord, options: InviteOptions = {}): Promise<InviteState> {
    const group = this.#groups.get(groupId)
    if (group?.members.some((m) => bytesEqual(m, peer.identityKey)) === true) {
      const who = peer.displayName ?? `the peer with fingerprint ${identityFingerprint(peer.identityKey)}`
      throw new GroupError('GROUP_ALREADY_A_MEMBER', `${who} already is a member of ${group.name !== null ? `group "${group.name}"` : 'the group'}`)
    }
    if (this.#store.get(groupId, peer.identityKey) === undefined) {
      if (this.#store.count(groupId) >= INVITE_QUEUE_LIMITS.perGroup) throw new NodeError('NODE_INVITE_QUEUE_FULL', `${INVITE_QUEUE_LIMITS.perGroup} invitations already wait in this group`)
      if (this.#store.count() >= INVITE_QUEUE_LIMITS.total) throw new NodeError('NODE_INVITE_QUEUE_FULL', `${INVITE_QUEUE_LIMITS.total} invitations already wait`)
      this.#store.add(groupId, peer.identityKey, this.#now())
    }
    const net = this.#net
    if (net === undefined) return 'queued'
    if (options.reachFirst === false && !net.isConnected(peer.peerId)) {
      void this.#attempt(groupId, peer.identityKey, INVITE_QUEUE_LIMITS.connectBudgetMs).catch(() => {})
      return 'queued'
    }
    return this.#attempt(groupId, peer.identityKey, INVITE_QUEUE_LIMITS.connectBudgetMs, options.signal)
  }

  /** Drops a queued invitation (an attempt under way may still complete). Throws `NODE_INVITE_NOT_QUEUED`. */
  cancel(groupId: Uint8Array, peer: PeerRecord): PendingInviteView {
    const row = this.#store.get(groupId, peer.identityKey)
    if (row === undefined || !this.#store.remove(groupId, peer.identityKey)) throw new NodeError('NODE_INVITE_NOT_QUEUED')
    this.#emit(row, 'cancelled')
    return this.#view(row)
  }

  /** Queued invitations, of one group or all, oldest first. */
  list(groupId?: Uint8Array): PendingInviteView[] {
    return this.#store
      .all()
      .filter((r) => groupId === undefined || bytesEqual(r.groupId, groupId))
      .map((r) => this.#view(r))
  }

  /** Starts trying queued invitations over `net` (the node runs). */
  start(net: InviteNetwork): void {
    this.#net = net
    this.#timer = setInterval(() => this.#sweep(), INVITE_QUEUE_LIMITS.retryMs)
    this.#timer.unref()
    this.#sweep()
  }

  /** Stops trying (attempts under way end with the node's network). */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#net = undefined
  }

  /** An invitee connected: its queued invitations are tried now. */
  peerConnected(peerId: string): void {
    const identity = this.#table.identityKeyOf(peerId)
    if (identity === undefined || this.#net === undefined) return
    for (const row of this.#store.all()) {
      if (bytesEqual(row.peer, identity)) void this.#attempt(row.groupId, row.peer, INVITE_QUEUE_LIMITS.connectBudgetMs).catch(() => {})
    }
  }

  /** Drops what expired; retries, for connected invitees, what was not tried lately. */
  #sweep(): void {
    const now = this.#now()
    for (const row of this.#store.all()) {
      if (row.createdAt <= now - INVITE_QUEUE_LIMITS.ttlMs) {
        this.#store.remove(row.groupId, row.peer)
        this.#emit(row, 'failed', new NodeError('NODE_INVITE_EXPIRED'))
        continue
      }
      const due = (row.lastAttemptAt ?? -Infinity) <= now - INVITE_QUEUE_LIMITS.retryMs
      if (due && this.#net?.isConnected(peerIdOfIdentityKey(row.peer)) === true) {
        void this.#attempt(row.groupId, row.peer, INVITE_QUEUE_LIMITS.connectBudgetMs).catch(() => {})
      }
    }
  }

  /** One attempt at an invitation (or the one under way): `invited`, `queued` again, or the final error. */
  #attempt(groupId: Uint8Array, peerKey: Uint8Array, budgetMs: number, signal?: AbortSignal): Promise<InviteState> {
    const id = key(groupId, peerKey)
    const running = this.#inFlight.get(id)
    if (running !== undefined) return running
    const attempt = this.#try(groupId, peerKey, budgetMs, signal).finally(() => this.#inFlight.delete(id))
    this.#inFlight.set(id, attempt)
    return attempt
  }

  async #try(groupId: Uint8Array, peerKey: Uint8Array, budgetMs: number, signal?: AbortSignal): Promise<InviteState> {
    const row = this.#store.get(groupId, peerKey)
    const net = this.#net
    if (row === undefined || net === undefined) return row === undefined ? 'invited' : 'queued'
    try {
      const peer = this.#table.get(peerIdOfIdentityKey(peerKey))
      if (peer === undefined) throw new NetError('PEER_UNKNOWN', 'the invitee is no longer on the allow-list')
      const nonce = this.#groups.ownershipNonce(groupId)
      const keyPackage = await net.fetchKeyPackage(peer, { groupId, nonce }, { budgetMs, ...(signal !== undefined ? { signal } : {}) })
      await this.#groups.invite(groupId, peerKey, keyPackage)
      return this.#done(row)
    } catch (err) {
      // Done meanwhile (a restart between the commit and dropping the row, or a second attempt).
      if (err instanceof BurrowError && err.code === 'GROUP_ALREADY_A_MEMBER') return this.#done(row)
      if (isFinal(err)) {
        this.#store.remove(groupId, peerKey)
        this.#emit(row, 'failed', err)
        throw err
      }
      const error = errorJson(err)
      this.#store.recordFailure(groupId, peerKey, this.#now(), error)
      this.#log.info({ group: toHex(groupId).slice(0, 12), code: error.code }, 'invitation still waits for its invitee')
      this.#emit(row, 'queued', err)
      return 'queued'
    }
  }

  #done(row: PendingInviteRow): InviteState {
    this.#store.remove(row.groupId, row.peer)
    this.#emit(row, 'invited')
    return 'invited'
  }

  #emit(row: PendingInviteRow, state: InviteEvent['state'], err?: unknown): void {
    const view = this.#view(row)
    this.emit('invite', {
      groupId: view.groupId,
      peerId: view.peerId,
      ...(view.name !== undefined ? { name: view.name } : {}),
      state,
      ...(err !== undefined ? { error: errorJson(err) } : {}),
    })
  }

  #view(row: PendingInviteRow): PendingInviteView {
    const identityKey = toHex(row.peer)
    const peerId = peerIdOfIdentityKey(row.peer)
    const name = this.#table.get(peerId)?.displayName
    return {
      groupId: toHex(row.groupId),
      peerId,
      ...(name !== undefined ? { name } : {}),
      identityKey,
      fingerprint: identityFingerprint(row.peer),
      since: row.createdAt,
      attempts: row.attempts,
      ...(row.lastAttemptAt !== undefined ? { lastAttemptAt: row.lastAttemptAt } : {}),
      ...(row.lastError !== undefined ? { lastError: row.lastError } : {}),
    }
  }
}
