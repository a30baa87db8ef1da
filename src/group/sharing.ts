import { toHex } from '../log/bytes.js'
import { NestedMap } from './nested-map.js'

/** A pending invitation as the index keeps it: no key material, only who and until when. */
interface Pending {
  readonly groupId: Uint8Array
  readonly inviterKey: Uint8Array
  readonly group: string
  readonly inviter: string
  readonly expiresAt: number
}

/**
 * How long a member that departed (was removed, or left) is still handed the
 * owner's log up to the commit that removed it, so that it learns of its
 * removal: long enough for a device that stays off for weeks.
 */
export const DEPARTED_SHARE_MS = 30 * 24 * 60 * 60 * 1000

/** Departed members remembered at most, the oldest departures forgotten first: each costs a row and a few map entries. */
export const MAX_DEPARTED = 4096

/** A departed member's part of a group log: the owner's operations up to its removal, until `expiresAt`. */
export interface DepartedEntry {
  readonly groupId: Uint8Array
  readonly owner: Uint8Array
  /** Seq of the owner's commit that removed it: sent up to and including it. */
  readonly ownerSeq: number
  readonly expiresAt: number
}

/**
 * Who each group log is shared with, in memory: the members of every active
 * group, the inviter of every pending invitation until it expires, and, in
 * part, every member that departed lately (until its entry expires). The
 * sync policy asks for every received frame, so a question costs a few map
 * lookups whatever the number of groups and invitations. `GroupCore` updates
 * it right after each transaction that changes what it mirrors, and builds
 * it from the database when it opens. Keys are lower-case hex.
 */
export class SharingIndex {
  /** Active groups: group → member. */
  readonly #members = new NestedMap<true>()
  /** The same, by member: member → group → group id. */
  readonly #groupsOf = new NestedMap<Uint8Array>()
  /** Every pending invitation (one per stored key package), for the counts and expiry. */
  #pending: Pending[] = []
  /** Pending invitations: group → inviter → latest expiry of that pair's invitations. */
  #invited = new NestedMap<number>()
  /** The same, by inviter: inviter → group → group id. */
  #invitedBy = new NestedMap<Uint8Array>()
  readonly #pendingOf = new Map<string, number>()
  #nextExpiry = Infinity
  /** Departed members: group → member → what is still shared with it. */
  readonly #departed = new NestedMap<DepartedEntry>()
  /** The same, by member: member → group → group id. */
  readonly #departedFrom = new NestedMap<Uint8Array>()
  /** Keepers this node shares an active group with (the owner's list, once allowed here): group → keeper. */
  readonly #keepers = new NestedMap<true>()
  /** The same, by keeper: keeper → group → group id. */
  readonly #keptBy = new NestedMap<Uint8Array>()

