import { TorError } from '../errors.js'

// C0 controls and DEL: CR/LF would end the command line early (command
// injection); the others have no business in an argument and tor may mangle them.
const CONTROL_CHARS = /[\x00-\x1f\x7f]/
const KEYWORD = /^[A-Za-z0-9_./:=+\-,]+$/

/**
 * Encodes `s` as a control-spec QuotedString: wrapped in double quotes with
 * `\` and `"` backslash-escaped. Never emits a backslash before `n`, `t`, `r`
 * or a digit, so tor's C-style unescaping reads it back unchanged.
 *
 * @throws TorError `TOR_CONTROL_ARGUMENT` if `s` holds CR, LF, NUL or any other control character
 */
export function quoteString(s: string): string {
  if (CONTROL_CHARS.test(s)) throw new TorError('TOR_CONTROL_ARGUMENT', 'quoted argument contains a control character')
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/**
 * Returns `s` unchanged if it is safe as an unquoted argument: non-empty and
 * only `[A-Za-z0-9_./:=+-,]`, so it can neither split into two arguments nor
 * end the command line.
 *
 * @throws TorError `TOR_CONTROL_ARGUMENT` otherwise (the message does not repeat `s`)
 */
export function assertKeyword(s: string): string {
  if (!KEYWORD.test(s)) throw new TorError('TOR_CONTROL_ARGUMENT', 'argument is empty or has characters not allowed unquoted')
  return s
}

const C_ESCAPES: Record<string, number> = { n: 0x0a, t: 0x09, r: 0x0d }

/**
 * Reads a quoted string from tor's output starting at `text[start] === '"'`,
 * such as `"unix:/run/a \"b\"/socks"` or `"caf\303\251"` (`café`).
 * Follows the control-spec advice for reading what tor writes: `\n`, `\t`,
 * `\r` and octal `\ooo` are C escapes (tor escapes non-ASCII bytes that way),
 * any other escaped character stands for itself. Bytes are decoded as UTF-8.
 *
 * @returns the decoded value and the index just past the closing quote
 * @throws TorError `TOR_CONTROL_PROTOCOL` for an unterminated string
 */
export function readQuotedString(text: string, start: number): { value: string; end: number } {
  if (text[start] !== '"') throw new TorError('TOR_CONTROL_PROTOCOL', 'expected a quoted string')
  const bytes: number[] = []
  let i = start + 1
  while (i < text.length) {
    const c = String.fromCodePoint(text.codePointAt(i) as number)
    if (c === '"') return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 }
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b)
      i += c.length
      continue
    }
    const nextCode = text.codePointAt(i + 1)
    if (nextCode === undefined) break
    const next = String.fromCodePoint(nextCode)
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))?.[0]
    if (octal !== undefined) {
      bytes.push(parseInt(octal, 8) & 0xff)
      i += 1 + octal.length
    } else {
      const escaped = C_ESCAPES[next]
      if (escaped !== undefined) bytes.push(escaped)
      else for (const b of Buffer.from(next, 'utf8')) bytes.push(b)
      i += 1 + next.length
    }
  }
  throw new TorError('TOR_CONTROL_PROTOCOL', 'unterminated quoted string')
}
