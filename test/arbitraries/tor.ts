/**
 * Arbitraries of what tor (or whoever answers on its ports) sends Burrow:
 * control-port replies (mid, data and end lines, events interleaved),
 * keyword arguments with quoted values, the three typed events,
 * PROTOCOLINFO replies, and SOCKS5 server replies. Each comes as a model
 * (what the parser must return) and its wire form, written as tor writes it
 * (control-spec §2.3, §4.1; RFC 1928 and 1929).
 */
import fc from 'fast-check'
import type { ControlReply, ReplyLine } from '../../src/tor/control/index.js'

// ---- control-port replies --------------------------------------------------

/** Text of a reply line: any character but a C0 control other than TAB (tor writes text). */
export const lineText = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/[\x00-\x08\x0a-\x1f]/g, '?'))

/** A data block: its lines (any text; a leading `.` is escaped on the wire). */
const dataLines = fc.array(fc.oneof(lineText, fc.constantFrom('.', '..', '.x', '')), { maxLength: 4 })

/** One line of a reply, before it is given its status. */
type LineSpec = { kind: 'mid' | 'end'; text: string } | { kind: 'data'; text: string; lines: string[] }

const lineSpec = (kind: 'mid' | 'end'): fc.Arbitrary<LineSpec> => lineText.map((text) => ({ kind, text }))

/** A reply: mid and data lines, then its end line. */
const replySpec = (status: fc.Arbitrary<number>): fc.Arbitrary<{ status: number; lines: LineSpec[] }> =>
  fc.record({
    status,
    lines: fc
      .tuple(fc.array(fc.oneof(lineSpec('mid'), fc.record({ kind: fc.constant('data' as const), text: lineText, lines: dataLines })), { maxLength: 3 }), lineSpec('end'))
      .map(([body, end]) => [...body, end]),
  })

/** Wire chunks of a reply: one per line, a data line together with its block (nothing may come between them). */
function replyChunks(reply: { status: number; lines: LineSpec[] }, eol: string): string[] {
  return reply.lines.map((line) => {
    const sep = line.kind === 'mid' ? '-' : line.kind === 'data' ? '+' : ' '
    const head = `${reply.status}${sep}${line.text}${eol}`
    if (line.kind !== 'data') return head
    return head + line.lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}${eol}`).join('') + `.${eol}`
  })
}

function replyModel(reply: { status: number; lines: LineSpec[] }): ControlReply {
  const lines: ReplyLine[] = reply.lines.map((l) => (l.kind === 'data' ? { status: reply.status, kind: 'data', text: l.text, data: l.lines.join('\n') } : { status: reply.status, kind: l.kind, text: l.text }))
  return { status: reply.status, lines }
}

/**
 * Synchronous replies and events, interleaved at line boundaries as tor may
 * interleave them, with the replies the parser must return (in the order
 * their end lines arrive) and the wire text.
 */
export const replyStream = fc
  .record({
    sync: fc.array(replySpec(fc.integer({ min: 100, max: 699 }).filter((s) => s !== 650)), { maxLength: 4 }),
    events: fc.array(replySpec(fc.constant(650)), { maxLength: 3 }),
    order: fc.array(fc.boolean(), { maxLength: 40 }),
    crlf: fc.boolean(),
  })
  .map(({ sync, events, order, crlf }) => {
    const eol = crlf ? '\r\n' : '\n'
    const streams = [sync, events].map((replies) => replies.flatMap((r) => replyChunks(r, eol).map((chunk, i) => ({ chunk, done: i === r.lines.length - 1 ? replyModel(r) : undefined }))))
    const wire: string[] = []
    const expected: ControlReply[] = []
    let k = 0
    while (streams[0]!.length > 0 || streams[1]!.length > 0) {
      const pick = streams[1]!.length === 0 ? 0 : streams[0]!.length === 0 ? 1 : order[k++ % Math.max(1, order.length)] === true ? 1 : 0
      const next = streams[pick]!.shift()!
      wire.push(next.chunk)
      if (next.done !== undefined) expected.push(next.done)
    }
    return { wire: wire.join(''), expected }
  })

// ---- keyword arguments and events ------------------------------------------

/** A keyword as tor writes keys: letters, digits, underscore. */
export const keyword = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789abcxyz'), minLength: 1, maxLength: 10 })

/** A positional token: no space, no `=`, no leading quote. */
export const token = fc.string({ unit: fc.constantFrom(...'ABCXYZabcxyz0123456789_$~,.:-/+'), minLength: 1, maxLength: 12 })

/** An unquoted value: no space, no leading quote (may hold `=` and quotes inside). */
const unquotedValue = fc.string({ unit: fc.constantFrom(...'ABCabc0123_=,.:-/+$~"'), maxLength: 12 }).filter((v) => !v.startsWith('"'))

/**
 * `value` as a control-spec QuotedString the way tor writes one: `\` and `"`
 * escaped, CR, LF and TAB as C escapes, other control and non-ASCII bytes as
 * three-digit octal escapes of their UTF-8 bytes.
 */
export function torQuote(value: string): string {
  let out = '"'
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte)
    if (c === '\\' || c === '"') out += `\\${c}`
    else if (c === '\n') out += '\\n'
    else if (c === '\r') out += '\\r'
    else if (c === '\t') out += '\\t'
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`
    else out += c
  }
  return `${out}"`
}

/** Keyword arguments (distinct keys), each written quoted or not, with the values the parser must return. */
export const keywordArgs = (key: fc.Arbitrary<string> = keyword) =>
  fc
    .uniqueArray(fc.record({ key, value: fc.oneof(fc.tuple(unquotedValue, fc.constant(false)), fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.constant(true))) }), { selector: (a) => a.key, maxLength: 5 })
    .map((args) => ({
      wire: args.map(({ key: k, value: [v, quoted] }) => `${k}=${quoted ? torQuote(v) : v}`),
      expected: Object.fromEntries(args.map(({ key: k, value: [v] }) => [k, v])) as Record<string, string>,
    }))

