/**
 * Arbitraries of the local API: valid requests of every method, files,
 * deletion and retention included (within
 * every documented bound), requests changed as JSON values (keys dropped,
 * added or given values of any type) or as bytes (invalid UTF-8, broken
 * JSON), and request lines as a local client may send them.
 */
import fc from 'fast-check'
import { EVENTS, MAX_REQUEST_ID, READ_MAX_LIMIT, type ApiRequest } from '../../src/api/index.js'
import { MAX_FILE_NAME_BYTES, MAX_RETENTION_MS, MIN_RETENTION_MS } from '../../src/group/index.js'
import { applyEdits, byteEdits, opaqueBytes } from './bytes.js'

/** A reference to a group or peer: 1 to 256 characters of well-formed text. */
const ref = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }), fc.string({ minLength: 250, maxLength: 256 }))
const id = fc.oneof(fc.nat({ max: 100 }), fc.constant(MAX_REQUEST_ID), fc.nat({ max: MAX_REQUEST_ID }))

/** An absolute path without NUL. */
const absolutePath = fc.string({ unit: 'binary', maxLength: 60 }).filter((p) => !p.includes('\0')).map((p) => `/${p}`)
/** A file name a sender may give: 1 to 255 bytes of UTF-8. */
const fileName = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((n) => Buffer.byteLength(n) <= MAX_FILE_NAME_BYTES)
const mediaType = fc.constantFrom('application/octet-stream', 'image/jpeg', 'text/plain', 'application/vnd.a+b')
const uploadId = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(MAX_REQUEST_ID))

/** `send` and `group.ephemeral`: text or base64 data, well within both bounds. */
const textOrData = fc.oneof(
  fc.record({ group: ref, text: fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }) }),
  fc.record({ group: ref, data: opaqueBytes(1, 300).map((b) => Buffer.from(b).toString('base64')) }),
)

/** A valid request of every method. */
export const validRequest: fc.Arbitrary<ApiRequest> = fc.oneof(
  fc.record({ id, method: fc.constantFrom('status' as const, 'card' as const, 'peers.list' as const, 'group.list' as const, 'stop' as const), params: fc.constant({}) }),
  fc.record({ id, method: fc.constant('peers.add' as const), params: fc.record({ card: fc.string({ unit: 'binary', minLength: 1, maxLength: 400 }) }) }),
  fc.record({ id, method: fc.constant('peers.remove' as const), params: fc.record({ peer: ref }) }),
  fc.record({ id, method: fc.constant('group.create' as const), params: fc.record({ name: fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }) }, { requiredKeys: [] }) }),
  fc.record({ id, method: fc.constantFrom('group.invite' as const, 'group.remove' as const), params: fc.record({ group: ref, peer: ref }) }),
  fc.record({ id, method: fc.constant('peers.add' as const), params: fc.record({ cards: fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 5 }) }) }),
  fc.record({ id, method: fc.constantFrom('group.invite.cancel' as const, 'group.keeper.add' as const, 'group.keeper.remove' as const), params: fc.record({ group: ref, peer: ref }) }),
  fc.record({ id, method: fc.constant('group.keepers' as const), params: fc.record({ group: ref }) }),
  fc.record({ id, method: fc.constant('group.keepers.decide' as const), params: fc.record({ group: ref, decision: fc.constantFrom('ask' as const, 'allow' as const, 'deny' as const) }) }),
  fc.record({ id, method: fc.constant('kept.list' as const), params: fc.constant({}) }),
  fc.record({ id, method: fc.constant('kept.decide' as const), params: fc.record({ peer: ref, decision: fc.constantFrom('allow' as const, 'deny' as const) }) }),
  fc.record({ id, method: fc.constantFrom('group.members' as const, 'group.rotate' as const, 'group.leave' as const), params: fc.record({ group: ref }) }),
  fc.record({
    id,
    method: fc.constant('group.rename' as const),
    // At most 200 and 1,000 UTF-16 units: 90 and 450 code points fit whatever they are. An empty description is read as null: not generated, so that a request parses back to itself.
    params: fc.record(
      { group: ref, name: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 90 }), { nil: null }), description: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 450 }), { nil: null }) },
      { requiredKeys: ['group', 'name'] },
    ),
  }),
  fc.record({ id, method: fc.constant('forks.list' as const), params: fc.constant({}) }),
  fc.record({ id, method: fc.constant('forks.export' as const), params: fc.record({ id: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) }) }),
  fc.record({ id, method: fc.constantFrom('send' as const, 'group.ephemeral' as const), params: textOrData }),
  fc.record({
    id,
    method: fc.constant('read' as const),
    params: fc.record({ group: ref, afterId: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)), limit: fc.integer({ min: 1, max: READ_MAX_LIMIT }) }, { requiredKeys: ['group'] }),
  }),
  fc.record({ id, method: fc.constant('subscribe' as const), params: fc.record({ events: fc.subarray([...EVENTS]), group: ref }, { requiredKeys: ['events'] }) }),
  // Files, deletion, retention. Against a node without files (the memory node) each gets a typed refusal: nothing is read or written.
  fc.record({ id, method: fc.constant('file.send' as const), params: fc.record({ group: ref, path: absolutePath, name: fileName, mediaType, progress: fc.boolean() }, { requiredKeys: ['group', 'path'] }) }),
  fc.record({ id, method: fc.constant('file.upload' as const), params: fc.record({ group: ref, name: fileName, mediaType }, { requiredKeys: ['group'] }) }),
  fc.record({ id, method: fc.constant('file.write' as const), params: fc.record({ upload: uploadId, data: opaqueBytes(1, 300).map((b) => Buffer.from(b).toString('base64')) }) }),
  fc.record({ id, method: fc.constant('file.finish' as const), params: fc.record({ upload: uploadId }) }),
  fc.record({ id, method: fc.constant('file.list' as const), params: fc.record({ group: ref }) }),
  fc.record({
    id,
    method: fc.constant('file.save' as const),
    params: fc.record({ group: ref, file: ref, out: absolutePath, force: fc.boolean(), wait: fc.boolean(), progress: fc.boolean() }, { requiredKeys: ['group', 'file', 'out'] }),
  }),
  fc.record({ id, method: fc.constant('delete' as const), params: fc.record({ group: ref, entry: ref }) }),
  fc.record({
    id,
    method: fc.constant('group.retention' as const),
    params: fc.record({ group: ref, periodMs: fc.option(fc.oneof(fc.integer({ min: MIN_RETENTION_MS, max: MAX_RETENTION_MS }), fc.constantFrom(MIN_RETENTION_MS, MAX_RETENTION_MS)), { nil: null }) }),
  }),
) as fc.Arbitrary<ApiRequest>

