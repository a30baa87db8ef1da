import { EventEmitter } from 'node:events'
import type { CircEvent, TorControl, TorEvent } from './control/index.js'

/** Why a {@link NetworkWatch} took tor for offline. */
export type OfflineReason = 'failing' | 'stalled'

/** Events of a {@link NetworkWatch}. */
export interface NetworkWatchEvents {
  /**
   * Tor cannot reach the network: its circuits and relay connections have
   * been failing for {@link OFFLINE_AFTER_MS} (`failing`), or a circuit it
   * is building has had no answer for {@link STALLED_AFTER_MS} while no other
   * made any progress (`stalled`).
   */
  offline: [{ reason: OfflineReason }]
  /** A relay answered again after {@link NetworkWatchEvents.offline | offline}: a hop extended, a circuit built, a relay connection opened. */
  online: [{ offlineMs: number }]
}

/**
 * How long tor may go with failures and no success before it counts as
 * offline. A healthy tor follows a failed circuit with a built one within
 * seconds; a dropped link fails every attempt (measured on the live profile:
 * an OR connection attempt failed every 1–8 s for the whole 45-s drop).
 */
export const OFFLINE_AFTER_MS = 15_000
/**
 * How long a circuit may be under construction, with nothing else making
 * progress, before tor counts as offline. Relays that stop answering without
 * closing anything (every relay of the live profile frozen with SIGSTOP)
 * make no failures for tor to report: its circuits wait for their build
 * timeout (30 s on the private network, up to 60 s by tor's default
 * `CircuitBuildTimeout`), fail, and new ones wait again; a tor with nothing
 * to do reported one failure in two minutes. 60 s is past any circuit a
 * healthy tor still waits for.
 */
export const STALLED_AFTER_MS = 60_000
/** Failures needed before the offline timer runs: one failed circuit on a healthy network is not an outage. */
const FAILURES_BEFORE_OFFLINE = 3
/**
 * A timer this late means the process was frozen (a sleep): what it
 * measured spans the freeze, so the watch starts over.
 */
const LATE_TIMER_MS = 5_000
/** Circuits under construction kept track of; tor builds a handful at a time, so more means ends were missed. */
const MAX_BUILDING = 1_000

/**
 * Whether our tor reaches the Tor network, judged from its own `CIRC` and
 * `ORCONN` events: failed circuits and relay connections, and circuits that
 * get no answer, against progress (a hop extended, a circuit built, a relay
 * connection opened).
 *
 * Tor's own `NETWORK_LIVENESS` does not serve: with every link of a client
 * tor dropped for 45 s, and with every relay frozen for 2 minutes (live
 * profile), it stayed `up`, as did `status/circuit-established`; it learns
 * liveness from circuit build times, which a private network's
 * `LearnCircuitBuildTimeout 0` switches off. Nor does tor recover by
 * itself: after a 2-minute drop its onion service stayed unreachable (every
 * introduction failed) for more than 2 minutes. What Burrow does about it is
 * `node/`'s; this only says when.
 *
 * A `BUILT` counts only for a circuit seen launched: tor sends `BUILT` again
 * when it gives a built circuit a new purpose (a prebuilt one taken for a
 * rendezvous), which says nothing of the network now (seen with every relay
 * frozen).
 *
 * Raw event lines it reads:
 * ```
 * 650 CIRC 18 LAUNCHED BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY,NEED_UPTIME PURPOSE=HS_VANGUARDS
 * 650 CIRC 12 FAILED $AB…~relay1 PURPOSE=HS_SERVICE_INTRO REASON=TIMEOUT
 * 650 CIRC 13 EXTENDED $AB…~relay1 PURPOSE=GENERAL
 * 650 CIRC 13 BUILT $AB…~relay1,$CD…~relay2 PURPOSE=GENERAL
 * 650 ORCONN $82C4…~relay3 FAILED REASON=CONNECTRESET ID=12
 * 650 ORCONN $82C4…~relay3 CONNECTED ID=58
 * ```
 */
