import type { Logger } from '../logging.js'
import { backoffDelay, sleep } from '../util/async.js'
import { listen } from '../util/events.js'
import type { PeerConnector } from '../net/index.js'
import type { Tor } from '../tor/index.js'
import type { OnionAccess } from './onion-access.js'
import { WakeWatch } from './wake-watch.js'

/** Why the node is coming back. */
export type RecoveryReason = 'wake' | 'network'

/** What the node hears from a {@link Recovery}. */
export interface RecoveryHooks {
  /** A recovery starts: the node was away (asleep, or tor offline) for `awayMs`. */
  started(e: { reason: RecoveryReason; awayMs: number }): void
  /** Our onion passed its self-check again, `ms` after the recovery started. */
  reachable(e: { ms: number; republished: boolean }): void
  /** Tor went offline: peers cannot reach us until it is back. */
  offline(): void
}

/**
 * One round (fresh circuits, self-check, re-publication, self-check) may take
 * this long: a re-publication waits for descriptor uploads (3.4–4.3 s on the
 * live profile), each self-check for a first dial (3–10 s there, up to 30 s
 * on the live network).
 */
const ROUND_MS = 120_000
/** Rounds after one trigger; between them 10, 20, 40, 60 s (with jitter). A new wake or `online` starts over. */
const MAX_ROUNDS = 5
const RETRY_BASE_MS = 10_000
const RETRY_MAX_MS = 60_000

/**
 * Brings a running node back after it was away: a sleep (the {@link
 * WakeWatch} sees the clocks jump) or a network outage (tor's `offline` then
 * `online`). Each round tells tor to start afresh (`ACTIVE`, `NEWNYM`: new
 * circuits, and its memory of failed introduction points dropped), dials
 * every peer at once (their backoff grew while nothing could work, and dials
 * begun before are abandoned), checks after a sleep that our own onion is
 * reachable and re-publishes it if not (after an outage, at once), then
 * dials again. Peers' own connectors may have backed off for minutes; our dials
 * are what reconnects, and sync catches up on the new connections.
 *
 * Measured on the live profile: docs/testnet.md ("Sleep, wake and outages").
 */
export class Recovery {
  readonly #tor: Tor
  readonly #access: OnionAccess
  readonly #connector: PeerConnector
  readonly #hooks: RecoveryHooks
  readonly #log: Logger
  readonly #wake = new WakeWatch()
  readonly #detach: (() => void)[] = []
  /** Aborts the round in progress: a new trigger, `offline`, or stop. */
  #round = new AbortController()
  #running: Promise<void> | undefined
  #stopped = false

  constructor(parts: { tor: Tor; access: OnionAccess; connector: PeerConnector }, hooks: RecoveryHooks, logger: Logger) {
    this.#tor = parts.tor
    this.#access = parts.access
    this.#connector = parts.connector
    this.#hooks = hooks
    this.#log = logger
  }

  /** Starts watching for wakes and for tor going offline and online. */
  start(): void {
    this.#wake.start()
    this.#detach.push(
      listen(this.#wake, 'wake', ({ awayMs }) => this.trigger('wake', awayMs)),
      listen(this.#tor, 'online', ({ offlineMs }) => this.trigger('network', offlineMs)),
      listen(this.#tor, 'offline', () => {
        // Nothing can work until tor is back; its `online` starts a recovery.
        this.#round.abort()
        this.#hooks.offline()
      }),
    )
  }

  /** Starts a recovery now, ending one in progress (its waits and checks are abandoned). */
  trigger(reason: RecoveryReason, awayMs: number): void {
    if (this.#stopped) return
    this.#log.info({ reason, awayMs }, 'the node was away; reconnecting')
    this.#hooks.started({ reason, awayMs })
    this.#round.abort()
    const previous = this.#running ?? Promise.resolve()
    const run: Promise<void> = previous.then(() => this.#rounds(reason)).finally(() => {
      if (this.#running === run) this.#running = undefined
    })
    this.#running = run
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#wake.stop()
    for (const off of this.#detach.splice(0)) off()
    this.#round.abort()
    await this.#running?.catch(() => {})
  }

  async #rounds(reason: RecoveryReason): Promise<void> {
    const round = new AbortController()
    this.#round = round
    const started = Date.now()
    for (let attempt = 0; attempt < MAX_ROUNDS; attempt++) {
      if (round.signal.aborted || this.#stopped) return
      try {
        await this.#tor.freshStart(round.signal)
        this.#connector.redialAll({ abandonDials: true })
        const bound = AbortSignal.any([round.signal, AbortSignal.timeout(ROUND_MS)])
        // After a wake the service may still stand; after an outage its introduction circuits are gone.
        const republished = reason === 'wake' ? (await this.#access.recheck(bound)).republished : (await this.#access.renew(bound), true)
        this.#log.info({ ms: Date.now() - started, republished }, 'our onion is reachable again')
        this.#hooks.reachable({ ms: Date.now() - started, republished })
        // Peers whose dials failed while we checked (the dials this round began are kept).
        this.#connector.redialAll()
        return
      } catch (err) {
        if (round.signal.aborted || this.#stopped) return
        const delayMs = backoffDelay(attempt, RETRY_BASE_MS, RETRY_MAX_MS)
        this.#log.warn({ attempt: attempt + 1, delayMs, reason: err instanceof Error ? err.message : String(err) }, 'recovery round failed')
        await sleep(delayMs, round.signal).catch(() => {})
      }
    }
  }
}