/** JSON values of every type, including the ones a validator must refuse (floats, huge numbers, lone surrogates, deep nesting). */
export const junkJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, -1, 0.5, 1e308, 2 ** 53 + 2, -0, '', 'x'.repeat(300), '\ud800', 'AAE=', 'AAE', '=', [], {}),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(...EVENTS),
)

/** One change of a request as a JSON value. */
const valueEdit = fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), kind: fc.constantFrom('drop', 'set', 'add'), key: fc.oneof(fc.constantFrom('id', 'method', 'params', 'group', 'text', 'data', 'events', '__proto__', 'constructor', 'limit', 'path', 'out', 'upload', 'periodMs', 'entry'), fc.string({ maxLength: 6 })), value: junkJson })

/** `request` with a key dropped, added or given another value, somewhere in its tree. */
function editValue(request: unknown, edit: { path: readonly number[]; kind: string; key: string; value: unknown }): unknown {
  const copy = JSON.parse(JSON.stringify(request)) as unknown
  let target = copy as Record<string, unknown>
  for (const step of edit.path.slice(0, -1)) {
    const keys = Object.keys(target)
    const next = keys.length === 0 ? undefined : target[keys[step % keys.length]!]
    if (next === null || typeof next !== 'object') break
    target = next as Record<string, unknown>
  }
  const keys = Object.keys(target)
  const chosen = keys.length === 0 ? edit.key : keys[edit.path.at(-1)! % keys.length]!
  if (edit.kind === 'drop') delete target[chosen]
  else Object.defineProperty(target, edit.kind === 'add' ? edit.key : chosen, { value: edit.value, enumerable: true, writable: true, configurable: true })
  return copy
}

/** A request line a local client may send (without its newline): valid, edited as a value, edited as bytes, or random text. */
export const requestLine: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: validRequest.map((r) => Buffer.from(JSON.stringify(r))) },
  { weight: 3, arbitrary: fc.tuple(validRequest, fc.array(valueEdit, { minLength: 1, maxLength: 3 })).map(([r, edits]) => Buffer.from(JSON.stringify(edits.reduce(editValue, r)))) },
  { weight: 3, arbitrary: fc.tuple(validRequest, byteEdits(4)).map(([r, edits]) => applyEdits(Buffer.from(JSON.stringify(r)), edits)) },
  { weight: 1, arbitrary: junkJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((s) => Buffer.from(s)) },
)
