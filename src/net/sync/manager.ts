import { EventEmitter } from 'node:events'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../../logging.js'
import { silentLogger } from '../../logging.js'
import { BurrowError } from '../../errors.js'
import { sleep } from '../../util/async.js'
import type { LogId, Operation } from '../../log/types.js'
import type { ForkProof } from '../../log/fork.js'
import { SYNC_PROTOCOL } from './frames.js'
import { SyncSession, type SyncStore } from './session.js'
import { storeForPeer, type SharePolicy } from './share-limit.js'
import type { AddressTable } from '../address-table.js'
import { NetError } from '../errors.js'
import { reasonOf, SyncError } from './errors.js'
import { streamChannel } from '../stream-channel.js'
import { VerifierPool } from '../../log/verify-pool.js'

/**
 * Sessions one peer may hold at once. Two peers that dial each other at the
 * same moment hold two connections, each with its session; a peer opening
 * more (over more connections) only multiplies what each session may buffer.
 */
const MAX_SESSIONS_PER_PEER = 2

/**
 * Session endings after which the peer is cut off entirely (its connections
 * closed), not just this stream: it sent invalid data, made the session
 * exceed a bound, or stopped reading. Nothing would otherwise reopen sync on
 * that connection; the connector dials again later, with backoff.
 */
const HANG_UP_CODES = new Set(['SYNC_PROTOCOL', 'SYNC_LIMIT', 'SYNC_PEER_STALLED'])

/** Failures in a row to open (or keep) the sync stream on a connection we dialed before closing it (1 s, 2 s, 4 s apart). */
const OPEN_STREAM_ATTEMPTS = 4
/** A session that ran this long before it ended was no failure to open: its reopening starts the count over. */
const SESSION_LIVED_MS = 60_000

/** Events of the {@link SyncManager}. */
export interface SyncManagerEvents {
  /** A peer finished answering our `have` for a log: first sync round done for it. */
  'caught-up': [{ peer: string; logId: LogId }]
  /** Operations from `peer` were validated and stored. */
  ingested: [{ peer: string; logId: LogId; operations: Operation[]; stored: number }]
  /** The stream to `peer` took our operations of `author`'s log up to `seq`. */
  sent: [{ peer: string; logId: LogId; author: Uint8Array; seq: number }]
  /** An ephemeral message from a peer that shares the log in full (never from one that shares it in part). */
  ephemeral: [{ peer: string; logId: LogId; data: Uint8Array }]
  /** `peer` sent an operation that conflicts with a stored one of the same author and position: the proof is stored, the author's log closed. */
  fork: [{ peer: string; proof: ForkProof }]
  /** A session started (`started`) or ended; `error` when the peer misbehaved or the stream broke. */
  session: [{ peer: string; state: 'started' | 'ended'; error?: Error }]
}

/** Options of the {@link SyncManager}. */
export interface SyncManagerOptions {
  libp2p: Libp2p
  store: SyncStore
  /** Entitlements by PeerId string; a log may be shared with a peer in part only (share-limit.ts). */
  policy: SharePolicy
  table: AddressTable
  logger?: Logger
}

/**
 * Runs `/burrow/sync/1` on every connection to an allowed peer: one
 * long-lived stream per peer (every new stream costs a Tor round trip),
 * opened by the side that dialed. Ingested operations are offered on to the
 * other sessions, so data also flows between members who are not directly
 * connected.
 */
