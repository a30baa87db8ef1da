import type { BootstrapProgress } from '../tor/index.js'

/**
 * Draws tor's bootstrap progress: a redrawn bar on a terminal, one line per
 * new tag otherwise (logs and CI stay readable).
 */
export function bootstrapProgressPrinter(label: string, out: { write(text: string): unknown; isTTY?: boolean } = process.stderr): {
  update: (p: BootstrapProgress) => void
  done: (message: string) => void
} {
  const width = 30
  let lastTag = ''
  return {
    update(p) {
      const pct = Math.max(0, Math.min(100, p.progress))
      if (out.isTTY) {
        const filled = Math.round((pct / 100) * width)
        const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`
        out.write(`\r${label} [${bar}] ${String(pct).padStart(3)}% ${p.summary.slice(0, 40).padEnd(40)}`)
      } else if (p.tag !== lastTag) {
        out.write(`${label} ${String(pct).padStart(3)}% ${p.summary}\n`)
      }
      lastTag = p.tag
    },
    done(message) {
      if (out.isTTY) out.write('\r\x1b[2K')
      out.write(`${label} ${message}\n`)
    },
  }
}
