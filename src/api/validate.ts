import { LocalApiError } from './errors.js'
import { isMediaType, MAX_FILE_NAME_BYTES, MAX_RETENTION_MS, MIN_RETENTION_MS } from '../group/index.js'
import {
  EVENTS,
  MAX_CARDS_PER_ADD,
  MAX_EPHEMERAL_BYTES,
  MAX_FILE_WRITE_BYTES,
  MAX_REQUEST_ID,
  MAX_SEND_BYTES,
  METHODS,
  READ_MAX_LIMIT,
  type ApiRequest,
  type EventName,
  type MethodName,
  type MethodParams,
} from './protocol.js'

/** Outcome of reading one request line: the request, or the error to answer with (and the id, if it was readable). */
export type ParsedRequest = { ok: true; request: ApiRequest } | { ok: false; id: number | null; error: LocalApiError }

const MAX_REF_CHARS = 256
const MAX_CARD_CHARS = 4096
const MAX_GROUP_NAME_CHARS = 200
const MAX_DESCRIPTION_CHARS = 1000
/** A fork id is 16 hex digits; a prefix may be given. */
const MAX_FORK_ID_CHARS = 16
const MAX_METHOD_CHARS = 64
const base64Chars = (bytes: number): number => Math.ceil(bytes / 3) * 4
const REQUEST_KEYS = ['id', 'method', 'params'] as const
const METHOD_SET = new Set<string>(METHODS)
const EVENT_SET = new Set<string>(EVENTS)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

type Params = Record<string, unknown>

function bad(message: string): LocalApiError {
  return new LocalApiError('API_BAD_REQUEST', message)
}

function isPlainObject(value: unknown): value is Params {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function onlyKeys(params: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw bad(`unknown parameter "${key.slice(0, 40)}"`)
  }
}

function optionalString(params: Params, key: string, maxChars: number): string | undefined {
  const value = params[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw bad(`"${key}" must be a string`)
  if (value.length === 0) throw bad(`"${key}" must not be empty`)
  if (value.length > maxChars) throw bad(`"${key}" is longer than ${maxChars} characters`)
  if (LONE_SURROGATE.test(value)) throw bad(`"${key}" is not well-formed Unicode`)
  return value
}

/** A string, or `null` when the key is given as null (undefined when absent). */
function nullableString(params: Params, key: string, maxChars: number, allowEmpty = false): string | null | undefined {
  if (params[key] === null) return null
  if (allowEmpty && params[key] === '') return ''
  return optionalString(params, key, maxChars)
}

function requiredString(params: Params, key: string, maxChars: number): string {
  const value = optionalString(params, key, maxChars)
  if (value === undefined) throw bad(`missing parameter "${key}"`)
  return value
}

function optionalInteger(params: Params, key: string, min: number, max: number): number | undefined {
  const value = params[key]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`"${key}" must be a whole number from ${min} to ${max}`)
  }
  return value
}

/** Decodes strict, canonical base64 (padding required, no whitespace, no stray bits). */
export function decodeBase64Strict(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw bad('"data" is not valid base64')
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) throw bad('"data" is not canonical base64')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

function noParams(params: Params): Record<string, never> {
  onlyKeys(params, [])
  return {}
}

function groupOnly(params: Params): { group: string } {
  onlyKeys(params, ['group'])
  return { group: requiredString(params, 'group', MAX_REF_CHARS) }
}

function groupAndPeer(params: Params): { group: string; peer: string } {
  onlyKeys(params, ['group', 'peer'])
  return { group: requiredString(params, 'group', MAX_REF_CHARS), peer: requiredString(params, 'peer', MAX_REF_CHARS) }
}

