import { readQuotedString } from './quote.js'

/** One space-separated argument of a reply or event line. */
export interface ReplyArg {
  /** The argument exactly as tor wrote it. */
  raw: string
  /** Set for `KEY=VALUE` and `KEY="quoted"` arguments. */
  key?: string
  /** The value after `=` (unescaped when quoted); for positional arguments the argument itself (unescaped when quoted). */
  value: string
}

// Keys are identifiers; a leading '$' (relay fingerprints such as "$AB…=nick"
// in CIRC paths) or base64 (descriptor ids) makes a token positional.
const KEY = /^[A-Za-z0-9_]+(?==)/

/**
 * Splits a reply line into its arguments, honouring quoted values that
 * contain spaces and escapes. From
 *
 * ```
 * NOTICE BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="Handshaking with a relay"
 * ```
 *
 * it returns `NOTICE`, `BOOTSTRAP` (positional) and `PROGRESS=14`, `TAG=handshake`,
 * `SUMMARY` = `Handshaking with a relay` (keyword, unquoted).
 *
 * @throws TorError `TOR_CONTROL_PROTOCOL` for an unterminated quoted string
 */
export function splitArgs(text: string): ReplyArg[] {
  const args: ReplyArg[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] === ' ') {
      i += 1
      continue
    }
    const start = i
    if (text[i] === '"') {
      const quoted = readQuotedString(text, i)
      args.push({ raw: text.slice(start, quoted.end), value: quoted.value })
      i = quoted.end
      continue
    }
    const key = KEY.exec(text.slice(i))?.[0]
    if (key !== undefined && text[i + key.length + 1] === '"') {
      const quoted = readQuotedString(text, i + key.length + 1)
      args.push({ raw: text.slice(start, quoted.end), key, value: quoted.value })
      i = quoted.end
      continue
    }
    const space = text.indexOf(' ', i)
    const end = space === -1 ? text.length : space
    const raw = text.slice(start, end)
    args.push(key === undefined ? { raw, value: raw } : { raw, key, value: raw.slice(key.length + 1) })
    i = end
  }
  return args
}

/**
 * Collects the `KEY=VALUE` and `KEY="quoted"` arguments of a line (quoted
 * values unescaped); positional arguments are skipped. Used for PROTOCOLINFO,
 * AUTHCHALLENGE, ADD_ONION replies and event lines. A repeated key keeps its
 * last value.
 *
 * @throws TorError `TOR_CONTROL_PROTOCOL` for an unterminated quoted string
 */
export function parseKeyValues(text: string): Record<string, string> {
  return keywordArgs(splitArgs(text))
}

/** The keyword arguments among `args`, as a record (a repeated key keeps its last value). */
export function keywordArgs(args: readonly ReplyArg[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const arg of args) {
    // defineProperty, not assignment: a key named "__proto__" must stay a plain property.
    if (arg.key !== undefined) Object.defineProperty(out, arg.key, { value: arg.value, enumerable: true, writable: true, configurable: true })
  }
  return out
}
