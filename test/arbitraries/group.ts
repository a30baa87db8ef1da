/**
 * Arbitraries of the group layer: group payloads of every kind, typed bodies
 * (file announcements, retention periods), key-package
 * requests and responses (valid, refusals, and anything else a peer could
 * send), and MLS proposals of every RFC 9420 type. What the MLS ones carry
 * inside (keys, ids, extension data) is opaque bytes: ts-mls encodes it and
 * the receiving member judges it.
 */
import fc from 'fast-check'
import type { Proposal } from 'ts-mls'
import { GROUP_ID_LENGTH, GROUP_ID_NONCE_LENGTH, MAX_BUNDLED_PROPOSALS, type GroupPayload } from '../../src/group/index.js'
import {
  encodeAppBody,
  FILE_ID_LENGTH,
  FILE_KEY_LENGTH,
  MAX_CHUNK_BYTES,
  MAX_FILE_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_RETENTION_MS,
  MIN_CHUNK_BYTES,
  MIN_RETENTION_MS,
  type AppBody,
  type FileAnnouncement,
} from '../../src/group/app-body.js'
import { groupIdOf } from '../../src/group/group-id.js'
import { decodeCanonical, encodeCanonical } from '../../src/log/cbor.js'
import type { ExtensionValue } from '../../src/log/index.js'
import { anyBytes, mutated, opaqueBytes } from './bytes.js'
import { cborText, cborValue, looseEncode, looseStyle } from './log.js'

const body = opaqueBytes(1, 400)

/** A group payload of any kind. */
export const groupPayload: fc.Arbitrary<GroupPayload> = fc.oneof(
  body.map((message): GroupPayload => ({ kind: 'application', message })),
  fc.record({ commit: body, proposals: fc.array(opaqueBytes(1, 120), { maxLength: 5 }) }).map((c): GroupPayload => ({ kind: 'commit', ...c })),
  body.map((welcome): GroupPayload => ({ kind: 'welcome', welcome })),
  body.map((proposal): GroupPayload => ({ kind: 'proposal', proposal })),
  body.map((message): GroupPayload => ({ kind: 'setting', message })),
  body.map((message): GroupPayload => ({ kind: 'typed', message })),
)

/** A file announcement within the bounds a member accepts (app-body.ts). */
export const fileAnnouncement: fc.Arbitrary<FileAnnouncement> = fc
  .record({
    fileId: opaqueBytes(FILE_ID_LENGTH, FILE_ID_LENGTH),
    name: fc.string({ minLength: 1, maxLength: 60 }).filter((n) => Buffer.byteLength(n) <= MAX_FILE_NAME_BYTES),
    mediaType: fc.constantFrom('application/octet-stream', 'image/jpeg', 'text/plain', 'video/mp4', 'application/vnd.a+b'),
    size: fc.oneof(fc.nat({ max: 10_000_000 }), fc.constantFrom(0, 1, MAX_FILE_BYTES)),
    sha256: opaqueBytes(32, 32),
    chunkSize: fc.oneof(fc.constantFrom(MIN_CHUNK_BYTES, 256 * 1024, MAX_CHUNK_BYTES), fc.integer({ min: MIN_CHUNK_BYTES, max: MAX_CHUNK_BYTES })),
    key: opaqueBytes(FILE_KEY_LENGTH, FILE_KEY_LENGTH),
  })
  .map((f) => ({ ...f, chunkCount: Math.ceil(f.size / f.chunkSize) }))

/** A typed body (payload kind 6, once decrypted): a file announcement or the owner's retention period. */
export const appBody: fc.Arbitrary<AppBody> = fc.oneof(
  fileAnnouncement.map((file): AppBody => ({ type: 'file', file })),
  fc
    .option(fc.oneof(fc.integer({ min: MIN_RETENTION_MS, max: MAX_RETENTION_MS }), fc.constantFrom(MIN_RETENTION_MS, MAX_RETENTION_MS)), { nil: null })
    .map((periodMs): AppBody => ({ type: 'retention', periodMs })),
  fc.record({ seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)), plaintext: opaqueBytes(0, 40) }).map(({ seq, plaintext }): AppBody => ({ type: 'resend', seq, plaintext })),
)

