import type { Database, Statement, Transaction } from 'better-sqlite3'
import { bytesEqual, toHex } from '../log/bytes.js'
import {
  createForkProof,
  decodeForkProof,
  encodeForkProof,
  forkProofId,
  type ForkProof,
} from '../log/fork.js'
import { decodeHeader, isPrunePoint } from '../log/header.js'
import { LogError } from '../log/errors.js'
import { validateOperation, type ChainLink } from '../log/validate.js'
import type { Hash, Header, LogId, Operation } from '../log/types.js'
import { StoreError } from './errors.js'

/**
 * Logs whose heights a store keeps in memory (the ones read lately: those
 * being replicated); beyond it, the least recently read is dropped. At 1,000
 * authors a log's heights take about 150 KB.
 */
const CACHED_HEIGHT_LOGS = 64

/** Page cache (KiB) while {@link LogStore.operationCount} walks its index: SQLite's own default size. */
const COUNT_CACHE_KIB = 2000

/** Most earlier operations one `delete` extension may name. */
export const MAX_DELETE_TARGETS = 256

/**
 * The earlier operations of its own log whose payloads `header` asks every
 * store to delete: its `delete` extension, when that is an array of 1 to
 * {@link MAX_DELETE_TARGETS} unsigned integers, strictly ascending, each
 * below the header's seq. Any other value asks for nothing: the extension is
 * read by stores, not by the validation rules, so the operation stays valid.
 * Only an operation's own author can name its operations this way: the
 * targets are in the same (author, log id).
 */
export function deletionTargets(header: Pick<Header, 'seq' | 'extensions'>): number[] {
  const value = header.extensions.get('delete')
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_DELETE_TARGETS) return []
  const seqs = value as readonly unknown[]
  let previous = -1
  for (const s of seqs) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s <= previous || s >= header.seq) return []
    previous = s
  }
  return seqs as number[]
}

/** An operation the store refused, and why. */
export interface RejectedOperation {
  /** The refused operation. */
  readonly operation: Operation
  /** Why: a `LogError`, or a `StoreError` with code `STORE_LOG_FORKED`. */
  readonly error: LogError | StoreError
}

/** Outcome of {@link LogStore.ingest}. */
export interface IngestResult {
  /** Operations newly stored. */
  readonly stored: number
  /** Operations with nothing to do: already stored, or older than their log's retained (pruned) start. */
  readonly duplicates: number
  /** Invalid operations, not stored. */
  readonly rejected: readonly RejectedOperation[]
  /** Forks detected in this batch (each log's proof is also stored, and the log closed). */
  readonly forks: readonly ForkProof[]
}

interface StoredRow {
  seq: number
  hash: Buffer
}

/** What is stored around an incoming operation's position. */
interface Neighbourhood {
  readonly previous: ChainLink | null
  readonly existing?: StoredRow
  readonly next?: StoredRow
}

/**
 * When `op` fills a gap below a stored operation (possible after a pruned
 * start was accepted first), that successor's backlink must name `op`.
 */
function checkNextLinks(op: Operation, next: { header: Buffer } | undefined): void {
  if (next === undefined) return
  const backlink = decodeHeader(next.header).backlink
  if (backlink === null || !bytesEqual(backlink, op.hash)) {
    throw new LogError('LOG_WRONG_BACKLINK', `stored operation at seq ${op.header.seq + 1} does not link to this one`)
  }
}

/** An operation as stored: its seq, signed header bytes and payload (null when deleted or empty). */
export interface WireRow {
  readonly seq: number
  readonly header: Uint8Array
  readonly payload: Uint8Array | null
}

/** Row counts, for status output and tests. */
export interface LogStoreCounts {
  /** Stored operations (headers). */
  readonly operations: number
  /** Stored operations whose payload is present. */
  readonly payloads: number
  /** Distinct (author, log id) pairs. */
  readonly logs: number
  /** Forked logs. */
  readonly forks: number
}