/** `{ group, text }` or `{ group, data }` (base64), at most `maxBytes` either way: `send` and `group.ephemeral`. */
function groupTextOrData(params: Params, maxBytes: number): { group: string; text: string } | { group: string; data: string } {
  onlyKeys(params, ['group', 'text', 'data'])
  const group = requiredString(params, 'group', MAX_REF_CHARS)
  const text = optionalString(params, 'text', maxBytes)
  const data = optionalString(params, 'data', base64Chars(maxBytes))
  if ((text === undefined) === (data === undefined)) throw bad('give exactly one of "text" and "data"')
  if (text !== undefined) {
    if (Buffer.byteLength(text, 'utf8') > maxBytes) throw bad(`"text" is longer than ${maxBytes} bytes`)
    return { group, text }
  }
  const bytes = decodeBase64Strict(data!)
  if (bytes.length > maxBytes) throw bad(`"data" is longer than ${maxBytes} bytes`)
  return { group, data: data! }
}

function subscribeParams(params: Params): MethodParams['subscribe'] {
  onlyKeys(params, ['events', 'group'])
  const events = params.events
  if (!Array.isArray(events)) throw bad('"events" must be an array of event names')
  if (events.length > EVENTS.length) throw bad('"events" lists too many names')
  const seen = new Set<string>()
  for (const e of events) {
    if (typeof e !== 'string' || !EVENT_SET.has(e)) throw bad(`unknown event ${typeof e === 'string' ? `"${e.slice(0, 40)}"` : 'name'}; known: ${EVENTS.join(', ')}`)
    if (seen.has(e)) throw bad(`event "${e}" is listed twice`)
    seen.add(e)
  }
  const group = optionalString(params, 'group', MAX_REF_CHARS)
  return group === undefined ? { events: events as EventName[] } : { events: events as EventName[], group }
}

// ---- files, deletion, retention ------------------------------------------------

const MAX_PATH_CHARS = 4096
const MAX_WRITE_BASE64_CHARS = Math.ceil(MAX_FILE_WRITE_BYTES / 3) * 4

function optionalBoolean(params: Params, key: string): boolean | undefined {
  const value = params[key]
  if (value !== undefined && typeof value !== 'boolean') throw bad(`"${key}" must be true or false`)
  return value
}

/** An absolute path: the node runs elsewhere than its client, so a relative one would name another file. */
function absolutePath(params: Params, key: string): string {
  const path = requiredString(params, key, MAX_PATH_CHARS)
  if (!path.startsWith('/')) throw bad(`"${key}" must be an absolute path`)
  if (path.includes('\0')) throw bad(`"${key}" must not contain NUL`)
  return path
}

/** The optional `name` and `mediaType` of a file to send. */
function fileMeta(params: Params): { name?: string; mediaType?: string } {
  const name = optionalString(params, 'name', MAX_FILE_NAME_BYTES)
  if (name !== undefined && Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) throw bad(`"name" is longer than ${MAX_FILE_NAME_BYTES} bytes`)
  const mediaType = optionalString(params, 'mediaType', 127)
  if (mediaType !== undefined && !isMediaType(mediaType)) throw bad('"mediaType" must be a lower-case type/subtype')
  return { ...(name !== undefined ? { name } : {}), ...(mediaType !== undefined ? { mediaType } : {}) }
}

/** Keeps only the flags that are set. */
function flags<K extends string>(params: Params, keys: readonly K[]): { [P in K]?: boolean } {
  const out: { [P in K]?: boolean } = {}
  for (const key of keys) {
    const value = optionalBoolean(params, key)
    if (value !== undefined) out[key] = value
  }
  return out
}

function uploadId(params: Params): number {
  const upload = optionalInteger(params, 'upload', 1, MAX_REQUEST_ID)
  if (upload === undefined) throw bad('missing parameter "upload"')
  return upload
}

