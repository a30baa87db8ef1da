/**
 * `/burrow/sync/1`: log replication between allowed peers over one
 * long-lived stream per connection.
 *
 * - `frames.ts`: the five frames (`have`, `ops`, `synced`, `ephemeral`, `refused`) and their limits.
 * - `session.ts`: one peer's end of the protocol: what to offer, what to
 *   accept (through a `SyncPolicy`), backpressure both ways. It composes:
 *   - `inbox.ts`: frames in from the stream, in order, with bounded read-ahead.
 *   - `ingest.ts`: a received frame decoded, its signatures checked ahead, what the policy wants stored.
 *   - `receipts.ts`: our confirmations and refusals of what the peer sent.
 *   - `remote-heights.ts`: what the peer holds of each shared log, within its bound.
 *   - `send-queue.ts`: what waits to be sent, one entry per log, in turn.
 *   - `log-sender.ts`: one log's turn: our `have`, anchors, what the peer lacks, `synced`.
 *   - `send-window.ts`: our bytes in flight, sized to the rate the peer confirms.
 *   - `frame-writer.ts`: frames out to the stream, waiting for the peer to read them.
 * - `manager.ts`: a session on every connection, live push to all of them.
 * - `share-limit.ts`: logs shared with a peer in part only (a departed group member).
 * - `channel.ts`: the byte channel a session runs on.
 * @module
 */
export * from './channel.js'
export { MAX_REASON_CHARS, reasonOf, SYNC_ERRORS, SyncError, type SyncErrorCode } from './errors.js'
export * from './frames.js'
export * from './session.js'
export { WRITE_HIGH_WATER } from './frame-writer.js'
export { SEND_SLICE_BYTES } from './log-sender.js'
export { storeForPeer, type ShareLimit, type SharePolicy } from './share-limit.js'
export { SyncManager, type SyncManagerEvents, type SyncManagerOptions } from './manager.js'