  /** Sets the members of a group, or forgets them once it is inactive here. */
  setGroup(groupId: Uint8Array, members: readonly Uint8Array[], active: boolean): void {
    const group = toHex(groupId)
    for (const member of [...this.#members.keys(group)]) {
      this.#members.delete(group, member)
      this.#groupsOf.delete(member, group)
    }
    if (!active) {
      this.setKeepers(groupId, [])
      return
    }
    const id = groupId.slice()
    for (const m of members) {
      const member = toHex(m)
      this.#members.set(group, member, true)
      this.#groupsOf.set(member, group, id)
    }
  }

  /**
   * Sets the keepers a group's logs and file logs are shared with in full,
   * beside its members (empty: none; the caller passes the owner's list only
   * once it is allowed here).
   */
  setKeepers(groupId: Uint8Array, keepers: readonly Uint8Array[]): void {
    const group = toHex(groupId)
    for (const keeper of [...this.#keepers.keys(group)]) {
      this.#keepers.delete(group, keeper)
      this.#keptBy.delete(keeper, group)
    }
    for (const k of keepers) {
      const keeper = toHex(k)
      this.#keepers.set(group, keeper, true)
      this.#keptBy.set(keeper, group, groupId.slice())
    }
  }

  /** Whether `peer` is a keeper of group `logId` that this node shares it with. */
  isKeeper(peer: Uint8Array, logId: Uint8Array): boolean {
    return this.#keepers.get(toHex(logId), toHex(peer)) === true
  }

  /** Records a pending invitation to `groupId` from `inviter`, shared with it until `expiresAt`. */
  addInvitation(groupId: Uint8Array, inviter: Uint8Array, expiresAt: number): void {
    this.#add({ groupId: groupId.slice(), inviterKey: inviter.slice(), group: toHex(groupId), inviter: toHex(inviter), expiresAt })
  }

  /** Forgets the pending invitations to a group (joined: its key packages were deleted). */
  dropInvitations(groupId: Uint8Array): void {
    const group = toHex(groupId)
    this.#keepPending((p) => p.group !== group)
  }

  /** Forgets the invitations expired at `now`. */
  dropExpired(now: number): void {
    this.#keepPending((p) => p.expiresAt > now)
  }

  /** The earliest expiry of a pending invitation (Infinity when there is none). */
  get nextExpiry(): number {
    return this.#nextExpiry
  }

  /** Pending invitations in total, or from `inviter`. */
  pendingCount(inviter?: Uint8Array): number {
    return inviter === undefined ? this.#pending.length : (this.#pendingOf.get(toHex(inviter)) ?? 0)
  }

  /** Distinct (group, inviter) pairs of the invitations pending at `now`. */
  pendingPairs(now: number): { groupId: Uint8Array; inviter: Uint8Array }[] {
    const out: { groupId: Uint8Array; inviter: Uint8Array }[] = []
    const seen = new Set<string>()
    for (const p of this.#pending) {
      const key = `${p.group}:${p.inviter}`
      if (p.expiresAt <= now || seen.has(key)) continue
      seen.add(key)
      out.push({ groupId: p.groupId.slice(), inviter: p.inviterKey.slice() })
    }
    return out
  }

  /** Records a member that departed a group: what it may still have, until when. */
  setDeparted(member: Uint8Array, entry: DepartedEntry): void {
    const group = toHex(entry.groupId)
    this.#departed.set(group, toHex(member), { ...entry, groupId: entry.groupId.slice(), owner: entry.owner.slice() })
    this.#departedFrom.set(toHex(member), group, entry.groupId.slice())
  }

  /** Forgets a departed member of a group (it is a member again, or its entry expired). */
  dropDeparted(groupId: Uint8Array, member: Uint8Array): void {
    this.#forgetDeparted(toHex(groupId), toHex(member))
  }

  /** Replaces every departed entry (after the store dropped expired or excess ones). */
  replaceDeparted(entries: readonly { member: Uint8Array; entry: DepartedEntry }[]): void {
    for (const group of [...this.#departed.outerKeys()]) for (const member of [...this.#departed.keys(group)]) this.#forgetDeparted(group, member)
    for (const { member, entry } of entries) this.setDeparted(member, entry)
  }

  /** Forgets every departed member of a group (we left it: we serve it to nobody). */
  dropAllDeparted(groupId: Uint8Array): void {
    const group = toHex(groupId)
    for (const member of [...this.#departed.keys(group)]) this.#forgetDeparted(group, member)
  }

  #forgetDeparted(group: string, member: string): void {
    this.#departed.delete(group, member)
    this.#departedFrom.delete(member, group)
  }

  /**
   * What is shared with `peer` of group log `logId` when it departed the
   * group and is not a member again: its entry, or undefined (a member, an
   * inviter, a stranger, or an entry expired at `now`).
   */
  departed(peer: Uint8Array, logId: Uint8Array, now: number): DepartedEntry | undefined {
    const group = toHex(logId)
    const member = toHex(peer)
    if (this.#members.get(group, member) === true || this.#keepers.get(group, member) === true) return undefined
    const entry = this.#departed.get(group, member)
    return entry !== undefined && entry.expiresAt > now ? entry : undefined
  }

  /**
   * For a group we await a Welcome to (invited, not an active member): whether
   * `peer` is one of its inviters at `now`. Undefined for any other log.
   */
  awaitedInviter(peer: Uint8Array, logId: Uint8Array, now: number): boolean | undefined {
    const group = toHex(logId)
    const inviters = this.#invited.inner(group)
    if (inviters === undefined || this.#members.inner(group) !== undefined) return undefined
    return (inviters.get(toHex(peer)) ?? -Infinity) > now
  }

  /** The groups whose every invitation has expired at `now` (ids, by hex key). */
  expiredGroups(now: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>()
    for (const p of this.#pending) if (p.expiresAt <= now) out.set(p.group, p.groupId)
    for (const p of this.#pending) if (p.expiresAt > now) out.delete(p.group)
    return out
  }

  /** Whether `peer` is a current member of group `logId` (by our view of the group). */
  isMember(peer: Uint8Array, logId: Uint8Array): boolean {
    return this.#members.get(toHex(logId), toHex(peer)) === true
  }

  /** Whether group log `logId` is shared with `peer` at `now` (in part only, for a departed member). */
  mayShare(peer: Uint8Array, logId: Uint8Array, now: number): boolean {
    const group = toHex(logId)
    const member = toHex(peer)
    return (
      this.#members.get(group, member) === true ||
      this.#keepers.get(group, member) === true ||
      (this.#invited.get(group, member) ?? -Infinity) > now ||
      (this.#departed.get(group, member)?.expiresAt ?? -Infinity) > now
    )
  }

  /** The group logs shared with `peer` at `now`. */
  sharedLogs(peer: Uint8Array, now: number): Uint8Array[] {
    const member = toHex(peer)
    const out = new Map<string, Uint8Array>(this.#groupsOf.inner(member))
    for (const [group, id] of this.#keptBy.inner(member) ?? []) out.set(group, id)
    for (const [group, id] of this.#invitedBy.inner(member) ?? []) {
      if (!out.has(group) && (this.#invited.get(group, member) ?? -Infinity) > now) out.set(group, id)
    }
    for (const [group, id] of this.#departedFrom.inner(member) ?? []) {
      if (!out.has(group) && (this.#departed.get(group, member)?.expiresAt ?? -Infinity) > now) out.set(group, id)
    }
    return [...out.values()].map((id) => id.slice())
  }

  #add(p: Pending): void {
    this.#pending.push(p)
    this.#pendingOf.set(p.inviter, (this.#pendingOf.get(p.inviter) ?? 0) + 1)
    this.#invited.set(p.group, p.inviter, Math.max(p.expiresAt, this.#invited.get(p.group, p.inviter) ?? -Infinity))
    this.#invitedBy.set(p.inviter, p.group, p.groupId)
    this.#nextExpiry = Math.min(this.#nextExpiry, p.expiresAt)
  }

  /** Keeps only the invitations `keep` accepts, rebuilding their maps (rare: a join, an expiry; at most the total cap of entries). */
  #keepPending(keep: (p: Pending) => boolean): void {
    const kept = this.#pending.filter(keep)
    if (kept.length === this.#pending.length) return
    this.#pending = []
    this.#pendingOf.clear()
    this.#invited = new NestedMap()
    this.#invitedBy = new NestedMap()
    this.#nextExpiry = Infinity
    for (const p of kept) this.#add(p)
  }
}