const UPPER_KEY = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_'), minLength: 1, maxLength: 10 })

/** An event line (after `650 `) of each typed kind, and the event parseEvent must return. */
export const typedEvent = fc.oneof(
  fc.record({ severity: fc.constantFrom('NOTICE', 'WARN', 'ERR'), action: token, args: keywordArgs() }).map(({ severity, action, args }) => ({
    line: ['STATUS_CLIENT', severity, action, ...args.wire].join(' '),
    expected: { type: 'STATUS_CLIENT', severity, action, args: args.expected },
  })),
  fc
    .record({ action: token, address: token, authType: token, hsDir: token, descriptorId: fc.option(token, { nil: undefined }), args: keywordArgs(UPPER_KEY) })
    .map(({ action, address, authType, hsDir, descriptorId, args }) => ({
      line: ['HS_DESC', action, address, authType, hsDir, ...(descriptorId === undefined ? [] : [descriptorId]), ...args.wire].join(' '),
      expected: {
        type: 'HS_DESC',
        action,
        address,
        authType,
        hsDir,
        ...(descriptorId === undefined ? {} : { descriptorId }),
        ...(args.expected.REASON === undefined ? {} : { reason: args.expected.REASON }),
        args: args.expected,
      },
    })),
  fc
    .record({ id: fc.nat().map(String), status: token, path: fc.option(fc.array(fc.tuple(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 4, maxLength: 8 }), fc.constantFrom('~', '='), token), { minLength: 1, maxLength: 3 }), { nil: undefined }), args: keywordArgs() })
    .map(({ id, status, path, args }) => {
      const hops = path?.map(([fpr, sep, nick]) => `$${fpr.toUpperCase()}${sep}${nick.replace(/,/g, '')}`)
      return {
        line: ['CIRC', id, status, ...(hops === undefined ? [] : [hops.join(',')]), ...args.wire].join(' '),
        expected: { type: 'CIRC', circuitId: id, status, path: hops ?? [], args: args.expected },
      }
    }),
)

