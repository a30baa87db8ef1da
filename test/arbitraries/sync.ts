/**
 * Arbitraries of `/burrow/sync/1`: every frame type with any content its
 * shape allows, and whole frame sequences a hostile peer may send a live
 * session (frames about logs it shares and does not share, valid, replayed,
 * reordered and forged operations, floods, garbage, any chunking).
 */
import fc from 'fast-check'
import type { Operation } from '../../src/log/index.js'
import { encodeFrame, type SyncFrame, type WireOperation } from '../../src/net/sync/index.js'
import { anyBytes, applyEdits, byteEdits, opaqueBytes, type ByteEdit } from './bytes.js'
import { bytes32, logId, safeUint } from './log.js'


const wireOperation: fc.Arbitrary<WireOperation> = fc.record({
  header: opaqueBytes(1, 120),
  payload: fc.option(opaqueBytes(0, 60), { nil: null }),
})

/** Any frame, as `FrameDecoder` returns it (an `ask` flag only when true). */
export const syncFrame: fc.Arbitrary<SyncFrame> = fc.oneof(
  fc
    .record({ logId, heights: fc.array(fc.record({ author: bytes32, seq: safeUint }), { maxLength: 5 }), ask: fc.boolean() })
    .map(({ ask, ...have }): SyncFrame => (ask ? { type: 'have', ...have, ask } : { type: 'have', ...have })),
  fc.record({ logId, ops: fc.array(wireOperation, { maxLength: 4 }) }).map((ops): SyncFrame => ({ type: 'ops', ...ops })),
  logId.map((id): SyncFrame => ({ type: 'synced', logId: id })),
  fc.record({ logId, data: opaqueBytes(0, 64) }).map((e): SyncFrame => ({ type: 'ephemeral', ...e })),
  fc.record({ logId, from: fc.array(fc.record({ author: bytes32, seq: safeUint }), { maxLength: 5 }) }).map((r): SyncFrame => ({ type: 'refused', ...r })),
)

/** Bytes of a frame stream a peer might send: valid frames, edited frames (length prefix kept or not), random bytes. */
export const frameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  syncFrame.map(encodeFrame),
  fc.tuple(syncFrame.map(encodeFrame), byteEdits(4), fc.boolean()).map(([bytes, edits, fixPrefix]) => {
    const out = applyEdits(bytes, edits)
    // Keep the announced length right, so the edit reaches the body's decoder.
    if (fixPrefix && out.length >= 4) new DataView(out.buffer).setUint32(0, out.length - 4)
    return out
  }),
  anyBytes(200),
)

/**
 * The logs, authors and operations a session under test knows about:
 * `shared` logs (the policy shares them with the peer), `unshared` ones
 * (known to the store, not shared), and honest operations of each.
 */
export interface SessionWorld {
  readonly shared: readonly Uint8Array[]
  readonly unshared: readonly Uint8Array[]
  readonly authors: readonly Uint8Array[]
  /** Honest operations, each log's in chain order. */
  readonly ops: readonly Operation[]
}

/** One thing the hostile peer does. */
export type HostileStep =
  | { readonly kind: 'have'; readonly log: number; readonly heights: readonly { author: number; seq: number }[]; readonly ask: boolean }
  | {
      readonly kind: 'ops'
      readonly log: number
      /** Operations of the frame's own log (the usual case), or of any log. */
      readonly ownLog: boolean
      /** Consecutive operations of one author from a seq on, or any operations in any order. */
      readonly ops: { readonly author: number; readonly from: number; readonly count: number } | readonly number[]
      readonly forged: readonly { op: number; inHeader: boolean; edits: readonly ByteEdit[] }[]
    }
  | { readonly kind: 'synced'; readonly log: number }
  | { readonly kind: 'refused'; readonly log: number; readonly from: readonly { readonly author: number; readonly seq: number }[] }
  | { readonly kind: 'ephemeral'; readonly log: number; readonly bytes: number }
  | { readonly kind: 'flood'; readonly logs: number; readonly authors: number }
  | { readonly kind: 'garbage'; readonly bytes: Uint8Array }

const index = fc.nat({ max: 1 << 12 })

/** One step of a hostile peer; log and operation indices are resolved against a {@link SessionWorld} (a made-up log beyond its logs). */
export const hostileStep: fc.Arbitrary<HostileStep> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('have' as const), log: index, heights: fc.array(fc.record({ author: index, seq: fc.oneof(fc.nat(8), safeUint) }), { maxLength: 6 }), ask: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('ops' as const),
      log: index,
      ownLog: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ops: fc.oneof(fc.record({ author: index, from: fc.oneof(fc.constant(0), fc.nat(8)), count: fc.integer({ min: 1, max: 8 }) }), fc.array(index, { maxLength: 8 })),
      forged: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.record({ op: index, inHeader: fc.boolean(), edits: byteEdits(3) }), { minLength: 1, maxLength: 2 }) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('synced' as const), log: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refused' as const), log: index, from: fc.array(fc.record({ author: index, seq: fc.oneof(fc.nat(8), safeUint) }), { maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ephemeral' as const), log: index, bytes: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 300 }) }, { weight: 1, arbitrary: fc.nat({ max: 20_000 }) }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flood' as const), logs: fc.integer({ min: 1, max: 16 }), authors: fc.constantFrom(10, 500, 2_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: frameBytes }) },
)

/** A sequence of steps; broken framing ends a session, so garbage is likelier at the end. */
const hostileSteps = fc.tuple(fc.array(hostileStep.filter((s) => s.kind !== 'garbage'), { minLength: 1, maxLength: 30 }), fc.option(hostileStep, { nil: undefined, freq: 2 })).map(([steps, last]) => (last === undefined ? steps : [...steps, last]))

/** A hostile peer's whole performance: its steps, how the bytes are cut, and whether it reads what the session sends. */
export const hostilePeer = fc.record({
  steps: fc.oneof({ weight: 3, arbitrary: hostileSteps }, { weight: 1, arbitrary: fc.array(hostileStep, { minLength: 1, maxLength: 30 }) }),
  chunks: fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 70_000 })), { minLength: 1, maxLength: 6 }),
  reads: fc.boolean(),
  /** How much of each honest log our store holds before the session starts (a prefix; 0 = none). */
  held: fc.array(fc.nat({ max: 8 }), { minLength: 4, maxLength: 4 }),
  /** Our store also holds a large log to send, so that the session's sends block on a peer that does not read. */
  bigLog: fc.boolean(),
})