/** Values shaped like a typed body but possibly wrong in one place: a type code, an item, the arity, a bound. */
export const nearAppBodyValue: fc.Arbitrary<ExtensionValue> = fc
  .tuple(
    appBody.map((b) => decodeCanonical(encodeAppBody(b)) as ExtensionValue[]),
    fc.nat({ max: 9 }),
    fc.oneof(
      cborValue(2),
      fc.constantFrom(MIN_RETENTION_MS - 1, MAX_RETENTION_MS + 1, MAX_FILE_BYTES + 1, MIN_CHUNK_BYTES - 1, MAX_CHUNK_BYTES + 1, 0, -1, 3),
      opaqueBytes(0, 40),
    ),
    fc.constantFrom('replace', 'append', 'drop'),
  )
  .map(([items, at, value, how]) => {
    const out = [...items]
    if (how === 'append') out.push(value)
    else if (how === 'drop') out.splice(at % out.length, 1)
    else out[at % out.length] = value
    return out
  })

/** Values shaped like a payload but possibly wrong in one place: a kind code, an arity, a body type, a bundle entry. */
const nearPayloadValue: fc.Arbitrary<ExtensionValue> = fc
  .record({
    kind: fc.oneof(fc.integer({ min: -1, max: 7 }), cborText, fc.constant(null)),
    body: fc.oneof({ weight: 4, arbitrary: opaqueBytes(0, 60) }, { weight: 1, arbitrary: cborValue(2) }),
    bundle: fc.oneof(
      fc.array(fc.oneof({ weight: 4, arbitrary: opaqueBytes(0, 20) }, { weight: 1, arbitrary: cborValue(3) }), { maxLength: 4 }),
      fc.integer({ min: MAX_BUNDLED_PROPOSALS - 1, max: MAX_BUNDLED_PROPOSALS + 1 }).map((n) => Array.from({ length: n }, () => new Uint8Array([n & 0xff]))),
      cborValue(2),
    ),
    extra: fc.option(cborValue(2), { nil: undefined, freq: 4 }),
    withBundle: fc.boolean(),
  })
  .map(({ kind, body: b, bundle, extra, withBundle }) => {
    const items: ExtensionValue[] = [kind, b]
    if (withBundle) items.push(bundle)
    if (extra !== undefined) items.push(extra)
    return items
  })

/** Bytes a payload decoder may meet: canonical and loose encodings of near-payloads and of any value, edits of valid payloads, random bytes. */
export const payloadBytes = (encode: (p: GroupPayload) => Uint8Array): fc.Arbitrary<{ bytes: Uint8Array; value?: ExtensionValue }> =>
  fc.oneof(
    nearPayloadValue.map((value) => ({ bytes: encodeCanonical(value), value })),
    fc.tuple(nearPayloadValue, looseStyle).map(([value, style]) => ({ bytes: looseEncode(value, style), value })),
    cborValue().map((value) => ({ bytes: encodeCanonical(value), value })),
    mutated(groupPayload.map(encode)).map((bytes) => ({ bytes })),
    anyBytes(200).map((bytes) => ({ bytes })),
  )

/** The invitee's view of who may ask: a fixed inviter identity key. */
export const inviterKey = new Uint8Array(32).fill(0x1a)

/** A key-package request: group id and nonce (owned by {@link inviterKey} when `owned`). */
export const keyPackageRequest = fc
  .record({ nonce: opaqueBytes(GROUP_ID_NONCE_LENGTH, GROUP_ID_NONCE_LENGTH), other: opaqueBytes(GROUP_ID_LENGTH, GROUP_ID_LENGTH), owned: fc.boolean() })
  .map(({ nonce, other, owned }) => ({ groupId: owned ? groupIdOf(inviterKey, nonce) : other, nonce }))

/** Anything a peer may send as a key-package request, or answer as a response. */
export const keyPackageMessage = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: mutated(valid) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(fc.integer({ min: -1, max: 2 }), opaqueBytes(0, 40)), fc.oneof(opaqueBytes(0, 40), cborText, fc.string({ maxLength: 60 })), fc.option(cborValue(2), { nil: undefined, freq: 5 }))
        .map(([a, b, c]) => encodeCanonical(c === undefined ? [a, b] : [a, b, c])),
    },
    { weight: 1, arbitrary: fc.tuple(cborValue(), looseStyle).map(([v, s]) => looseEncode(v, s)) },
    { weight: 1, arbitrary: anyBytes(120) },
  )

