import { keywordArgs, splitArgs, type ReplyArg } from './key-values.js'
import { isTorError } from '../errors.js'
import type { ControlReply, ReplyLine } from './reply-parser.js'

export { parseKeyValues } from './key-values.js'

/** Any asynchronous event from tor; the three Burrow relies on are typed, the rest stay raw. */
export type TorEvent = StatusClientEvent | HsDescEvent | CircEvent | RawTorEvent

/** `STATUS_CLIENT`: bootstrap progress, circuit establishment and other client status. */
export interface StatusClientEvent {
  type: 'STATUS_CLIENT'
  severity: 'NOTICE' | 'WARN' | 'ERR' | string
  /** e.g. `BOOTSTRAP`, `CIRCUIT_ESTABLISHED`, `CIRCUIT_NOT_ESTABLISHED`. */
  action: string
  /** Keyword arguments, quoted values unescaped: for BOOTSTRAP `PROGRESS`, `TAG`, `SUMMARY`, … */
  args: Record<string, string>
}

/** `HS_DESC`: an onion-service descriptor was requested, uploaded, received or failed. */
export interface HsDescEvent {
  type: 'HS_DESC'
  /** REQUESTED | UPLOAD | RECEIVED | UPLOADED | IGNORE | FAILED | CREATED */
  action: string
  /** The 56-character service id, or `UNKNOWN`. */
  address: string
  authType: string
  /** The HSDir as `$FINGERPRINT~nickname`, or `UNKNOWN`. */
  hsDir: string
  descriptorId?: string
  /** The `REASON` argument, e.g. `NOT_FOUND`, `UPLOAD_REJECTED`. */
  reason?: string
  args: Record<string, string>
}

/** `CIRC`: a circuit changed status. */
export interface CircEvent {
  type: 'CIRC'
  circuitId: string
  /** LAUNCHED | BUILT | GUARD_WAIT | EXTENDED | FAILED | CLOSED */
  status: string
  /** The relays as tor names them (`$FINGERPRINT~nickname`); empty before the first hop. */
  path: string[]
  /** BUILD_FLAGS, PURPOSE, HS_STATE, REND_QUERY, TIME_CREATED, REASON, … */
  args: Record<string, string>
}

/** Every other event (and a known event whose line could not be parsed): kept as tor sent it. */
export interface RawTorEvent {
  type: string
  /** The event's lines (text after the status code) joined with `\n`. */
  raw: string
  lines: ReplyLine[]
}

type TypedParser = (args: ReplyArg[]) => TorEvent | undefined

const positional = (arg: ReplyArg | undefined): string | undefined => (arg !== undefined && arg.key === undefined ? arg.raw : undefined)

const parseStatusClient: TypedParser = (args) => {
  const severity = positional(args[1])
  const action = positional(args[2])
  if (severity === undefined || action === undefined) return undefined
  return { type: 'STATUS_CLIENT', severity, action, args: keywordArgs(args.slice(3)) }
}

const parseHsDesc: TypedParser = (args) => {
  const [action, address, authType, hsDir] = [1, 2, 3, 4].map((i) => args[i]?.raw)
  if (action === undefined || address === undefined || authType === undefined || hsDir === undefined) return undefined
  // The descriptor id is base64 and may look like KEY=VALUE; tor's own keywords are upper case.
  const fifth = args[5]
  const descriptorId = fifth !== undefined && (fifth.key === undefined || !/^[A-Z_]+$/.test(fifth.key)) ? fifth.raw : undefined
  const kw = keywordArgs(args.slice(descriptorId === undefined ? 5 : 6))
  const event: HsDescEvent = { type: 'HS_DESC', action, address, authType, hsDir, args: kw }
  if (descriptorId !== undefined) event.descriptorId = descriptorId
  if (kw.REASON !== undefined) event.reason = kw.REASON
  return event
}

const parseCirc: TypedParser = (args) => {
  const circuitId = positional(args[1])
  const status = positional(args[2])
  if (circuitId === undefined || status === undefined) return undefined
  const path = positional(args[3])
  return {
    type: 'CIRC',
    circuitId,
    status,
    path: path === undefined ? [] : path.split(','),
    args: keywordArgs(args.slice(path === undefined ? 3 : 4)),
  }
}

const TYPED: Record<string, TypedParser> = {
  STATUS_CLIENT: parseStatusClient,
  HS_DESC: parseHsDesc,
  CIRC: parseCirc,
}

/**
 * Turns an asynchronous reply (status 650) into an event. STATUS_CLIENT,
 * HS_DESC and CIRC are parsed into typed objects; any other type, or one of
 * those whose line is malformed, becomes a {@link RawTorEvent}. Never throws
 * on anything tor can send. What it reads (control-spec §4.1):
 *
 * ```
 * 650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"
 * 650 HS_DESC UPLOADED z3eg…aefid UNKNOWN $0B36C048…E019~relay1 REASON=…
 * 650 CIRC 12 BUILT $AB…~relay1,$CD…~relay2 BUILD_FLAGS=IS_INTERNAL PURPOSE=HS_CLIENT_REND
 * ```
 */
export function parseEvent(reply: ControlReply): TorEvent {
  const { lines } = reply
  const first = lines[0]?.text ?? ''
  const type = first.split(' ', 1)[0] ?? ''
  const raw: RawTorEvent = { type, raw: lines.map((l) => l.text).join('\n'), lines }
  const parser = Object.hasOwn(TYPED, type) ? TYPED[type] : undefined
  if (parser === undefined) return raw
  // Multi-line forms end with "650 OK"; the arguments are in the lines before it.
  const body = lines
    .filter((l, i) => !(i > 0 && i === lines.length - 1 && l.text === 'OK'))
    .map((l) => l.text)
    .join(' ')
  try {
    return parser(splitArgs(body)) ?? raw
  } catch (err) {
    if (isTorError(err, 'TOR_CONTROL_PROTOCOL')) return raw
    throw err
  }
}
