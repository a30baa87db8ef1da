import type { Database, Statement } from 'better-sqlite3'

/** An invitation the owner queued until the invitee can be reached (table `group_pending_invites`, migration 5). */
export interface PendingInviteRow {
  readonly groupId: Uint8Array
  /** Identity key of the invitee. */
  readonly peer: Uint8Array
  readonly createdAt: number
  /** Attempts made so far (connect, key package, commit). */
  readonly attempts: number
  readonly lastAttemptAt?: number
  /** Why the last attempt did not complete. */
  readonly lastError?: { readonly code: string; readonly message: string }
}

interface Row {
  group_id: Buffer
  peer: Buffer
  created_at: number
  attempts: number
  last_attempt_at: number | null
  last_error_code: string | null
  last_error: string | null
}

function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

function toRow(r: Row): PendingInviteRow {
  return {
    groupId: plain(r.group_id),
    peer: plain(r.peer),
    createdAt: r.created_at,
    attempts: r.attempts,
    ...(r.last_attempt_at !== null ? { lastAttemptAt: r.last_attempt_at } : {}),
    ...(r.last_error_code !== null ? { lastError: { code: r.last_error_code, message: r.last_error ?? '' } } : {}),
  }
}

/** SQL of the owner's queued invitations: plain rows; the rules (bounds, expiry, retries) live in the node's invite queue. */
export class PendingInviteStore {
  readonly #stmt: {
    insert: Statement<[Uint8Array, Uint8Array, number]>
    remove: Statement<[Uint8Array, Uint8Array]>
    get: Statement<[Uint8Array, Uint8Array], Row>
    all: Statement<[], Row>
    count: Statement<[], { n: number }>
    countGroup: Statement<[Uint8Array], { n: number }>
    attempted: Statement<[number, string, string, Uint8Array, Uint8Array]>
    expire: Statement<[number]>
  }

  constructor(db: Database) {
    this.#stmt = {
      insert: db.prepare('INSERT OR IGNORE INTO group_pending_invites (group_id, peer, created_at) VALUES (?, ?, ?)'),
      remove: db.prepare('DELETE FROM group_pending_invites WHERE group_id = ? AND peer = ?'),
      get: db.prepare('SELECT * FROM group_pending_invites WHERE group_id = ? AND peer = ?'),
      all: db.prepare('SELECT * FROM group_pending_invites ORDER BY created_at, group_id, peer'),
      count: db.prepare('SELECT COUNT(*) AS n FROM group_pending_invites'),
      countGroup: db.prepare('SELECT COUNT(*) AS n FROM group_pending_invites WHERE group_id = ?'),
      attempted: db.prepare(
        `UPDATE group_pending_invites SET attempts = attempts + 1, last_attempt_at = ?, last_error_code = ?, last_error = ?
         WHERE group_id = ? AND peer = ?`,
      ),
      expire: db.prepare('DELETE FROM group_pending_invites WHERE created_at <= ?'),
    }
  }

  /** Queues an invitation; a second one for the same group and peer is the same invitation. Returns the stored row. */
  add(groupId: Uint8Array, peer: Uint8Array, at: number): PendingInviteRow {
    this.#stmt.insert.run(groupId, peer, at)
    return this.get(groupId, peer)!
  }

  /** Drops an invitation (done, cancelled or failed); false when none was queued. */
  remove(groupId: Uint8Array, peer: Uint8Array): boolean {
    return this.#stmt.remove.run(groupId, peer).changes > 0
  }

  get(groupId: Uint8Array, peer: Uint8Array): PendingInviteRow | undefined {
    const row = this.#stmt.get.get(groupId, peer)
    return row === undefined ? undefined : toRow(row)
  }

  /** Every queued invitation, oldest first. */
  all(): PendingInviteRow[] {
    return this.#stmt.all.all().map(toRow)
  }

  /** Queued invitations in total, or for one group. */
  count(groupId?: Uint8Array): number {
    return (groupId === undefined ? this.#stmt.count.get() : this.#stmt.countGroup.get(groupId))!.n
  }

  /** Records an attempt that did not complete, and why. */
  recordFailure(groupId: Uint8Array, peer: Uint8Array, at: number, error: { code: string; message: string }): void {
    this.#stmt.attempted.run(at, error.code, error.message.slice(0, 500), groupId, peer)
  }

  /** Drops the invitations queued at or before `createdAt`; returns how many. */
  expire(createdAt: number): number {
    return this.#stmt.expire.run(createdAt).changes
  }
}