const FILE_VALIDATORS = {
  'file.send': (p: Params): MethodParams['file.send'] => {
    onlyKeys(p, ['group', 'path', 'name', 'mediaType', 'progress'])
    return { group: requiredString(p, 'group', MAX_REF_CHARS), path: absolutePath(p, 'path'), ...fileMeta(p), ...flags(p, ['progress']) }
  },
  'file.upload': (p: Params): MethodParams['file.upload'] => {
    onlyKeys(p, ['group', 'name', 'mediaType'])
    return { group: requiredString(p, 'group', MAX_REF_CHARS), ...fileMeta(p) }
  },
  'file.write': (p: Params): MethodParams['file.write'] => {
    onlyKeys(p, ['upload', 'data'])
    const data = requiredString(p, 'data', MAX_WRITE_BASE64_CHARS)
    if (decodeBase64Strict(data).length > MAX_FILE_WRITE_BYTES) throw bad(`"data" is longer than ${MAX_FILE_WRITE_BYTES} bytes`)
    return { upload: uploadId(p), data }
  },
  'file.finish': (p: Params): MethodParams['file.finish'] => {
    onlyKeys(p, ['upload'])
    return { upload: uploadId(p) }
  },
  'file.list': groupOnly,
  'file.save': (p: Params): MethodParams['file.save'] => {
    onlyKeys(p, ['group', 'file', 'out', 'force', 'wait', 'progress'])
    return { group: requiredString(p, 'group', MAX_REF_CHARS), file: requiredString(p, 'file', MAX_REF_CHARS), out: absolutePath(p, 'out'), ...flags(p, ['force', 'wait', 'progress']) }
  },
  delete: (p: Params): MethodParams['delete'] => {
    onlyKeys(p, ['group', 'entry'])
    return { group: requiredString(p, 'group', MAX_REF_CHARS), entry: requiredString(p, 'entry', MAX_REF_CHARS) }
  },
  'group.retention': (p: Params): MethodParams['group.retention'] => {
    onlyKeys(p, ['group', 'periodMs'])
    if (!('periodMs' in p)) throw bad('missing parameter "periodMs" (null for none)')
    const periodMs = p.periodMs === null ? null : optionalInteger(p, 'periodMs', MIN_RETENTION_MS, MAX_RETENTION_MS)!
    return { group: requiredString(p, 'group', MAX_REF_CHARS), periodMs }
  },
}

const KEEPER_DECISIONS = ['ask', 'allow', 'deny'] as const

const KEEPER_VALIDATORS = {
  'group.keepers': groupOnly,
  'group.keeper.add': groupAndPeer,
  'group.keeper.remove': groupAndPeer,
  'group.keepers.decide': (p: Params): MethodParams['group.keepers.decide'] => {
    onlyKeys(p, ['group', 'decision'])
    const decision = KEEPER_DECISIONS.find((d) => d === p.decision)
    if (decision === undefined) throw bad('"decision" must be "ask", "allow" or "deny"')
    return { group: requiredString(p, 'group', MAX_REF_CHARS), decision }
  },
  'kept.list': noParams,
  'kept.decide': (p: Params): MethodParams['kept.decide'] => {
    onlyKeys(p, ['peer', 'decision'])
    if (p.decision !== 'allow' && p.decision !== 'deny') throw bad('"decision" must be "allow" or "deny"')
    return { peer: requiredString(p, 'peer', MAX_REF_CHARS), decision: p.decision }
  },
}

