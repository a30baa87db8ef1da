import { toHex } from '../../log/bytes.js'
import type { LogId } from '../../log/types.js'
import type { SyncPolicy, SyncStore } from './session.js'

/**
 * A log shared with a peer in part only, one way: the peer is told of and
 * sent only some authors' operations, each up to a bound, and nothing it
 * sends of the log is taken. Burrow's groups use it for a member that
 * departed (was removed, or left): it is still handed the owner's log up to
 * and including the commit that removed it, so that it learns of its
 * removal, and nothing else.
 */
export interface ShareLimit {
  /** The only authors (hex) whose operations the peer is told of and sent, each up to and including a seq. */
  readonly sendUpTo: ReadonlyMap<string, number>
}

/** A sync policy that may share some logs with some peers in part only. */
export interface SharePolicy extends SyncPolicy {
  /**
   * The part of `logId` shared with `peer`, when it is shared in part only
   * (`mayShare` is true); undefined when the peer has all of it, or none.
   * Asked for every frame and batch: answer from memory. No operations and
   * no ephemeral messages are taken from the peer on such a log, and none
   * of the latter are sent to it.
   */
  limit?(peer: string, logId: LogId): ShareLimit | undefined
  /**
   * The author (hex) whose operations of `logId` a catch-up sends after
   * everyone else's. Burrow's groups name the owner: its log holds the
   * commits, and a member keeps only the last few epochs' keys, so a commit
   * must not reach a member that catches up before the messages of the epoch
   * it ends (they would arrive too late to be read). From memory.
   */
  lastAuthor?(logId: LogId): string | undefined
}

/** `heights` (a fresh map) with `last`, when present, moved to its end: the session sends authors in this order. */
function withLast(heights: Map<string, number>, last: string | undefined): Map<string, number> {
  const height = last === undefined ? undefined : heights.get(last)
  if (height === undefined) return heights
  // A Map iterates in insertion order: deleting and setting again moves the entry to the end, in O(1).
  heights.delete(last!)
  heights.set(last!, height)
  return heights
}

/**
 * The log store as one peer's session sees it. A log shared with the peer in
 * part shows only the limited authors, up to their bound, in the heights we
 * announce and in what we send; what the peer sends of it never reaches the
 * store (counted as duplicates: dropped, never held against the peer). The
 * policy's `lastAuthor` of a log comes last in its heights, so last in a
 * catch-up. Other logs pass through untouched, so the session itself knows
 * nothing of limits.
 */
export function storeForPeer(store: SyncStore, policy: SharePolicy, peer: string): SyncStore {
  if (policy.limit === undefined && policy.lastAuthor === undefined) return store
  const limitOf = (logId: LogId): ShareLimit | undefined => policy.limit?.(peer, logId)
  return {
    heights(logId) {
      const heights = withLast(store.heights(logId), policy.lastAuthor?.(logId))
      const limit = limitOf(logId)
      if (limit === undefined) return heights
      const shown = new Map<string, number>()
      for (const [author, upTo] of limit.sendUpTo) {
        const height = heights.get(author)
        if (height !== undefined) shown.set(author, Math.min(height, upTo))
      }
      return shown
    },
    heightOf(logId, author) {
      const height = store.heightOf(logId, author)
      const limit = limitOf(logId)
      if (limit === undefined || height === undefined) return height
      const upTo = limit.sendUpTo.get(author)
      return upTo === undefined ? undefined : Math.min(height, upTo)
    },
    wireOperationsAfter(author, logId, afterSeq, max) {
      const limit = limitOf(logId)
      if (limit === undefined) return store.wireOperationsAfter(author, logId, afterSeq, max)
      const upTo = limit.sendUpTo.get(toHex(author))
      if (upTo === undefined || afterSeq >= upTo) return []
      // Seqs rise strictly: at most upTo - afterSeq rows can be at or below the bound (fewer when a log was pruned).
      return store.wireOperationsAfter(author, logId, afterSeq, Math.min(max, upTo - afterSeq)).filter((row) => row.seq <= upTo)
    },
    ingest(ops) {
      // One frame's operations, all of one log (the session checked).
      if (ops[0] === undefined || limitOf(ops[0].header.logId) === undefined) return store.ingest(ops)
      return { stored: 0, duplicates: ops.length, rejected: [], forks: [] }
    },
  }
}