export class SyncManager extends EventEmitter<SyncManagerEvents> {
  readonly #libp2p: Libp2p
  readonly #store: SyncStore
  readonly #policy: SharePolicy
  readonly #table: AddressTable
  readonly #log: Logger
  /** Checks received signatures on worker threads for every session; stopped with the manager. */
  readonly #verifier = new VerifierPool()
  /**
   * Running sessions. Two peers that dial each other at the same moment hold
   * two connections, each with its session: both are kept (they only
   * duplicate some pushes) rather than each side closing a different one.
   */
  readonly #sessions = new Set<SyncSession>()
  #stopped = false
  readonly #onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (connection.direction === 'outbound') void this.#openStream(connection)
  }

  constructor(options: SyncManagerOptions) {
    super()
    this.#libp2p = options.libp2p
    this.#store = options.store
    this.#policy = options.policy
    this.#table = options.table
    this.#log = options.logger ?? silentLogger
  }

  async start(): Promise<void> {
    const handler = async (stream: Stream, connection: Connection): Promise<void> => {
      await this.#run(stream, connection.remotePeer.toString())
    }
    await this.#libp2p.handle(SYNC_PROTOCOL, handler, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    this.#libp2p.addEventListener('connection:open', this.#onOpen)
    // Connections that opened before we listened.
    for (const connection of this.#libp2p.getConnections()) {
      if (connection.direction === 'outbound') void this.#openStream(connection)
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#libp2p.removeEventListener('connection:open', this.#onOpen)
    await this.#libp2p.unhandle(SYNC_PROTOCOL).catch(() => {})
    await Promise.all([...this.#sessions].map((s) => s.close()))
    this.#sessions.clear()
    await this.#verifier.close()
  }

  /** Peers with a running sync session. */
  peers(): string[] {
    return [...new Set([...this.#sessions].map((s) => s.peer))]
  }

  /** How many sync sessions `peer` holds now (at most two). */
  sessionsWith(peer: string): number {
    return [...this.#sessions].filter((s) => s.peer === peer).length
  }

  /** Pushes newly stored operations to every peer that is entitled to them and lacks them. */
  offer(ops: readonly Operation[], except?: string): void {
    if (ops.length === 0) return
    for (const session of this.#sessions) if (session.peer !== except) session.offer(ops)
  }

  /** Announces a log that became shared (a new group, a new member) to the connected peers entitled to it. */
  share(logId: LogId): void {
    for (const session of this.#sessions) session.share(logId)
  }

  /** Asks every connected peer again for what this node refused of it (it can take it now). */
  askRefused(): void {
    for (const session of this.#sessions) session.askRefused()
  }

  /**
   * Sends an ephemeral message to the connected peers sharing `logId` in
   * full. Returns how many got it.
   *
   * @throws SyncError `SYNC_SEND_BACKLOG` when peers were connected but every one of them already had too much of ours waiting
   */
  async sendEphemeral(logId: LogId, data: Uint8Array): Promise<number> {
    // One message per peer, even with two sessions to it.
    const targets = new Map([...this.#sessions].filter((s) => this.#sharesInFull(s.peer, logId)).map((s) => [s.peer, s]))
    const results = await Promise.allSettled([...targets.values()].map((s) => s.sendEphemeral(logId, data)))
    const sent = results.filter((r) => r.status === 'fulfilled').length
    const backlogged = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof SyncError && r.reason.code === 'SYNC_SEND_BACKLOG')
    if (sent === 0 && backlogged !== undefined) throw backlogged.reason
    return sent
  }

  #sharesInFull(peer: string, logId: LogId): boolean {
    return this.#policy.mayShare(peer, logId) && this.#policy.limit?.(peer, logId) === undefined
  }

  /**
   * Keeps the sync stream open on a connection we dialed, for as long as the
   * connection lives. The peer may not serve the protocol yet (it is still
   * starting), and a session may end while the connection stays up (a reset
   * stream, the peer ending it): nothing else would reopen sync there, so
   * open it again, 1 s, 2 s, 4 s apart. After {@link OPEN_STREAM_ATTEMPTS}
   * failures in a row (a session that ran a minute counts as a success),
   * close the connection so that reconnection starts over, rather than keep
   * a connection that carries no sync.
   */
  async #openStream(connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    let lastError: unknown
    for (let failures = 0; failures < OPEN_STREAM_ATTEMPTS; ) {
      if (connection.status !== 'open' || this.#stopped) return
      const started = Date.now()
      try {
        const stream = await connection.newStream(SYNC_PROTOCOL)
        const ending = await this.#run(stream, peer)
        // Refused by our own checks, or the peer was cut off: not ours to reopen.
        if (ending === undefined || (ending instanceof BurrowError && HANG_UP_CODES.has(ending.code))) return
        lastError = ending
      } catch (err) {
        lastError = err
      }
      failures = Date.now() - started >= SESSION_LIVED_MS ? 1 : failures + 1
      if (failures < OPEN_STREAM_ATTEMPTS) await sleep(1_000 * 2 ** (failures - 1))
    }
    if (connection.status !== 'open' || this.#stopped) return
    const reason = reasonOf(lastError)
    this.#log.warn({ peer, reason }, 'could not keep a sync stream open; closing the connection')
    this.#table.recordError(peer, lastError instanceof BurrowError ? lastError.code : 'SYNC_STREAM_FAILED', reason)
    await connection.close().catch(() => connection.abort(new NetError('SYNC_STREAM_FAILED', reason)))
  }

  /**
   * Runs one session on `stream` until it ends. Resolves with how it ended
   * (an error, or a closed-session error for a clean end), or `undefined`
   * when it was refused before it started.
   */
  async #run(stream: Stream, peer: string): Promise<Error | undefined> {
    // The gater already refused strangers; this guards a peer removed since its connection opened.
    if (!this.#table.isAllowed(peer)) {
      stream.abort(new NetError('PEER_NOT_ALLOWED'))
      return undefined
    }
    if (this.sessionsWith(peer) >= MAX_SESSIONS_PER_PEER) {
      stream.abort(new SyncError('SYNC_LIMIT', `a peer may hold at most ${MAX_SESSIONS_PER_PEER} sync sessions`))
      return undefined
    }
    const store = storeForPeer(this.#store, this.#policy, peer)
    const session = new SyncSession({ peer, channel: streamChannel(stream), store, policy: this.#policy, verifier: this.#verifier, logger: this.#log })
    this.#sessions.add(session)
    session.on('caught-up', ({ logId }) => this.emit('caught-up', { peer, logId }))
    session.on('ephemeral', ({ logId, data }) => {
      if (this.#sharesInFull(peer, logId)) this.emit('ephemeral', { peer, logId, data })
    })
    session.on('fork', (proof) => this.emit('fork', { peer, proof }))
    session.on('sent', (sent) => this.emit('sent', { peer, ...sent }))
    session.on('ingested', ({ logId, operations, stored }) => {
      this.#table.markSeen(peer)
      this.emit('ingested', { peer, logId, operations, stored })
      if (stored > 0) this.offer(operations, peer)
    })
    let ending: Error = new SyncError('SYNC_CLOSED')
    session.once('closed', ({ error }) => {
      if (error !== undefined) ending = error
      this.#sessions.delete(session)
      if (error !== undefined) {
        this.#table.recordError(peer, error instanceof BurrowError ? error.code : 'SYNC_CLOSED', error.message)
        if (error instanceof BurrowError && HANG_UP_CODES.has(error.code)) void this.#libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
      }
      this.emit('session', error ? { peer, state: 'ended', error } : { peer, state: 'ended' })
    })
    this.#table.markSeen(peer)
    this.emit('session', { peer, state: 'started' })
    await session.start()
    return ending
  }
}