const PARAM_VALIDATORS: { [M in MethodName]: (params: Params) => MethodParams[M] } = {
  ...FILE_VALIDATORS,
  ...KEEPER_VALIDATORS,
  status: noParams,
  card: noParams,
  'peers.add': (p) => {
    onlyKeys(p, ['card', 'cards'])
    if ((p.card === undefined) === (p.cards === undefined)) throw bad('give exactly one of "card" and "cards"')
    if (p.card !== undefined) return { card: requiredString(p, 'card', MAX_CARD_CHARS) }
    const cards = p.cards
    if (!Array.isArray(cards) || cards.length === 0 || cards.length > MAX_CARDS_PER_ADD) {
      throw bad(`"cards" must be a list of 1 to ${MAX_CARDS_PER_ADD} contact cards`)
    }
    return { cards: cards.map((card: unknown, i) => requiredString({ [`cards[${i}]`]: card }, `cards[${i}]`, MAX_CARD_CHARS)) }
  },
  'peers.remove': (p) => {
    onlyKeys(p, ['peer'])
    return { peer: requiredString(p, 'peer', MAX_REF_CHARS) }
  },
  'peers.list': noParams,
  'group.create': (p) => {
    onlyKeys(p, ['name', 'description'])
    const name = optionalString(p, 'name', MAX_GROUP_NAME_CHARS)
    const description = optionalString(p, 'description', MAX_DESCRIPTION_CHARS)
    return { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) }
  },
  'group.rename': (p) => {
    onlyKeys(p, ['group', 'name', 'description'])
    const group = requiredString(p, 'group', MAX_REF_CHARS)
    if (!('name' in p)) throw bad('missing parameter "name" (a string, or null for the owner\'s name again)')
    const name = nullableString(p, 'name', MAX_GROUP_NAME_CHARS)!
    const description = nullableString(p, 'description', MAX_DESCRIPTION_CHARS, true)
    // An empty description removes it.
    return { group, name, ...(description !== undefined ? { description: description === '' ? null : description } : {}) }
  },
  'group.invite': groupAndPeer,
  'group.invite.cancel': groupAndPeer,
  'group.remove': groupAndPeer,
  'group.leave': groupOnly,
  'group.members': groupOnly,
  'group.list': noParams,
  'group.rotate': groupOnly,
  'group.ephemeral': (p) => groupTextOrData(p, MAX_EPHEMERAL_BYTES),
  'forks.list': noParams,
  'forks.export': (p) => {
    onlyKeys(p, ['id'])
    return { id: requiredString(p, 'id', MAX_FORK_ID_CHARS) }
  },
  send: (p) => groupTextOrData(p, MAX_SEND_BYTES),
  read: (p) => {
    onlyKeys(p, ['group', 'afterId', 'limit'])
    const group = requiredString(p, 'group', MAX_REF_CHARS)
    const afterId = optionalInteger(p, 'afterId', 0, Number.MAX_SAFE_INTEGER)
    const limit = optionalInteger(p, 'limit', 1, READ_MAX_LIMIT)
    return { group, ...(afterId !== undefined ? { afterId } : {}), ...(limit !== undefined ? { limit } : {}) }
  },
  subscribe: subscribeParams,
  stop: noParams,
}

function readId(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_REQUEST_ID ? value : null
}

/**
 * Reads one request line strictly: valid UTF-8 JSON object with exactly
 * `id` (integer 0…2³¹−1), `method` (a known name) and optional `params`
 * (an object whose keys, types and lengths match the method). Never throws.
 *
 * ```
 * {"id":3,"method":"group.invite","params":{"group":"friends","peer":"bob"}}   → request
 * {"id":4,"method":"send","params":{"group":"friends"}}                         → API_BAD_REQUEST, id 4 (text or data missing)
 * {"method":"status"}                                                           → API_BAD_REQUEST, id null
 * ```
 */
export function parseRequestLine(line: Uint8Array): ParsedRequest {
  let value: unknown
  try {
    value = JSON.parse(strictUtf8.decode(line))
  } catch {
    return { ok: false, id: null, error: bad('the request is not valid UTF-8 JSON') }
  }
  if (!isPlainObject(value)) return { ok: false, id: null, error: bad('the request must be a JSON object') }
  const id = readId(value.id)
  if (id === null) return { ok: false, id: null, error: bad(`"id" must be a whole number from 0 to ${MAX_REQUEST_ID}`) }
  try {
    const stray = Object.keys(value).find((key) => !(REQUEST_KEYS as readonly string[]).includes(key))
    // Parameters go inside "params": say so to a client that put one beside "method".
    if (stray !== undefined) throw bad(`unknown key "${stray.slice(0, 40)}" in the request: it holds only "id", "method" and "params" (parameters go inside "params")`)
    const method = value.method
    if (typeof method !== 'string') throw bad('"method" must be a string')
    if (!METHOD_SET.has(method)) {
      throw new LocalApiError('API_UNKNOWN_METHOD', `unknown method "${method.slice(0, MAX_METHOD_CHARS)}"; known: ${METHODS.join(', ')}`)
    }
    const params = value.params === undefined ? {} : value.params
    if (!isPlainObject(params)) throw bad('"params" must be a JSON object')
    const name = method as MethodName
    return { ok: true, request: { id, method: name, params: PARAM_VALIDATORS[name](params) } }
  } catch (err) {
    if (err instanceof LocalApiError) return { ok: false, id, error: err }
    throw err
  }
}
