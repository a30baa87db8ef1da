import { isTorError, TorError } from '../errors.js'

/** One line of a tor control reply. */
export interface ReplyLine {
  /** The three-digit status code, e.g. 250 or 650. */
  status: number
  /** `mid` for `NNN-`, `data` for `NNN+` (a data block follows), `end` for the final `NNN ` line. */
  kind: 'mid' | 'data' | 'end'
  /** Everything after the separator character. */
  text: string
  /** For `data` lines: the dot-decoded block, lines joined with `\n`, leading `..` unescaped to `.`. */
  data?: string
}

/** A complete reply: synchronous (answer to a command) or asynchronous (status 650, an event). */
export interface ControlReply {
  /** Status of the end line. */
  status: number
  lines: ReplyLine[]
}

/** Size limits that stop a misbehaving peer from making the parser buffer without bound. */
export interface ReplyParserLimits {
  /** Longest accepted line, in bytes, without its line ending. Default 64 KiB. */
  maxLineBytes?: number
  /** Largest accepted reply (all its lines and data), in bytes. Default 4 MiB. */
  maxReplyBytes?: number
}

const DEFAULT_MAX_LINE_BYTES = 64 * 1024
const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024
const LF = 0x0a
const STATUS_LINE = /^([1-6]\d\d)([- +])/
// Tor writes text: any C0 control except TAB (CR is stripped before this check) means garbage.
const FORBIDDEN_CHARS = /[\x00-\x08\x0a-\x1f]/

/** A reply being assembled, plus the data block it is currently inside, if any. */
interface PartialReply {
  status: number
  lines: ReplyLine[]
  bytes: number
  dataLines?: string[]
}

/**
 * Incremental parser for tor's control-port replies (control-spec §2.3).
 * Pure and synchronous: feed it bytes as they arrive, in chunks split
 * anywhere, and it returns every reply those bytes complete. A reply is mid
 * lines (`NNN-`), data lines (`NNN+` then a dot-encoded block ending in a
 * lone `.`) and one end line (`NNN `); an event (650) may arrive between them:
 *
 * ```
 * 250-version=0.4.9.11
 * 650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED
 * 250+config-text=
 * SocksPort unix:/home/ann/.burrow/tor/socks.sock
 * .
 * 250 OK
 * ```
 *
 * gives the event, then one 250 reply of three lines.
 *
 * Asynchronous event lines (status 650) are assembled separately from
 * synchronous replies, so an event that arrives between the lines of a reply
 * does not corrupt it. After the first `TOR_CONTROL_PROTOCOL` error the stream is
 * unrecoverable and every later `push` throws again.
 */
export class ReplyParser {
  readonly #maxLineBytes: number
  readonly #maxReplyBytes: number
  #pending: Buffer[] = []
  #pendingBytes = 0
  #sync: PartialReply | undefined
  #async: PartialReply | undefined
  #failure: TorError | undefined

  constructor(opts: ReplyParserLimits = {}) {
    this.#maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    this.#maxReplyBytes = opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES
  }

  /**
   * Consumes `chunk` and returns the replies it completes, in order.
   *
   * @throws TorError `TOR_CONTROL_PROTOCOL` on malformed input; the parser stays failed afterwards
   */
  push(chunk: Buffer | string): ControlReply[] {
    if (this.#failure !== undefined) throw this.#failure
    try {
      return this.#consume(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    } catch (err) {
      this.#failure = isTorError(err, 'TOR_CONTROL_PROTOCOL') ? err : new TorError('TOR_CONTROL_PROTOCOL', 'reply parser failed', { cause: err })
      this.#pending = []
      throw this.#failure
    }
  }

  #consume(chunk: Buffer): ControlReply[] {
    const done: ControlReply[] = []
    let start = 0
    for (let lf = chunk.indexOf(LF, start); lf !== -1; lf = chunk.indexOf(LF, start)) {
      this.#hold(chunk.subarray(start, lf))
      const line = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending)
      this.#pending = []
      this.#pendingBytes = 0
      const reply = this.#line(line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line)
      if (reply !== undefined) done.push(reply)
      start = lf + 1
    }
    this.#hold(chunk.subarray(start))
    return done
  }

  /** Buffers part of a line not yet terminated, enforcing the line limit. */
  #hold(part: Buffer): void {
    if (part.length === 0) return
    this.#pendingBytes += part.length
    // +1 leaves room for the CR of a CRLF split across chunks.
    if (this.#pendingBytes > this.#maxLineBytes + 1) {
      throw new TorError('TOR_CONTROL_PROTOCOL', `reply line longer than ${this.#maxLineBytes} bytes`)
    }
    this.#pending.push(part)
  }

  #line(raw: Buffer): ControlReply | undefined {
    if (raw.length > this.#maxLineBytes) throw new TorError('TOR_CONTROL_PROTOCOL', `reply line longer than ${this.#maxLineBytes} bytes`)
    const text = raw.toString('utf8')
    if (FORBIDDEN_CHARS.test(text)) throw new TorError('TOR_CONTROL_PROTOCOL', 'reply line contains control characters')

    const inData = this.#sync?.dataLines !== undefined ? this.#sync : this.#async?.dataLines !== undefined ? this.#async : undefined
    if (inData !== undefined) {
      this.#grow(inData, raw.length + 1)
      this.#dataLine(inData, text)
      return undefined
    }

    const match = STATUS_LINE.exec(text)
    if (match === null) throw new TorError('TOR_CONTROL_PROTOCOL', 'reply line does not start with a status code and separator')
    const status = Number(match[1])
    const separator = match[2]
    const body = text.slice(4)

    const isEvent = status === 650
    let reply = isEvent ? this.#async : this.#sync
    if (reply === undefined) {
      reply = { status, lines: [], bytes: 0 }
      if (isEvent) this.#async = reply
      else this.#sync = reply
    } else if (reply.status !== status) {
      throw new TorError('TOR_CONTROL_PROTOCOL', `status ${status} inside a reply that began with ${reply.status}`)
    }
    this.#grow(reply, raw.length + 1)

    if (separator === '-') {
      reply.lines.push({ status, kind: 'mid', text: body })
      return undefined
    }
    if (separator === '+') {
      reply.lines.push({ status, kind: 'data', text: body })
      reply.dataLines = []
      return undefined
    }
    reply.lines.push({ status, kind: 'end', text: body })
    if (isEvent) this.#async = undefined
    else this.#sync = undefined
    return { status, lines: reply.lines }
  }

  /** Adds one line inside a data block; a lone `.` closes the block onto its `+` line. */
  #dataLine(reply: PartialReply, text: string): void {
    const dataLines = reply.dataLines as string[]
    if (text !== '.') {
      dataLines.push(text.startsWith('..') ? text.slice(1) : text)
      return
    }
    const owner = reply.lines[reply.lines.length - 1] as ReplyLine
    owner.data = dataLines.join('\n')
    reply.dataLines = undefined
  }

  #grow(reply: PartialReply, bytes: number): void {
    reply.bytes += bytes
    if (reply.bytes > this.#maxReplyBytes) throw new TorError('TOR_CONTROL_PROTOCOL', `reply larger than ${this.#maxReplyBytes} bytes`)
  }
}
