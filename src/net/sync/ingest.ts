/**
 * The receiving side of a session, from a frame's bytes to stored
 * operations. A frame is decoded as it arrives, and an `ops` frame's
 * operations of a shared log with it, so that the verifier checks their
 * signatures while earlier frames are stored. In its turn, what the policy
 * wants of a frame is validated and stored by the store in slices, and the
 * peer gets its receipts (receipts.ts). Every operation is decoded within
 * the decode limits and validated before anything is kept: the first
 * invalid one ends the session with `SYNC_PROTOCOL`.
 * @module
 */
import type { EventEmitter } from 'node:events'
import { setImmediate as yieldToIo } from 'node:timers/promises'
import { BurrowError } from '../../errors.js'
import { bytesEqual, toHex } from '../../log/bytes.js'
import { decodeOperation } from '../../log/operation.js'
import type { DecodeLimits, LogId, Operation } from '../../log/types.js'
import type { VerifierPool } from '../../log/verify-pool.js'
import { SyncError } from './errors.js'
import { decodeFrame, type FrameLimits, type SyncFrame, type WireOperation } from './frames.js'
import type { Receipts } from './receipts.js'
import type { RemoteHeights } from './remote-heights.js'
import type { SyncPolicy, SyncSessionEvents, SyncStore } from './session.js'

/**
 * Operations validated and stored per slice (and transaction) of a received
 * frame: about 15 ms of work with their signature checks, so that a frame of
 * many small operations does not hold the event loop for long.
 */
const INGEST_SLICE = 128

/**
 * A received frame as its turn comes: decoded as it arrived (an `ops`
 * frame's operations too, their signatures being checked meanwhile by the
 * verifier), or the error decoding it raised, thrown when its turn comes.
 */
export type ReceivedFrame = { frame: SyncFrame; ops?: Operation[]; verified?: Promise<void> } | { error: unknown }

/** Options of an {@link Ingest}. */
export interface IngestOptions {
  /** The remote peer's id, for the policy. */
  peer: string
  store: Pick<SyncStore, 'ingest'>
  policy: SyncPolicy
  frameLimits: FrameLimits
  decodeLimits: DecodeLimits
  /** Checks signatures ahead of the store (`SyncSessionOptions.verifier`). */
  verifier: Pick<VerifierPool, 'verify'> | undefined
  /** The peer's heights, raised by what it sent us. */
  remote: Pick<RemoteHeights, 'get'>
  receipts: Pick<Receipts, 'confirm' | 'refuse'>
  /** Hears `fork` and `ingested`. */
  events: Pick<EventEmitter<SyncSessionEvents>, 'emit'>
  /** Whether the session ended: nothing more is stored then. */
  closed: () => boolean
}

/** Takes in the frames of one peer, and stores the operations it sent. */
export class Ingest {
  readonly #peer: string
  readonly #store: Pick<SyncStore, 'ingest'>
  readonly #policy: SyncPolicy
  readonly #frameLimits: FrameLimits
  readonly #decodeLimits: DecodeLimits
  readonly #verifier: Pick<VerifierPool, 'verify'> | undefined
  readonly #remote: Pick<RemoteHeights, 'get'>
  readonly #receipts: Pick<Receipts, 'confirm' | 'refuse'>
  readonly #events: Pick<EventEmitter<SyncSessionEvents>, 'emit'>
  readonly #closed: () => boolean

  constructor(options: IngestOptions) {
    this.#peer = options.peer
    this.#store = options.store
    this.#policy = options.policy
    this.#frameLimits = options.frameLimits
    this.#decodeLimits = options.decodeLimits
    this.#verifier = options.verifier
    this.#remote = options.remote
    this.#receipts = options.receipts
    this.#events = options.events
    this.#closed = options.closed
  }

  /**
   * Decodes a frame as it arrives, and an `ops` frame's operations of a
   * shared log, whose signatures the verifier then checks while the frames
   * ahead of it are handled. Throws nothing: an error waits for the
   * frame's turn, so everything before it is still handled first.
   */
  receive(body: Uint8Array): ReceivedFrame {
    try {
      const frame = decodeFrame(body, this.#frameLimits)
      if (frame.type !== 'ops' || this.#verifier === undefined || !this.#policy.mayShare(this.#peer, frame.logId)) return { frame }
      const ops = this.#decode(frame.logId, frame.ops)
      return { frame, ops, verified: this.#verifier?.verify(ops) }
    } catch (error) {
      return { error }
    }
  }

  /**
   * An `ops` frame of a shared log in its turn: `early` is what {@link receive}
   * made of it. Stores the operations the policy wants, and tells the peer.
   */
  async take(logId: LogId, wire: WireOperation[], early: { ops?: Operation[]; verified?: Promise<void> }): Promise<void> {
    await early.verified
    await this.#ingest(logId, this.#wanted(logId, early.ops ?? this.#decode(logId, wire)))
  }

  #decode(logId: LogId, wire: WireOperation[]): Operation[] {
    return wire.map((w) => {
      let op: Operation
      try {
        op = decodeOperation(w.header, w.payload ?? undefined, this.#decodeLimits)
      } catch (cause) {
        throw new SyncError('SYNC_PROTOCOL', `the peer sent a malformed operation (${cause instanceof BurrowError ? cause.code : 'error'})`, { cause })
      }
      if (!bytesEqual(op.header.logId, logId)) throw new SyncError('SYNC_PROTOCOL', 'an operation does not belong to the log of its frame')
      return op
    })
  }

  /** The operations the policy wants; the others are dropped unread, and the peer is told (`refused`). */
  #wanted(logId: LogId, ops: Operation[]): Operation[] {
    const accepts = this.#policy.accepts
    if (accepts === undefined) return ops
    const wanted: Operation[] = []
    const refused: Operation[] = []
    for (const op of ops) (accepts.call(this.#policy, this.#peer, op.header) ? wanted : refused).push(op)
    if (refused.length > 0) this.#receipts.refuse(logId, refused)
    return wanted
  }

  /**
   * Validates and stores a frame's operations in slices, yielding the event
   * loop between them, so that reads and window updates keep flowing (and the
   * circuit full) while a frame is validated.
   */
  async #ingest(logId: LogId, ops: Operation[]): Promise<void> {
    for (let i = 0; i < ops.length; i += INGEST_SLICE) {
      if (i > 0) await yieldToIo()
      if (this.#closed()) return
      this.#keep(logId, ops.slice(i, i + INGEST_SLICE))
    }
  }

  #keep(logId: LogId, ops: Operation[]): void {
    const result = this.#store.ingest(ops)
    for (const proof of result.forks) this.#events.emit('fork', proof)
    // A forked author's later operations are refused by the store, but relaying them is no fault of this peer.
    const first = result.rejected.find((r) => r.error.code !== 'STORE_LOG_FORKED')
    if (first !== undefined) {
      throw new SyncError('SYNC_PROTOCOL', `the peer sent an invalid operation (${first.error.code}: ${first.error.message})`, { cause: first.error })
    }
    this.#events.emit('ingested', { logId, operations: ops, stored: result.stored })
    if (ops.length > 0) this.#receipts.confirm(logId, ops)
    const heights = this.#remote.get(toHex(logId))
    if (heights !== undefined) for (const op of ops) heights.raise(toHex(op.header.author), op.header.seq)
  }
}
