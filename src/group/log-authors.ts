import { fromHex, toHex } from '../log/bytes.js'

/**
 * Authors a group log takes from sync, at most, beyond its members: see
 * {@link GroupLogAuthors}. A joiner meets every member that departed before
 * it joined as an unknown author, so this is also how much of a group's past
 * churn a joiner stores; a group with more departures than this leaves the
 * oldest writers' operations to the members that can read them.
 */
export const MAX_UNVERIFIED_AUTHORS = 1024

/**
 * Which authors a group log takes from sync.
 *
 * Anyone can sign an operation for any log, so a member could fill a group
 * log shared with us with operations of made-up authors. Each would cost us
 * storage and every peer sharing the log a remembered height per session,
 * and past the session's bound (`SessionLimits.maxRememberedHeights`) every
 * session with an honest member would end. The roster cannot decide alone:
 * a member added by a commit we have not processed, the inviter before our
 * Welcome, and members that departed before we joined (a joiner learns the
 * roster, not its past) are unknown here and still write to the log.
 *
 * So a group log takes the operations of its members and of authors it
 * already holds, and of at most {@link MAX_UNVERIFIED_AUTHORS} authors that
 * are not members. A member refused while its commit was unprocessed is
 * fetched again once the commit is: the group's epoch change makes sync ask
 * every peer for what we lack (wiring.ts).
 */
export class GroupLogAuthors {
  /** Per group log (hex): the authors held or taken that were not members when counted. */
  readonly #unverified = new Map<string, Set<string>>()

  /**
   * @param isMember - whether an identity key is a current member of the group (or this node)
   * @param held - the authors (hex) whose operations the store holds in a log
   */
  constructor(
    private readonly isMember: (author: Uint8Array, groupId: Uint8Array) => boolean,
    private readonly held: (logId: Uint8Array) => Iterable<string>,
  ) {}

  /** Whether the group log takes an operation of `author`; a new non-member is counted from here on. */
  accepts(logId: Uint8Array, author: Uint8Array): boolean {
    if (this.isMember(author, logId)) return true
    const key = toHex(logId)
    let unverified = this.#unverified.get(key)
    if (unverified === undefined) {
      unverified = new Set()
      for (const a of this.held(logId)) if (!this.isMember(fromHex(a), logId)) unverified.add(a)
      this.#unverified.set(key, unverified)
    }
    const authorKey = toHex(author)
    if (unverified.has(authorKey)) return true
    if (unverified.size >= MAX_UNVERIFIED_AUTHORS) return false
    unverified.add(authorKey)
    return true
  }

  /** The group's members changed: count its log's non-members again when next asked. */
  forget(groupId: Uint8Array): void {
    this.#unverified.delete(toHex(groupId))
  }
}