export class NetworkWatch extends EventEmitter<NetworkWatchEvents> {
  readonly #control: TorControl
  readonly #offlineAfterMs: number
  readonly #stalledAfterMs: number
  readonly #now: () => number
  #lastProgress: number
  /** Circuits seen launched and not yet built or ended: id → when launched. */
  readonly #building = new Map<string, number>()
  #failures = 0
  #troubleSince: number | undefined
  #lastFailure: number | undefined
  /** When the trouble that made tor offline began; undefined while online. */
  #offlineSince: number | undefined
  #timer: NodeJS.Timeout | undefined
  /** When the timer is due; undefined when none runs. */
  #timerDue: number | undefined
  readonly #onCirc = (ev: CircEvent): void => {
    const id = ev.circuitId
    if (ev.status === 'LAUNCHED') {
      if (this.#building.size >= MAX_BUILDING) this.#building.clear()
      this.#building.set(id, this.#now())
      this.#judge()
    } else if (ev.status === 'EXTENDED') this.#progress()
    else if (ev.status === 'BUILT') {
      if (this.#building.delete(id)) this.#progress()
    } else if (ev.status === 'FAILED') {
      this.#building.delete(id)
      this.#failure()
    } else if (ev.status === 'CLOSED') {
      this.#building.delete(id)
      this.#judge()
    }
  }
  readonly #onEvent = (ev: TorEvent): void => {
    if (ev.type !== 'ORCONN' || !('raw' in ev)) return
    const status = ev.raw.split(' ')[2]
    if (status === 'CONNECTED') this.#progress()
    // CLOSED with REASON=DONE is an idle connection tor closed itself.
    else if (status === 'FAILED' || (status === 'CLOSED' && !/ REASON=DONE\b/.test(ev.raw))) this.#failure()
  }

  /** Watches `control`, which must be subscribed to `CIRC` and `ORCONN`. */
  constructor(control: TorControl, options: { offlineAfterMs?: number; stalledAfterMs?: number; now?: () => number } = {}) {
    super()
    this.#control = control
    this.#offlineAfterMs = options.offlineAfterMs ?? OFFLINE_AFTER_MS
    this.#stalledAfterMs = options.stalledAfterMs ?? STALLED_AFTER_MS
    this.#now = options.now ?? Date.now
    this.#lastProgress = this.#now()
    control.on('CIRC', this.#onCirc)
    control.on('event', this.#onEvent)
  }

  /** True from `offline` until the next `online`. */
  get offline(): boolean {
    return this.#offlineSince !== undefined
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#control.off('CIRC', this.#onCirc)
    this.#control.off('event', this.#onEvent)
  }

  #failure(): void {
    const now = this.#now()
    // Failures count together only when close in time: one before a long pause (a sleep) and two after it are not an outage.
    if (this.#lastFailure !== undefined && now - this.#lastFailure > this.#offlineAfterMs) {
      this.#failures = 0
      this.#troubleSince = undefined
    }
    this.#lastFailure = now
    this.#troubleSince ??= now
    this.#failures++
    this.#judge()
  }

  #progress(): void {
    const now = this.#now()
    this.#lastProgress = now
    this.#failures = 0
    this.#troubleSince = undefined
    const since = this.#offlineSince
    this.#offlineSince = undefined
    // Arms the timer for circuits still under construction.
    this.#judge()
    if (since !== undefined) this.emit('online', { offlineMs: now - since })
  }

  /** Goes offline if either rule says so by now; otherwise sets the timer for when one would. */
  #judge(): void {
    const now = this.#now()
    // Late whether the timer itself or an event queued during the freeze comes first.
    if (this.#timerDue !== undefined && now - this.#timerDue > LATE_TIMER_MS) this.#startOver()
    clearTimeout(this.#timer)
    this.#timerDue = undefined
    if (this.#offlineSince !== undefined) return
    const failingAt = this.#failures >= FAILURES_BEFORE_OFFLINE && this.#troubleSince !== undefined ? this.#troubleSince + this.#offlineAfterMs : undefined
    const oldest = this.#building.size === 0 ? undefined : Math.min(...this.#building.values())
    const stalledFrom = oldest === undefined ? undefined : Math.max(oldest, this.#lastProgress)
    const stalledAt = stalledFrom === undefined ? undefined : stalledFrom + this.#stalledAfterMs
    const due = Math.min(failingAt ?? Infinity, stalledAt ?? Infinity)
    if (due === Infinity) return
    if (due <= now) {
      const reason: OfflineReason = due === failingAt ? 'failing' : 'stalled'
      this.#offlineSince = reason === 'failing' ? (this.#troubleSince ?? now) : (stalledFrom ?? now)
      this.emit('offline', { reason })
      return
    }
    this.#timerDue = due
    this.#timer = setTimeout(() => this.#judge(), due - now)
    this.#timer.unref()
  }

  /** After a freeze of the process: nothing measured before it counts. */
  #startOver(): void {
    const now = this.#now()
    this.#lastProgress = now
    for (const id of this.#building.keys()) this.#building.set(id, now)
    this.#failures = 0
    this.#troubleSince = undefined
    this.#lastFailure = undefined
  }
}
