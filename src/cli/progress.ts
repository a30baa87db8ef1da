import type { BootstrapProgress } from '../tor/index.js'
import { printableLine } from './format.js'

/** A stream lines are written to; `columns` is a terminal's width, `resize` its change. */
export interface LineStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
  on?(event: 'resize', listener: () => void): unknown
  off?(event: 'resize', listener: () => void): unknown
}

const ERASE_LINE = '\r\x1b[2K'
const DEFAULT_COLUMNS = 80
const BAR_CELLS = { min: 10, max: 30 }
/** Below this width a bar does not fit: only the percentage is drawn. */
const NARROW_COLUMNS = 30

/**
 * Output of a long-running command: whole lines on stdout and stderr, plus on
 * a terminal one progress line at the bottom of stderr. Any other line first
 * erases the progress line and then draws it again below itself, so nothing
 * ever lands on it.
 */
export class LineOutput {
  /** Draws the progress line for a terminal width; set while one is shown. */
  #progress: ((columns: number) => string) | undefined

  constructor(
    readonly stdout: LineStream,
    readonly stderr: LineStream,
  ) {}

  /** Whether a redrawn progress line can be shown (stderr is a terminal). */
  get terminal(): boolean {
    return this.stderr.isTTY === true
  }

  /** The terminal's width, for fitting a progress line. */
  get columns(): number {
    return this.stderr.columns !== undefined && this.stderr.columns > 0 ? this.stderr.columns : DEFAULT_COLUMNS
  }

  out(line: string): void {
    this.#around(() => this.stdout.write(`${line}\n`))
  }

  err(line: string): void {
    this.#around(() => this.stderr.write(`${line}\n`))
  }

  /**
   * Shows the progress line `render` draws for the terminal's width, or
   * erases it when `undefined`; ignored unless stderr is a terminal.
   */
  progress(render: ((columns: number) => string) | undefined): void {
    if (!this.terminal) return
    if (render === undefined && this.#progress === undefined) return
    this.#progress = render
    this.stderr.write(`${ERASE_LINE}${render?.(this.columns) ?? ''}`)
  }

  /** Redraws the progress line whenever the terminal is resized, until the returned function is called. */
  redrawOnResize(): () => void {
    const redraw = (): void => this.progress(this.#progress)
    this.stderr.on?.('resize', redraw)
    return () => void this.stderr.off?.('resize', redraw)
  }

  /** Leaves the progress line as it stands (where a stop interrupted it) and goes on below it. */
  endProgress(): void {
    if (this.#progress === undefined) return
    this.#progress = undefined
    this.stderr.write('\n')
  }

  #around(write: () => void): void {
    if (this.#progress !== undefined) this.stderr.write(ERASE_LINE)
    write()
    if (this.#progress !== undefined) this.stderr.write(this.#progress(this.columns))
  }
}

/**
 * Progress (tor's bootstrap, a file transfer) as one line of at most `columns - 1` characters
 * (the last column would wrap on some terminals): the label, a bar of 10-30
 * cells, the percentage, and as much of tor's summary as fits.
 */
export function progressLine(label: string, p: Pick<BootstrapProgress, 'progress' | 'summary'>, columns: number): string {
  const pct = Math.max(0, Math.min(100, Math.round(p.progress)))
  const percent = `${String(pct).padStart(3)}%`
  const room = columns - 1
  if (room < NARROW_COLUMNS) return `${label} ${percent}`.slice(0, room)
  const summary = printableLine(p.summary).replace(/\s+/g, ' ')
  // `label [` + bar + `] ` + percent + ` ` + summary
  const fixed = label.length + 2 + 2 + percent.length + 1
  const cells = Math.max(BAR_CELLS.min, Math.min(BAR_CELLS.max, room - fixed - summary.length))
  const filled = Math.round((pct / 100) * cells)
  const left = Math.max(0, room - fixed - cells)
  const shown = summary.length <= left ? summary : left > 1 ? `${summary.slice(0, left - 1)}…` : ''
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(cells - filled)}] ${percent} ${shown}`.trimEnd()
}

/**
 * Draws tor's bootstrap progress: a redrawn bar that fits the terminal, or
 * without a terminal one plain line per new bootstrap phase (logs and CI stay
 * readable).
 */
export function bootstrapProgressPrinter(
  label: string,
  lines: LineOutput = new LineOutput(process.stdout, process.stderr),
): { update: (p: BootstrapProgress) => void; done: (message: string) => void } {
  let lastTag = ''
  return {
    update(p) {
      if (lines.terminal) lines.progress((columns) => progressLine(label, p, columns))
      else if (p.tag !== lastTag) lines.err(`${label} ${String(Math.round(p.progress)).padStart(3)}% ${printableLine(p.summary)}`)
      lastTag = p.tag
    },
    done(message) {
      lines.progress(undefined)
      lines.err(`${label} ${message}`)
    },
  }
}
