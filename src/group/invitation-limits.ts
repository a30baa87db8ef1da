/**
 * What an inviter may cost us. Every key package we hand out leaves a pending
 * invitation (a stored private key package, and the group log shared with
 * the inviter until its Welcome arrives), and any allow-listed peer may ask
 * for one, for any group id of its own. These bounds keep a hostile peer's
 * requests from growing our state or our work without end, while a person
 * inviting someone never meets them.
 */
export interface InvitationLimits {
  /** Key packages one inviter obtains at once before the rate applies. */
  readonly requestBurst: number
  /** After the burst, one more key package per this many ms. */
  readonly requestIntervalMs: number
  /** Pending invitations from one inviter. */
  readonly pendingPerInviter: number
  /** Pending invitations from everyone together. */
  readonly pendingTotal: number
  /** A pending invitation (and its private key package) is deleted this long after it was made. */
  readonly pendingTtlMs: number
}

/**
 * The defaults, and why a person never meets them:
 * - 16 at once, then one a minute: an owner asks once per invitation, so this
 *   is 16 invitations from one person within a minute, then one a minute.
 * - 32 pending per inviter: a Welcome normally arrives within seconds of the
 *   key package; 32 invitations from one person that stay unanswered for a
 *   week do not happen.
 * - 2,048 in total: 64 inviters at their cap; the rows are about 450 bytes
 *   each (under 1 MiB), and sharing checks do not depend on the count.
 * - 7 days: covers an owner who went offline right after inviting and comes
 *   back within the week; well inside the key package's own 26 days, and a
 *   private key package that nobody used does not outlive a week.
 */
export const INVITATION_LIMITS: InvitationLimits = {
  requestBurst: 16,
  requestIntervalMs: 60_000,
  pendingPerInviter: 32,
  pendingTotal: 2048,
  pendingTtlMs: 7 * 24 * 3600 * 1000,
}

/**
 * Token buckets per key: `burst` takes at once, then one more per
 * `intervalMs`. Kept by hand rather than with @libp2p/utils' RateLimiter,
 * which counts fixed windows against the wall clock with a timer per key (no
 * injectable clock for tests) and would tie the group layer to libp2p. One
 * bucket per inviter that ever asked: inviters are allow-listed peers, so
 * the map is as small as the allow-list.
 */
export class RequestRate {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  readonly #burst: number
  readonly #intervalMs: number
  readonly #now: () => number

  constructor(burst: number, intervalMs: number, now: () => number) {
    this.#burst = burst
    this.#intervalMs = intervalMs
    this.#now = now
  }

  /** Takes one token of `key`'s bucket; false (and nothing taken) when it is empty. */
  take(key: string): boolean {
    const now = this.#now()
    const bucket = this.#buckets.get(key)
    const tokens = bucket === undefined ? this.#burst : Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.at) / this.#intervalMs)
    const allowed = tokens >= 1
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now })
    return allowed
  }
}
