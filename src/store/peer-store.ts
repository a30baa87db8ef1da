import type { Database, Statement, Transaction } from 'better-sqlite3'

/** Why talking to a peer failed once, and when (ms since the Unix epoch). */
export interface PeerError {
  readonly code: string
  readonly message: string
  readonly at: number
}

/** Errors kept per peer, newest first: enough to see a pattern, bounded whatever the peer does. */
export const PEER_ERROR_HISTORY = 5

/** A row of the allow-list: one peer we exchanged contact cards with. */
export interface PeerRow {
  /** libp2p PeerId (string form) of the peer's identity key. */
  readonly peerId: string
  readonly identityKey: Uint8Array
  /** Canonical v3 `.onion` address. */
  readonly onion: string
  /** X25519 public key we authorize on our onion service. */
  readonly clientAuthKey: Uint8Array
  readonly displayName?: string
  /** When the peer was added, ms since the Unix epoch. */
  readonly addedAt: number
  readonly lastSeen?: number
  /** The latest error (kept after a success: whether it is still current is for the reader to tell from `lastSeen`). */
  readonly lastError?: PeerError
  /** The last {@link PEER_ERROR_HISTORY} errors, newest first. */
  readonly recentErrors: readonly PeerError[]
}

interface ErrorRow {
  code: string
  message: string
  at: number
}

interface Row {
  peer_id: string
  identity_key: Buffer
  onion: string
  client_auth_key: Buffer
  display_name: string | null
  added_at: number
  last_seen: number | null
  last_error_code: string | null
  last_error: string | null
  last_error_at: number | null
}

function toPeer(row: Row, recentErrors: readonly PeerError[]): PeerRow {
  return {
    peerId: row.peer_id,
    identityKey: new Uint8Array(row.identity_key),
    onion: row.onion,
    clientAuthKey: new Uint8Array(row.client_auth_key),
    ...(row.display_name !== null ? { displayName: row.display_name } : {}),
    addedAt: row.added_at,
    ...(row.last_seen !== null ? { lastSeen: row.last_seen } : {}),
    ...(row.last_error_code !== null && row.last_error_at !== null
      ? { lastError: { code: row.last_error_code, message: row.last_error ?? '', at: row.last_error_at } }
      : {}),
    recentErrors,
  }
}

/** SQL of the `peers` and `peer_errors` tables (migrations 2 and 5). Plain rows; the rules live in `net/AddressTable`. */
export class PeerStore {
  readonly #upsertAll: Transaction<(peers: readonly Parameters<PeerStore['upsert']>[0][]) => PeerRow[]>
  readonly #recordError: Transaction<(peerId: string, code: string, message: string, at: number) => void>
  readonly #stmt: {
    upsert: Statement<[string, Uint8Array, string, Uint8Array, string | null, number]>
    remove: Statement<[string]>
    get: Statement<[string], Row>
    list: Statement<[], Row>
    seen: Statement<[number, string]>
    error: Statement<[string, string, number, string]>
    insertError: Statement<[string, string, string, number]>
    trimErrors: Statement<[string, string, number]>
    errorsOf: Statement<[string, number], ErrorRow>
    allErrors: Statement<[], ErrorRow & { peer_id: string }>
  }

  constructor(db: Database) {
    this.#stmt = {
      // A new card for a known identity replaces its address and keys but keeps the history.
      upsert: db.prepare(
        `INSERT INTO peers (peer_id, identity_key, onion, client_auth_key, display_name, added_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (peer_id) DO UPDATE SET onion = excluded.onion, client_auth_key = excluded.client_auth_key,
           display_name = excluded.display_name`,
      ),
      remove: db.prepare('DELETE FROM peers WHERE peer_id = ?'),
      get: db.prepare('SELECT * FROM peers WHERE peer_id = ?'),
      list: db.prepare('SELECT * FROM peers ORDER BY last_seen IS NULL, last_seen DESC, added_at DESC'),
      seen: db.prepare('UPDATE peers SET last_seen = ? WHERE peer_id = ?'),
      error: db.prepare('UPDATE peers SET last_error_code = ?, last_error = ?, last_error_at = ? WHERE peer_id = ?'),
      insertError: db.prepare('INSERT INTO peer_errors (peer_id, code, message, at) VALUES (?, ?, ?, ?)'),
      trimErrors: db.prepare(
        `DELETE FROM peer_errors WHERE peer_id = ? AND id NOT IN (SELECT id FROM peer_errors WHERE peer_id = ? ORDER BY id DESC LIMIT ?)`,
      ),
      errorsOf: db.prepare('SELECT code, message, at FROM peer_errors WHERE peer_id = ? ORDER BY id DESC LIMIT ?'),
      allErrors: db.prepare('SELECT peer_id, code, message, at FROM peer_errors ORDER BY id DESC'),
    }
    this.#upsertAll = db.transaction((peers: readonly Parameters<PeerStore['upsert']>[0][]) => peers.map((p) => this.upsert(p)))
    this.#recordError = db.transaction((peerId: string, code: string, message: string, at: number) => {
      if (this.#stmt.error.run(code, message, at, peerId).changes === 0) return
      this.#stmt.insertError.run(peerId, code, message, at)
      this.#stmt.trimErrors.run(peerId, peerId, PEER_ERROR_HISTORY)
    })
  }

  /** {@link upsert} for several peers in one transaction: all of them are stored, or none. */
  upsertAll(peers: readonly Parameters<PeerStore['upsert']>[0][]): PeerRow[] {
    return this.#upsertAll(peers)
  }

  /** Inserts or updates a peer. Throws SQLite's constraint error when its onion belongs to another peer. */
  upsert(peer: Pick<PeerRow, 'peerId' | 'identityKey' | 'onion' | 'clientAuthKey' | 'displayName' | 'addedAt'>): PeerRow {
    this.#stmt.upsert.run(peer.peerId, peer.identityKey, peer.onion, peer.clientAuthKey, peer.displayName ?? null, peer.addedAt)
    return this.get(peer.peerId)!
  }

  remove(peerId: string): boolean {
    return this.#stmt.remove.run(peerId).changes > 0
  }

  get(peerId: string): PeerRow | undefined {
    const row = this.#stmt.get.get(peerId)
    return row === undefined ? undefined : toPeer(row, this.#stmt.errorsOf.all(peerId, PEER_ERROR_HISTORY))
  }

  /** Every peer, most recently seen first, then never-seen ones newest first. */
  list(): PeerRow[] {
    const errors = new Map<string, PeerError[]>()
    for (const { peer_id: peerId, code, message, at } of this.#stmt.allErrors.all()) {
      const list = errors.get(peerId) ?? []
      if (list.length < PEER_ERROR_HISTORY) list.push({ code, message, at })
      errors.set(peerId, list)
    }
    return this.#stmt.list.all().map((row) => toPeer(row, errors.get(row.peer_id) ?? []))
  }

  markSeen(peerId: string, at: number): void {
    this.#stmt.seen.run(at, peerId)
  }

  /** Records an error as the peer's latest and in its history (the last {@link PEER_ERROR_HISTORY} are kept). */
  recordError(peerId: string, code: string, message: string, at: number): void {
    this.#recordError.immediate(peerId, code, message, at)
  }
}