/** What a proposal is built from; the member's own state fills in leaf indices and key packages. */
export type ProposalSpec =
  | { readonly type: 'add'; readonly keyPackage: number }
  | { readonly type: 'update' }
  | { readonly type: 'remove'; readonly leaf: number }
  | { readonly type: 'psk'; readonly external: boolean; readonly id: Uint8Array; readonly nonce: Uint8Array }
  | { readonly type: 'reinit'; readonly groupId: Uint8Array; readonly cipherSuite: number }
  | { readonly type: 'external_init'; readonly kemOutput: Uint8Array }
  | { readonly type: 'group_context_extensions'; readonly extensions: readonly { extensionType: number; extensionData: Uint8Array }[] }
  | { readonly type: 'custom'; readonly proposalType: number; readonly data: Uint8Array }

const extension = fc.record({ extensionType: fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 0xf0a0), fc.integer({ min: 6, max: 0xffff })), extensionData: opaqueBytes(0, 24) })

/** A proposal of every RFC 9420 type, and of custom types. */
export const proposalSpec: fc.Arbitrary<ProposalSpec> = fc.oneof(
  fc.record({ type: fc.constant('add' as const), keyPackage: fc.nat() }),
  fc.constant({ type: 'update' as const }),
  fc.record({ type: fc.constant('remove' as const), leaf: fc.oneof(fc.nat(4), fc.nat(0xffff)) }),
  fc.record({ type: fc.constant('psk' as const), external: fc.boolean(), id: opaqueBytes(0, 32), nonce: opaqueBytes(0, 40) }),
  fc.record({ type: fc.constant('reinit' as const), groupId: opaqueBytes(0, 40), cipherSuite: fc.constantFrom(1, 2, 3, 7) }),
  fc.record({ type: fc.constant('external_init' as const), kemOutput: opaqueBytes(0, 64) }),
  fc.record({ type: fc.constant('group_context_extensions' as const), extensions: fc.uniqueArray(extension, { selector: (e) => e.extensionType, maxLength: 3 }) }),
  fc.record({ type: fc.constant('custom' as const), proposalType: fc.integer({ min: 9, max: 0xffff }), data: opaqueBytes(0, 40) }),
)

/** ts-mls's cipher suite names by id, for ReInit. */
const SUITES = { 1: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519', 2: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256', 3: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519', 7: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384' } as const

/**
 * The ts-mls proposal for `spec`. `keyPackages` are decoded key packages to
 * add; `leafCount` bounds nothing (a remove may name any leaf); an update is
 * made by the caller from its own state (ts-mls needs its keys), so it is
 * not built here.
 */
export function proposalOf(spec: Exclude<ProposalSpec, { type: 'update' }>, keyPackages: readonly Extract<Proposal, { proposalType: 'add' }>['add']['keyPackage'][]): Proposal {
  switch (spec.type) {
    case 'add':
      return { proposalType: 'add', add: { keyPackage: keyPackages[spec.keyPackage % keyPackages.length]! } }
    case 'remove':
      return { proposalType: 'remove', remove: { removed: spec.leaf } }
    case 'psk':
      return {
        proposalType: 'psk',
        psk: {
          preSharedKeyId: spec.external
            ? { psktype: 'external', pskId: spec.id, pskNonce: spec.nonce }
            : { psktype: 'resumption', usage: 'application', pskGroupId: spec.id, pskEpoch: 0n, pskNonce: spec.nonce },
        },
      } as Proposal
    case 'reinit':
      return { proposalType: 'reinit', reinit: { groupId: spec.groupId, version: 'mls10', cipherSuite: SUITES[spec.cipherSuite as keyof typeof SUITES], extensions: [] } } as Proposal
    case 'external_init':
      return { proposalType: 'external_init', externalInit: { kemOutput: spec.kemOutput } }
    case 'group_context_extensions':
      return { proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [...spec.extensions] } } as Proposal
    case 'custom':
      return { proposalType: spec.proposalType, proposalData: spec.data } as Proposal
  }
}
