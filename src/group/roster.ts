import { toHex } from '../log/bytes.js'
import type { Roster } from './mls/index.js'

/**
 * The roster one group's MLS state checks credentials against: the group's
 * current members, plus, only while a call runs inside {@link admitting},
 * identities the owner vouches for.
 *
 * Why "admitting": the owner is the only one who adds members. The owner
 * itself admits exactly the invitee while it builds the add-commit; a member
 * admits whoever the owner's commit adds (that commit was already proven to
 * come from the owner by the log signature, and its MLS sender is checked
 * right after), and a joiner admits the members its Welcome names. Every
 * other MLS call sees only the current members. Calls on one group are
 * serialized by the manager, so the window never overlaps another call.
 */
export class GroupRoster {
  readonly #members = new Set<string>()
  #admitted: ((identity: Uint8Array) => boolean) | undefined

  /** The function handed to the MLS core. */
  readonly accepts: Roster = (identity) => this.#members.has(toHex(identity)) || this.#admitted?.(identity) === true

  constructor(members: readonly Uint8Array[] = []) {
    this.reset(members)
  }

  /** Replaces the member set (after every state change). */
  reset(members: readonly Uint8Array[]): void {
    this.#members.clear()
    for (const m of members) this.#members.add(toHex(m))
  }

  /** Runs `fn` with `admit` also accepted, and restores the plain member check afterwards. */
  async admitting<T>(admit: (identity: Uint8Array) => boolean, fn: () => Promise<T>): Promise<T> {
    this.#admitted = admit
    try {
      return await fn()
    } finally {
      this.#admitted = undefined
    }
  }
}

/** Admits anyone: for the calls where the owner's authority stands in for the roster (see {@link GroupRoster}). */
export const ADMIT_ANY = (): boolean => true
