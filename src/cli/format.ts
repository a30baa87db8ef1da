/** Human output helpers: aligned tables, short ids, times, and text made safe for a terminal. */

// C0 and C1 controls (escape sequences could rewrite the terminal), DEL, and bidi overrides/isolates (could disguise text).
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
// Also tabs and line breaks (a name could start a fake output line or table row), and the invisible or direction-changing marks
// (LRM, RLM, ALM, zero-width space, BOM) that could make a name look like another.
const UNSAFE_IN_A_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g

const escape = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`

/** Makes text from the network printable: control characters become visible `\u{…}` escapes; tabs and newlines stay. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape)
}

/**
 * Makes text from the network printable on one line: {@link printable}, and
 * tabs, line breaks and invisible or direction marks become `\u{…}` escapes
 * too. For what a peer names (files, groups, people), media types, table
 * cells, and every line that must stay one line.
 */
export function printableLine(text: string): string {
  return text.replace(UNSAFE_IN_A_LINE, escape)
}

/** Left-aligned columns with a header row; cells are made printable on one line. */
export function table(header: string[], rows: string[][]): string {
  const cells = [header, ...rows.map((r) => r.map(printableLine))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return `${cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n')}\n`
}

/** `key  value` lines with keys aligned; values are made printable on one line. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return `${pairs.map(([k, v]) => `${k.padEnd(width)}  ${printableLine(v)}`).join('\n')}\n`
}

/** A long identifier shortened for a table: head…tail. */
export function shortId(id: string, head = 8, tail = 4): string {
  return id.length <= head + tail + 1 ? id : `${id.slice(0, head)}…${id.slice(-tail)}`
}

/** `.onion` address shortened: first characters, then the suffix. */
export function shortOnion(onion: string): string {
  const host = onion.replace(/\.onion$/, '')
  return host.length <= 12 ? onion : `${host.slice(0, 10)}….onion`
}

/** How long ago `ms` (since the epoch) was, coarsely. */
export function ago(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'never'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86_400)} d ago`
}

/** Local date and time, to the second. */
export function timestamp(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}
