/**
 * Tor's own view of the circuits a benchmark drives. Once a second, tor's
 * CIRC_BW event gives each busy circuit's bytes and its congestion-control
 * state (proposal 324: congestion window in cells, EWMA and minimum RTT).
 * Watched on the sending side, it tells a catch-up held back by its circuit
 * (a small window) from one held back by Burrow (a circuit with room to spare).
 */
import { parseKeyValues, TorControl, type RawTorEvent } from '../../src/tor/control/index.js'
import type { Tor } from '../../src/tor/index.js'
import { percentile } from './report.js'

/** One second of one circuit, as tor reported it. */
interface CircuitSecond {
  at: number
  circuit: string
  written: number
  cwnd: number
  rttMs: number
  minRttMs: number
}

/** The circuit that carried most of a transfer, from tor's side. */
export interface CircuitSummary {
  /** Median congestion window over the transfer's seconds, in cells (498 data bytes each). */
  cwndCells: number
  /** Tor's minimum RTT for the circuit at the end, in ms: the base its queue estimate is measured against. */
  minRttMs: number
  /** Median of tor's smoothed RTT over the transfer's seconds, in ms. */
  rttMs: number
}

/** Seconds kept: a benchmark reads only the last transfer's. */
const MAX_SECONDS = 5_000

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50)

/** Records CIRC_BW of one tor on a control connection of its own (the node's subscriptions stay untouched). */
export class CircuitWatch {
  readonly #control: TorControl
  readonly #seconds: CircuitSecond[] = []
  #since = 0

  private constructor(control: TorControl) {
    this.#control = control
    control.on('CIRC_BW', (ev: RawTorEvent) => {
      const kv = parseKeyValues(ev.raw)
      const written = Number(kv.WRITTEN ?? 0)
      // Circuits without congestion control (no CWND), and idle seconds, say nothing here.
      if (kv.ID === undefined || kv.CWND === undefined || !(written > 0)) return
      this.#seconds.push({ at: Date.now(), circuit: kv.ID, written, cwnd: Number(kv.CWND), rttMs: Number(kv.RTT), minRttMs: Number(kv.MIN_RTT) })
      if (this.#seconds.length > MAX_SECONDS) this.#seconds.splice(0, this.#seconds.length - MAX_SECONDS)
    })
  }

  static async start(tor: Tor): Promise<CircuitWatch> {
    const { control, auth } = tor.controlAccess
    const connection = await TorControl.connect(control)
    await connection.authenticate(auth)
    await connection.setEvents(['CIRC_BW'])
    return new CircuitWatch(connection)
  }

  /** Starts a transfer: {@link busiest} looks only at what follows. */
  mark(): void {
    this.#since = Date.now()
  }

  /** The circuit that wrote the most since {@link mark}, or undefined if none reported yet. */
  busiest(): CircuitSummary | undefined {
    const recent = this.#seconds.filter((s) => s.at >= this.#since)
    const bytes = new Map<string, number>()
    for (const s of recent) bytes.set(s.circuit, (bytes.get(s.circuit) ?? 0) + s.written)
    const top = [...bytes].sort((a, b) => b[1] - a[1])[0]?.[0]
    if (top === undefined) return undefined
    const seconds = recent.filter((s) => s.circuit === top)
    return { cwndCells: median(seconds.map((s) => s.cwnd)), minRttMs: seconds.at(-1)!.minRttMs, rttMs: median(seconds.map((s) => s.rttMs)) }
  }

  close(): Promise<void> {
    return this.#control.close()
  }
}
