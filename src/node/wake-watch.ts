import { EventEmitter } from 'node:events'

/** Options of a {@link WakeWatch}; the clocks are injectable for tests. */
export interface WakeWatchOptions {
  /** How often the clocks are read. Default 5 s. */
  tickMs?: number
  /** A tick this much later than due counts as a wake. Default {@link WAKE_JUMP_MS}. */
  jumpMs?: number
  /** Milliseconds of the wall clock (default `Date.now`) and of a monotonic one (default `performance.now`). */
  clocks?: { wall: () => number; monotonic: () => number }
}

/**
 * A tick this much late means the process did not run (20 s). Above what
 * our own work can hold the event loop for (an MLS join of a 1,000-member
 * group: 14 s of CPU), well under the 100 s from which tor itself treats a
 * clock jump as a sleep. A false alarm costs one self-check and a NEWNYM.
 */
export const WAKE_JUMP_MS = 20_000

/**
 * Notices that this process has not run for a while, from a timer that
 * compares two clocks with its own period:
 * - a laptop's suspend stops the monotonic clock that Node's timers follow,
 *   so the tick comes on time by that clock while the wall clock has jumped;
 * - SIGSTOP (a frozen container, VM or debugger) moves both clocks, and the
 *   tick comes that much late by both.
 * Either way the later of the two gaps, less the period, is the time away.
 * A wall clock set backwards is not a sleep and is ignored.
 */
export class WakeWatch extends EventEmitter<{ wake: [{ awayMs: number }] }> {
  readonly #tickMs: number
  readonly #jumpMs: number
  readonly #wall: () => number
  readonly #monotonic: () => number
  #timer: NodeJS.Timeout | undefined
  #lastWall = 0
  #lastMonotonic = 0

  constructor(options: WakeWatchOptions = {}) {
    super()
    this.#tickMs = options.tickMs ?? 5_000
    this.#jumpMs = options.jumpMs ?? WAKE_JUMP_MS
    this.#wall = options.clocks?.wall ?? Date.now
    this.#monotonic = options.clocks?.monotonic ?? (() => performance.now())
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#lastWall = this.#wall()
    this.#lastMonotonic = this.#monotonic()
    this.#timer = setInterval(() => this.check(), this.#tickMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Reads both clocks (the timer calls this; tests may too) and emits `wake` after a jump. */
  check(): void {
    const wall = this.#wall()
    const monotonic = this.#monotonic()
    const awayMs = Math.max(wall - this.#lastWall, monotonic - this.#lastMonotonic) - this.#tickMs
    this.#lastWall = wall
    this.#lastMonotonic = monotonic
    if (awayMs >= this.#jumpMs) this.emit('wake', { awayMs: Math.round(awayMs) })
  }
}
