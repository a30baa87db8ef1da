import { EventEmitter } from 'node:events'
import type { CircEvent, TorControl, TorEvent } from './control/index.js'

/** Events of a {@link NetworkWatch}. */
export interface NetworkWatchEvents {
  /** Tor has failed to reach the network for {@link OFFLINE_AFTER_MS}: circuits and relay connections fail, none succeeds. */
  offline: []
  /** Tor built a circuit or opened a relay connection again after being {@link NetworkWatchEvents.offline | offline}. */
  online: [{ offlineMs: number }]
}

/**
 * How long tor may go with failures and no success before it counts as
 * offline. A healthy tor follows a failed circuit with a built one within
 * seconds; a dropped link fails every attempt (measured on the live profile:
 * an OR connection attempt failed every 1–8 s for the whole 45-s drop).
 */
export const OFFLINE_AFTER_MS = 15_000
/** Failures needed before the offline timer runs: one failed circuit on a healthy network is not an outage. */
const FAILURES_BEFORE_OFFLINE = 3

/**
 * Whether our tor reaches the Tor network, judged from its own `CIRC` and
 * `ORCONN` events: failed circuits and failed or reset relay connections
 * against built circuits and opened relay connections.
 *
 * Tor's own `NETWORK_LIVENESS` does not serve: with every link of a client
 * tor dropped for 45 s (live profile), it stayed `up`, as did
 * `status/circuit-established`, while every OR connection attempt failed
 * with CONNECTRESET; it learns liveness from circuit build times, which a
 * private network's `LearnCircuitBuildTimeout 0` switches off. Nor does tor
 * recover by itself: after a 2-minute drop its onion service stayed
 * unreachable (every introduction failed) for more than 2 minutes. What
 * Burrow does about it is `node/`'s; this only says when.
 *
 * Raw event lines it reads:
 * ```
 * 650 CIRC 12 FAILED $AB…~relay1 PURPOSE=HS_SERVICE_INTRO REASON=TIMEOUT
 * 650 CIRC 13 BUILT $AB…~relay1,$CD…~relay2 PURPOSE=GENERAL
 * 650 ORCONN $82C4…~relay3 FAILED REASON=CONNECTRESET ID=12
 * 650 ORCONN $82C4…~relay3 CONNECTED ID=58
 * ```
 */
export class NetworkWatch extends EventEmitter<NetworkWatchEvents> {
  readonly #control: TorControl
  readonly #offlineAfterMs: number
  readonly #now: () => number
  #failures = 0
  #troubleSince: number | undefined
  #lastFailure: number | undefined
  #offline = false
  #timer: NodeJS.Timeout | undefined
  readonly #onCirc = (ev: CircEvent): void => {
    if (ev.status === 'BUILT') this.#success()
    else if (ev.status === 'FAILED') this.#failure()
  }
  readonly #onEvent = (ev: TorEvent): void => {
    if (ev.type !== 'ORCONN' || !('raw' in ev)) return
    const status = ev.raw.split(' ')[2]
    if (status === 'CONNECTED') this.#success()
    // CLOSED with REASON=DONE is an idle connection tor closed itself.
    else if (status === 'FAILED' || (status === 'CLOSED' && !/ REASON=DONE\b/.test(ev.raw))) this.#failure()
  }

  /** Watches `control`, which must be subscribed to `CIRC` and `ORCONN`. */
  constructor(control: TorControl, options: { offlineAfterMs?: number; now?: () => number } = {}) {
    super()
    this.#control = control
    this.#offlineAfterMs = options.offlineAfterMs ?? OFFLINE_AFTER_MS
    this.#now = options.now ?? Date.now
    control.on('CIRC', this.#onCirc)
    control.on('event', this.#onEvent)
  }

  /** True from `offline` until the next `online`. */
  get offline(): boolean {
    return this.#offline
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#control.off('CIRC', this.#onCirc)
    this.#control.off('event', this.#onEvent)
  }

  #failure(): void {
    const now = this.#now()
    // Failures count together only when close in time: one before a long pause (a sleep) and two after it are not an outage.
    if (this.#lastFailure !== undefined && now - this.#lastFailure > this.#offlineAfterMs && !this.#offline) {
      clearTimeout(this.#timer)
      this.#failures = 0
      this.#troubleSince = undefined
    }
    this.#lastFailure = now
    this.#troubleSince ??= now
    if (++this.#failures !== FAILURES_BEFORE_OFFLINE || this.#offline) return
    const wait = Math.max(0, this.#troubleSince + this.#offlineAfterMs - this.#now())
    this.#timer = setTimeout(() => {
      this.#offline = true
      this.emit('offline')
    }, wait)
    this.#timer.unref()
  }

  #success(): void {
    clearTimeout(this.#timer)
    const since = this.#troubleSince
    this.#failures = 0
    this.#troubleSince = undefined
    if (!this.#offline) return
    this.#offline = false
    this.emit('online', { offlineMs: this.#now() - (since ?? this.#now()) })
  }
}