/** A fork proof as stored, with what it names and when it was detected here. */
export interface StoredFork {
  /** The proof's short id (`forkProofId`): how `burrow forks export` names it. */
  readonly id: string
  /** The author who signed two operations at one position: marked forked. */
  readonly author: Uint8Array
  readonly logId: LogId
  readonly seq: number
  /** When this node detected it, ms since the Unix epoch (undefined for proofs stored before detection times were kept). */
  readonly detectedAt?: number
  readonly proof: ForkProof
}

/** Options of {@link LogStore}. */
export interface LogStoreOptions {
  /** Clock for fork detection times (ms since the Unix epoch). */
  readonly now?: () => number
}

interface OperationRow {
  header: Buffer
  payload: Buffer | null
}

type Outcome = 'stored' | 'duplicate' | { fork: ForkProof }

/** better-sqlite3 returns BLOBs as Buffers; the API hands out plain Uint8Arrays (a view, no copy). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

// Operations whose header was already checked on the way in; decoding the
// stored bytes back only rebuilds the object.
function rowToOperation(row: OperationRow & { hash: Buffer }): Operation {
  const headerBytes = plain(row.header)
  const header = decodeHeader(headerBytes)
  return row.payload === null
    ? { header, headerBytes, hash: plain(row.hash) }
    : { header, headerBytes, hash: plain(row.hash), payload: plain(row.payload) }
}

/**
 * Signed append-only logs in SQLite. Every write validates against what is
 * stored, inside one transaction per call, so a crash keeps either the whole
 * batch or none of it. Works inside a caller's `db.transaction(...)` too.
 */
export class LogStore {
  private readonly db: Database
  private readonly now: () => number
  private readonly stmt: {
    hashAt: Statement<[Uint8Array, Uint8Array, number], { hash: Buffer; header: Buffer }>
    around: Statement<[Uint8Array, Uint8Array, number, number], StoredRow>
    minSeq: Statement<[Uint8Array, Uint8Array], { seq: number | null }>
    isForked: Statement<[Uint8Array, Uint8Array], { one: number }>
    insert: Statement<[Uint8Array, Uint8Array, Uint8Array, number, Uint8Array, number, Uint8Array | null, number]>
    insertFork: Statement<[Uint8Array, Uint8Array, number, Uint8Array, number]>
    heights: Statement<[{ log: Uint8Array }], { author: Buffer; seq: number }>
    after: Statement<[Uint8Array, Uint8Array, number, number], OperationRow & { hash: Buffer }>
    last: Statement<[Uint8Array, Uint8Array], OperationRow & { hash: Buffer }>
    wireAfter: Statement<[Uint8Array, Uint8Array, number, number], WireRow>
    byHash: Statement<[Uint8Array], OperationRow & { hash: Buffer }>
    forks: Statement<[], { proof: Buffer }>
    storedForks: Statement<[], { log_id: Buffer; author: Buffer; seq: number; proof: Buffer; detected_at: number | null }>
    forkedAuthors: Statement<[], { author: Buffer }>
    deletePayload: Statement<[Uint8Array]>
    deletePayloadAt: Statement<[Uint8Array, Uint8Array, number]>
    markDeleted: Statement<[Uint8Array, Uint8Array, number]>
    isDeleted: Statement<[Uint8Array, Uint8Array, number], { one: number }>
    prune: Statement<[Uint8Array, Uint8Array, number]>
    pruneDeleted: Statement<[Uint8Array, Uint8Array, number]>
    dropLog: Statement<[Uint8Array, Uint8Array]>
    prunePoint: Statement<[Uint8Array, Uint8Array, number], { seq: number | null }>
    dropDeleted: Statement<[Uint8Array, Uint8Array]>
    logIds: Statement<[], { log_id: Buffer }>
    counts: Statement<[], LogStoreCounts>
    operationCount: Statement<[], { n: number }>
  }

