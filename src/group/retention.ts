import { bytesEqual, fromHex } from '../log/bytes.js'
import type { Operation } from '../log/types.js'
import type { GroupCore, LiveGroup, OwnWrite } from './core.js'
import { isApplicationPayload } from './payload.js'
import type { GroupEvent } from './types.js'

/** Operations read at a time by a sweep. */
const BATCH = 256

/** What one sweep of a group did. */
export interface SweepSummary {
  /** Payloads of application messages (and file announcements) deleted. */
  expired: number
  /** Operations pruned from members' logs. */
  pruned: number
  /** Whether this node wrote a prune point into its own log. */
  marked: boolean
}

/** The author's clock when it wrote `op`; 0 (expired under any period) when it did not say. */
function writtenAt(op: Operation): number {
  const ts = op.header.extensions.get('ts')
  return typeof ts === 'number' ? ts : 0
}

/**
 * A group's retention period, applied by every member to everything it
 * holds of the group, oldest first. Once an operation's `ts` is older than
 * the period:
 *
 * - an application message or file announcement (the payload's clear kind
 *   says so) loses its payload; its local-view entry goes, and a file its
 *   file log and key;
 * - a member's log is pruned below its newest prune point that the sweep
 *   has passed. Each member writes such a point (a clear operation without
 *   payload, `prune: true`) into its own group log once its previous one is
 *   older than a quarter of the period, so nothing it wrote lives much
 *   longer than 1¼ periods anywhere.
 *
 * MLS must never lose what a member still has to process: the sweep never
 * goes past this node's own processing cursor of an author (nothing not yet
 * decrypted is touched), it deletes only application payloads (commits,
 * proposals and Welcomes keep theirs), and it never prunes the owner's log,
 * whose commits a member that lags, or a joiner, still needs.
 */
export function sweepGroup(core: GroupCore, group: LiveGroup, periodMs: number, now: number, emit: (events: readonly GroupEvent[]) => void): SweepSummary {
  const summary: SweepSummary = { expired: 0, pruned: 0, marked: false }
  const cutoff = now - periodMs
  for (const authorKey of core.authors(group.id)) {
    const author = fromHex(authorKey)
    const own = bytesEqual(author, core.self)
    // Our own operations are never "processed": all of them are ours to judge.
    const processed = own ? Number.POSITIVE_INFINITY : core.cursor(group.id, author)
    const start = core.swept(group.id, author)
    let swept = start
    const hashes: Uint8Array[] = []
    const seqs: number[] = []
    scan: for (;;) {
      const ops = core.operationsAfter(author, group.id, swept, BATCH)
      for (const op of ops) {
        if (op.header.seq > processed || writtenAt(op) >= cutoff) break scan
        if (op.payload !== undefined && isApplicationPayload(op.payload)) {
          hashes.push(op.hash)
          seqs.push(op.header.seq)
        }
        swept = op.header.seq
      }
      if (ops.length < BATCH) break
    }
    const point = bytesEqual(author, group.owner) ? undefined : core.prunePoint(group.id, author, swept + 1)
    const before = core.operationsAfter(author, group.id, -1, 1)[0]?.header.seq
    const pruneBelow = point !== undefined && before !== undefined && point > before ? point : undefined
    if (swept === start && pruneBelow === undefined) continue
    emit(core.expire(group.id, author, { hashes, seqs, swept, ...(pruneBelow !== undefined ? { pruneBelow } : {}) }))
    summary.expired += hashes.length
    if (pruneBelow !== undefined) summary.pruned += pruneBelow - before!
  }
  const marker = markerDue(core, group, periodMs, now)
  if (marker !== undefined) {
    emit(core.apply(group, { append: [marker] }).events)
    summary.marked = true
  }
  return summary
}

/** A prune point for our own log, when one is due (never for the owner: see {@link sweepGroup}). */
function markerDue(core: GroupCore, group: LiveGroup, periodMs: number, now: number): OwnWrite | undefined {
  if (!group.active || bytesEqual(group.owner, core.self)) return undefined
  const tip = core.heightOf(group.id, core.self)
  if (tip === undefined) return undefined
  const point = core.prunePoint(group.id, core.self, tip)
  if (point === tip) return undefined // nothing written since the last one
  const since = core.operationsAfter(core.self, group.id, (point ?? -1) - 1, 1)[0]
  if (since === undefined || now - writtenAt(since) < periodMs / 4) return undefined
  return { epoch: Number(group.mls.epoch), prune: true }
}