/** PROTOCOLINFO's answer: methods, cookie file and version as tor writes them, and what parseProtocolInfo must return. */
export const protocolInfo = fc
  .record({
    methods: fc.uniqueArray(fc.constantFrom('NULL', 'HASHEDPASSWORD', 'COOKIE', 'SAFECOOKIE', 'X'), { maxLength: 4 }),
    cookieFile: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }),
    version: fc.option(fc.string({ unit: 'binary', maxLength: 12 }), { nil: undefined }),
    crlf: fc.boolean(),
  })
  .map(({ methods, cookieFile, version, crlf }) => {
    const eol = crlf ? '\r\n' : '\n'
    const auth = `AUTH METHODS=${methods.join(',')}${cookieFile === undefined ? '' : ` COOKIEFILE=${torQuote(cookieFile)}`}`
    const lines = ['250-PROTOCOLINFO 1', `250-${auth}`, ...(version === undefined ? [] : [`250-VERSION Tor=${torQuote(version)}`]), '250 OK']
    return {
      wire: lines.map((l) => l + eol).join(''),
      expected: { methods, ...(cookieFile === undefined ? {} : { cookieFile }), ...(version === undefined ? {} : { torVersion: version }) },
    }
  })

// ---- SOCKS5 ---------------------------------------------------------------

/** What a SOCKS5 server answers, field by field; `undefined` fields are the valid value. */
export interface SocksScript {
  /** Greeting answer: version and chosen method. */
  readonly greeting: readonly [number, number]
  /** Username/password answer: version and status (sent only with isolation). */
  readonly auth: readonly [number, number]
  /** CONNECT answer head: version, reply code, reserved byte, address type. */
  readonly head: readonly [number, number, number, number]
  /** Bound address bytes (a domain's length byte included) and port. */
  readonly bound: Uint8Array
  /** Bytes the peer sends right after the reply. */
  readonly early: Uint8Array
  /** The answer is cut after this many bytes (the server then closes its side), or not at all. */
  readonly cutAt: number | undefined
}

const usually = <T>(valid: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 6, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: other })
const anyByte = fc.integer({ min: 0, max: 255 })

/** A SOCKS5 server's answers to a client offering `method` (0x00 none, 0x02 username/password): mostly right, sometimes wrong in one field. */
export const socksScript = (method: number): fc.Arbitrary<SocksScript> =>
  fc.record({
    greeting: fc.tuple(usually(5, anyByte), usually(method, fc.oneof(anyByte, fc.constant(0xff)))),
    auth: fc.tuple(usually(1, anyByte), usually(0, anyByte)),
    head: fc.tuple(
      usually(5, anyByte),
      fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7) }, { weight: 1, arbitrary: anyByte }),
      usually(0, anyByte),
      fc.oneof({ weight: 5, arbitrary: fc.constantFrom(1, 3, 4) }, { weight: 1, arbitrary: anyByte }),
    ),
    bound: fc.oneof(
      fc.uint8Array({ minLength: 6, maxLength: 6 }),
      fc.uint8Array({ minLength: 18, maxLength: 18 }),
      fc.uint8Array({ maxLength: 20 }).map((name) => Uint8Array.from([name.length, ...name, 0x1f, 0x90])),
    ),
    early: fc.uint8Array({ maxLength: 40 }),
    cutAt: fc.option(fc.nat({ max: 60 }), { nil: undefined, freq: 3 }),
  })

/** The bytes of `script`, as the server sends them in order (`withAuth`: the client sent credentials). */
export function socksBytes(script: SocksScript, withAuth: boolean): Uint8Array {
  const all = Uint8Array.from([...script.greeting, ...(withAuth ? script.auth : []), ...script.head, ...script.bound, ...script.early])
  return script.cutAt === undefined ? all : all.subarray(0, script.cutAt)
}