  /**
   * Heights per log (hex) and author (hex), as committed: `heights()` runs on
   * every connection and, during a replication, on every confirmation, and
   * reading it from SQLite costs about 15 µs per author. Only this store
   * writes the log tables; what it commits raises these, and a write inside
   * a caller's transaction (which may still roll back) drops them instead.
   */
  private readonly cachedHeights = new Map<string, Map<string, number>>()
  private readonly appendTx: Transaction<(op: Operation) => void>
  private readonly ingestTx: Transaction<(ops: readonly Operation[]) => IngestResult>
  private readonly pruneTx: Transaction<(author: Uint8Array, logId: LogId, belowSeq: number) => number>

  /** Wraps an open, migrated database (see `openDatabase`). */
  constructor(db: Database, options: LogStoreOptions = {}) {
    this.db = db
    this.now = options.now ?? Date.now
    // IMMEDIATE: take the write lock up front, so a batch never fails halfway
    // on a lock upgrade. Inside a caller's transaction these become savepoints.
    this.appendTx = db.transaction((op: Operation) => this.appendOne(op))
    this.ingestTx = db.transaction((ops: readonly Operation[]) => this.ingestBatch(ops))
    this.pruneTx = db.transaction((author: Uint8Array, logId: LogId, belowSeq: number) => this.pruneBelow(author, logId, belowSeq))
    this.stmt = {
      hashAt: db.prepare('SELECT hash, header FROM log_operations WHERE log_id = ? AND author = ? AND seq = ?'),
      // Headers stay on disk here: only a fork or a filled gap needs one (hashAt).
      around: db.prepare('SELECT seq, hash FROM log_operations WHERE log_id = ? AND author = ? AND seq BETWEEN ? AND ?'),
      minSeq: db.prepare('SELECT MIN(seq) AS seq FROM log_operations WHERE log_id = ? AND author = ?'),
      isForked: db.prepare('SELECT 1 AS one FROM log_forks WHERE log_id = ? AND author = ?'),
      insert: db.prepare(
        `INSERT INTO log_operations (hash, log_id, author, seq, header, payload_size, payload, prune_point)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertFork: db.prepare('INSERT OR IGNORE INTO log_forks (log_id, author, seq, proof, detected_at) VALUES (?, ?, ?, ?, ?)'),
      // GROUP BY would read every row of the log (65 ms at 150,000 operations,
      // on every connection): this skips from author to author through the
      // (log_id, author, seq) index instead, a few lookups per author.
      heights: db.prepare(
        `WITH RECURSIVE authors(author) AS (
           SELECT (SELECT author FROM log_operations WHERE log_id = @log ORDER BY author LIMIT 1)
           UNION ALL
           SELECT (SELECT author FROM log_operations WHERE log_id = @log AND author > authors.author ORDER BY author LIMIT 1)
           FROM authors WHERE authors.author IS NOT NULL
         )
         SELECT author, (SELECT MAX(seq) FROM log_operations WHERE log_id = @log AND author = authors.author) AS seq
         FROM authors WHERE author IS NOT NULL`,
      ),
      after: db.prepare(
        `SELECT hash, header, payload FROM log_operations
         WHERE log_id = ? AND author = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      last: db.prepare('SELECT hash, header, payload FROM log_operations WHERE log_id = ? AND author = ? ORDER BY seq DESC LIMIT 1'),
      wireAfter: db.prepare(
        `SELECT seq, header, payload FROM log_operations
         WHERE log_id = ? AND author = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      byHash: db.prepare('SELECT hash, header, payload FROM log_operations WHERE hash = ?'),
      forks: db.prepare('SELECT proof FROM log_forks ORDER BY log_id, author'),
      storedForks: db.prepare('SELECT log_id, author, seq, proof, detected_at FROM log_forks ORDER BY detected_at IS NULL, detected_at, log_id, author'),
      forkedAuthors: db.prepare('SELECT DISTINCT author FROM log_forks'),
      deletePayload: db.prepare('UPDATE log_operations SET payload = NULL WHERE hash = ? AND payload IS NOT NULL'),
      deletePayloadAt: db.prepare('UPDATE log_operations SET payload = NULL WHERE log_id = ? AND author = ? AND seq = ? AND payload IS NOT NULL'),
      markDeleted: db.prepare('INSERT OR IGNORE INTO log_deleted (log_id, author, seq) VALUES (?, ?, ?)'),
      isDeleted: db.prepare('SELECT 1 AS one FROM log_deleted WHERE log_id = ? AND author = ? AND seq = ?'),
      prune: db.prepare('DELETE FROM log_operations WHERE log_id = ? AND author = ? AND seq < ?'),
      pruneDeleted: db.prepare('DELETE FROM log_deleted WHERE log_id = ? AND author = ? AND seq < ?'),
      dropLog: db.prepare('DELETE FROM log_operations WHERE log_id = ? AND author = ?'),
      prunePoint: db.prepare('SELECT MAX(seq) AS seq FROM log_operations WHERE log_id = ? AND author = ? AND prune_point = 1 AND seq <= ?'),
      dropDeleted: db.prepare('DELETE FROM log_deleted WHERE log_id = ? AND author = ?'),
      logIds: db.prepare('SELECT DISTINCT log_id FROM log_operations ORDER BY log_id'),
      operationCount: db.prepare('SELECT COUNT(*) AS n FROM log_operations'),
      counts: db.prepare(
        `SELECT (SELECT COUNT(*) FROM log_operations) AS operations,
                (SELECT COUNT(*) FROM log_operations WHERE payload IS NOT NULL) AS payloads,
                (SELECT COUNT(*) FROM (SELECT DISTINCT log_id, author FROM log_operations)) AS logs,
                (SELECT COUNT(*) FROM log_forks) AS forks`,
      ),
    }
  }

  /**
   * Stores one of this node's own operations. Throws the validation error,
   * `STORE_SEQ_OCCUPIED` if the position holds a different operation (a
   * local write never records a fork against ourselves), or
   * `STORE_LOG_FORKED`. Appending the same operation twice is a no-op.
   */
  append(op: Operation): void {
    const nested = this.db.inTransaction
    this.appendTx.immediate(op)
    this.noteStored([op], nested)
  }

  private appendOne(op: Operation): void {
    const { header } = op
    const around = this.neighbourhood(op)
    if (around.existing !== undefined) {
      if (bytesEqual(around.existing.hash, op.hash)) return
      throw new StoreError('STORE_SEQ_OCCUPIED', `seq ${header.seq} already holds a different operation`)
    }
    if (this.stmt.isForked.get(header.logId, header.author) !== undefined) throw new StoreError('STORE_LOG_FORKED')
    validateOperation(op, around.previous)
    if (around.next !== undefined) checkNextLinks(op, this.stmt.hashAt.get(header.logId, header.author, header.seq + 1))
    this.insert(op)
  }

  /**
   * Validates and stores a batch received from peers, in one transaction.
   * Operations are taken in order, each against the stored log including
   * earlier operations of the same batch. Valid ones are stored, invalid
   * ones reported (an operation after a rejected one of the same log is then
   * rejected too, for lack of its predecessor). A second valid operation at
   * an occupied position yields a fork proof, stored with the log marked
   * forked; such a log accepts nothing more.
   */
  ingest(ops: readonly Operation[]): IngestResult {
    const nested = this.db.inTransaction
    let result: IngestResult | undefined
    try {
      result = this.ingestTx.immediate(ops)
      return result
    } finally {
      const rejected = new Set(result?.rejected.map((r) => r.operation))
      // Whatever was not rejected is stored at or below its log's height (a duplicate, or a fork's rival, was there already).
      this.noteStored(result === undefined ? ops : ops.filter((op) => !rejected.has(op)), nested || result === undefined)
    }
  }

  /**
   * Keeps the cached heights right after a write of `ops`: raised to what was
   * committed, or, when the write may not be committed (`uncertain`: inside
   * a caller's transaction, or it failed), dropped for the logs it touched.
   */
  private noteStored(ops: readonly Operation[], uncertain: boolean): void {
    for (const op of ops) {
      const logKey = toHex(op.header.logId)
      const cached = this.cachedHeights.get(logKey)
      if (cached === undefined) continue
      if (uncertain) {
        this.cachedHeights.delete(logKey)
        continue
      }
      const authorKey = toHex(op.header.author)
      if ((cached.get(authorKey) ?? -1) < op.header.seq) cached.set(authorKey, op.header.seq)
    }
  }

  private ingestBatch(ops: readonly Operation[]): IngestResult {
    let stored = 0
    let duplicates = 0
    const rejected: RejectedOperation[] = []
    const forks: ForkProof[] = []
    for (const op of ops) {
      try {
        const outcome = this.ingestOne(op)
        if (outcome === 'stored') stored++
        else if (outcome === 'duplicate') duplicates++
        else forks.push(outcome.fork)
      } catch (error) {
        if (!(error instanceof LogError || (error instanceof StoreError && error.code === 'STORE_LOG_FORKED'))) throw error
        rejected.push({ operation: op, error })
      }
    }
    return { stored, duplicates, rejected, forks }
  }

  private ingestOne(op: Operation): Outcome {
    const { header } = op
    const { previous, existing, next } = this.neighbourhood(op)
    if (existing !== undefined) {
      if (bytesEqual(existing.hash, op.hash)) return 'duplicate'
      // Only a validly signed conflicting header proves anything.
      validateOperation(op)
      // One proof per log suffices (and is reported once): a closed log takes nothing more.
      if (this.stmt.isForked.get(header.logId, header.author) !== undefined) throw new StoreError('STORE_LOG_FORKED')
      const stored = this.stmt.hashAt.get(header.logId, header.author, header.seq)!
      const fork = createForkProof(plain(stored.header), op.headerBytes)
      this.stmt.insertFork.run(header.logId, header.author, header.seq, encodeForkProof(fork), this.now())
      return { fork }
    }
    if (this.stmt.isForked.get(header.logId, header.author) !== undefined) throw new StoreError('STORE_LOG_FORKED')
    if (previous === null && header.seq > 0) {
      const start = this.stmt.minSeq.get(header.logId, header.author)?.seq ?? null
      if (start !== null && header.seq < start) return 'duplicate'
    }
    validateOperation(op, previous)
    if (next !== undefined) checkNextLinks(op, this.stmt.hashAt.get(header.logId, header.author, header.seq + 1))
    this.insert(op)
    return 'stored'
  }

  /** The stored operations at seq-1, seq and seq+1 of `op`'s log, in one index range scan. */
  private neighbourhood(op: Operation): Neighbourhood {
    const { author, logId, seq } = op.header
    const around: { previous: ChainLink | null; existing?: StoredRow; next?: StoredRow } = { previous: null }
    for (const row of this.stmt.around.all(logId, author, seq - 1, seq + 1)) {
      if (row.seq === seq - 1) around.previous = { author, logId, seq: row.seq, hash: plain(row.hash) }
      else if (row.seq === seq) around.existing = row
      else around.next = row
    }
    return around
  }

  /**
   * Stores `op`, without the payload its author already asked to delete, and
   * deletes the payloads it asks to delete (see {@link deletionTargets}).
   */
  private insert(op: Operation): void {
    const h = op.header
    const deleted = op.payload !== undefined && this.stmt.isDeleted.get(h.logId, h.author, h.seq) !== undefined
    this.stmt.insert.run(
      op.hash, h.logId, h.author, h.seq, op.headerBytes, h.payloadSize, deleted ? null : (op.payload ?? null), isPrunePoint(h) ? 1 : 0,
    )
    for (const seq of deletionTargets(h)) {
      this.stmt.markDeleted.run(h.logId, h.author, seq)
      this.stmt.deletePayloadAt.run(h.logId, h.author, seq)
    }
  }

  /** Highest stored seq per author in a log id, keyed by the author's hex public key; a fresh map each call, which the caller may change. */
  heights(logId: LogId): Map<string, number> {
    return new Map(this.sharedHeights(logId))
  }

  /** Highest stored seq of one author (hex) in a log id, or undefined; no copy of the log's heights, so a per-frame check stays cheap. */
  heightOf(logId: LogId, author: string): number | undefined {
    return this.sharedHeights(logId).get(author)
  }

  /** The cached heights of a log itself: callers must not change it. */
  private sharedHeights(logId: LogId): ReadonlyMap<string, number> {
    const logKey = toHex(logId)
    let heights = this.cachedHeights.get(logKey)
    if (heights !== undefined) {
      // Most recently read last: the first one is the one to drop.
      this.cachedHeights.delete(logKey)
      this.cachedHeights.set(logKey, heights)
      return heights
    }
    heights = new Map(this.stmt.heights.all({ log: logId }).map((r) => [toHex(r.author), r.seq]))
    // Inside a transaction this may read writes that are still rolled back.
    if (!this.db.inTransaction) {
      this.cachedHeights.set(logKey, heights)
      if (this.cachedHeights.size > CACHED_HEIGHT_LOGS) this.cachedHeights.delete(this.cachedHeights.keys().next().value!)
    }
    return heights
  }

  /** Up to `limit` operations of (author, log) with seq above `afterSeq`, in order (-1 for the start). */
  operationsAfter(author: Uint8Array, logId: LogId, afterSeq: number, limit: number): Operation[] {
    return this.stmt.after.all(logId, author, afterSeq, limit).map(rowToOperation)
  }

  /** The stored operation of (author, log) with the highest seq; one index lookup, however many authors the log has. */
  lastOperation(author: Uint8Array, logId: LogId): Operation | undefined {
    const row = this.stmt.last.get(logId, author)
    return row === undefined ? undefined : rowToOperation(row)
  }

  /**
   * Like {@link operationsAfter} but as stored bytes, without decoding the
   * headers: what replication sends (the receiver validates everything anyway).
   * With `maxBytes`, stops after the row that reaches that many bytes
   * (headers and payloads), so at least one row comes back.
   */
  wireOperationsAfter(author: Uint8Array, logId: LogId, afterSeq: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): WireRow[] {
    if (maxBytes === Number.POSITIVE_INFINITY) return this.stmt.wireAfter.all(logId, author, afterSeq, limit)
    // Rows are read one by one and the statement reset early: a log of large
    // payloads (a file's chunks) costs at most `maxBytes` and one row of memory.
    const rows: WireRow[] = []
    let bytes = 0
    for (const row of this.stmt.wireAfter.iterate(logId, author, afterSeq, limit)) {
      rows.push(row)
      bytes += row.header.length + (row.payload?.length ?? 0)
      if (bytes >= maxBytes) break
    }
    return rows
  }

  /** The stored operation with this hash. */
  getByHash(hash: Hash): Operation | undefined {
    const row = this.stmt.byHash.get(hash)
    return row === undefined ? undefined : rowToOperation(row)
  }

  /** Stored fork proofs, optionally only for one author and/or log id. */
  getForkProofs(filter: { author?: Uint8Array; logId?: LogId } = {}): ForkProof[] {
    return this.stmt.forks
      .all()
      .map((r) => decodeForkProof(r.proof))
      .filter((p) => {
        if (filter.author === undefined && filter.logId === undefined) return true
        const header = decodeHeader(p.headerA)
        return (filter.author === undefined || bytesEqual(header.author, filter.author)) &&
          (filter.logId === undefined || bytesEqual(header.logId, filter.logId))
      })
  }

  /** Every stored fork proof with what it names, oldest detection first. */
  forks(): StoredFork[] {
    return this.stmt.storedForks.all().map((r) => {
      const proof = decodeForkProof(r.proof)
      return {
        id: forkProofId(proof),
        author: plain(r.author),
        logId: plain(r.log_id),
        seq: r.seq,
        ...(r.detected_at !== null ? { detectedAt: r.detected_at } : {}),
        proof,
      }
    })
  }

  /** Authors (hex identity keys) with at least one stored fork proof: the marked ones. */
  forkedAuthors(): Set<string> {
    return new Set(this.stmt.forkedAuthors.all().map((r) => toHex(r.author)))
  }

  /** True when (author, log) is forked and closed. */
  isForked(author: Uint8Array, logId: LogId): boolean {
    return this.stmt.isForked.get(logId, author) !== undefined
  }

  /**
   * Drops an operation's payload; its header stays and still verifies.
   * Returns false if there was no such operation or no payload.
   */
  deletePayload(hash: Hash): boolean {
    return this.stmt.deletePayload.run(hash).changes > 0
  }

  /**
   * Whether the author of (author, log) asked to delete the payload at
   * `seq` (a stored operation's `delete` extension named it): the payload is
   * gone, and stays gone if the operation arrives again.
   */
  isDeleted(author: Uint8Array, logId: LogId, seq: number): boolean {
    return this.stmt.isDeleted.get(logId, author, seq) !== undefined
  }

  /**
   * Deletes every stored operation of (author, log), headers included: the
   * log is no longer kept here at all (a file that was deleted or expired).
   * Fork proofs stay. Returns the number of operations deleted.
   */
  dropLog(author: Uint8Array, logId: LogId): number {
    this.cachedHeights.delete(toHex(logId))
    this.stmt.dropDeleted.run(logId, author)
    return this.stmt.dropLog.run(logId, author).changes
  }

  /**
   * Deletes (author, log)'s operations below `belowSeq`. The operation at
   * `belowSeq` must be stored and carry the prune flag, so the log stays
   * verifiable from its new start; otherwise `STORE_PRUNE_NOT_ALLOWED`.
   * Returns the number of operations deleted.
   */
  prune(author: Uint8Array, logId: LogId, belowSeq: number): number {
    this.cachedHeights.delete(toHex(logId))
    return this.pruneTx.immediate(author, logId, belowSeq)
  }

  private pruneBelow(author: Uint8Array, logId: LogId, belowSeq: number): number {
    const start = this.stmt.hashAt.get(logId, author, belowSeq)
    if (start === undefined || !isPrunePoint(decodeHeader(start.header))) throw new StoreError('STORE_PRUNE_NOT_ALLOWED', `no stored prune point at seq ${belowSeq}`)
    this.stmt.pruneDeleted.run(logId, author, belowSeq)
    return this.stmt.prune.run(logId, author, belowSeq).changes
  }

  /** The highest stored operation of (author, log) at or below `atOrBelow` that carries the prune flag. */
  prunePoint(author: Uint8Array, logId: LogId, atOrBelow: number): number | undefined {
    return this.stmt.prunePoint.get(logId, author, atOrBelow)?.seq ?? undefined
  }

  /** Every log id with at least one stored operation. */
  logIds(): LogId[] {
    return this.stmt.logIds.all().map((r) => plain(r.log_id))
  }

  /** Row counts. They read every row: for tests and tools, not for a running node (see {@link operationCount}). */
  counts(): LogStoreCounts {
    return this.stmt.counts.get() as LogStoreCounts
  }

  /**
   * Stored operations, for a node's status. Counting walks a whole index
   * (about 4.5 MB at 100,000 operations); it runs with the connection's page
   * cache held to {@link COUNT_CACHE_KIB}, so that a `status` does not leave
   * the node holding megabytes of pages it has no other use for (before:
   * `counts()`, 16 MB of cache filled by one status).
   */
  operationCount(): number {
    const size = this.db.pragma('cache_size', { simple: true }) as number
    this.db.pragma(`cache_size = -${COUNT_CACHE_KIB}`)
    try {
      return (this.stmt.operationCount.get() as { n: number }).n
    } finally {
      this.db.pragma(`cache_size = ${size}`)
    }
  }
}
