import type { Database, Statement } from 'better-sqlite3'

/** A member's or owner's answer to a group's keepers: asked (no answer yet), allowed, denied. */
export type KeeperDecision = 'ask' | 'allow' | 'deny'

/** The owner's latest keepers list of one of our groups, and our answer to it. */
export interface KeeperListRow {
  readonly groupId: Uint8Array
  /** Canonical CBOR of the peer entries (group/keeper-wire.ts). */
  readonly keepers: Uint8Array
  readonly decision: KeeperDecision
}

/** A group this node keeps for its owner (migration 8). `members` and `keepers` are canonical CBOR peer lists. */
export interface KeptGroupRow {
  readonly groupId: Uint8Array
  readonly owner: Uint8Array
  readonly members: Uint8Array
  readonly keepers: Uint8Array
  readonly retentionMs: number | null
  readonly orderedAt: number
}

/** The user's answer to a peer that orders this node to keep its groups (migration 9). */
export interface KeepingOrdererRow {
  readonly identityKey: Uint8Array
  readonly decision: KeeperDecision
  /** When it first asked (`ask`), or when the user answered. */
  readonly decidedAt: number
}

interface KeptRow {
  group_id: Buffer
  owner: Buffer
  members: Buffer
  keepers: Buffer
  retention_ms: number | null
  ordered_at: number
}

const bytes = (b: Buffer): Uint8Array => new Uint8Array(b)

/**
 * SQL of the keeper tables (migration 8): the keepers lists of our groups
 * (`group_keepers`, one row per group, gone with the group), the releases
 * our dropped keepers have not acknowledged (`keeper_releases`), the groups we
 * keep for others and their claimed file logs, and why a peer is on the
 * allow-list (`peer_reasons`); and (migration 9) the user's answer to each
 * peer that orders this node to keep groups (`keeping_orderers`). Plain rows; the rules live in `group/` and
 * `node/keepers.ts`.
 */
export class KeeperStore {
  readonly #insertFileLogs: (logIds: readonly Uint8Array[], groupId: Uint8Array) => void
  readonly #stmt: {
    list: Statement<[Uint8Array], { group_id: Buffer; keepers: Buffer; decision: KeeperDecision }>
    lists: Statement<[], { group_id: Buffer; keepers: Buffer; decision: KeeperDecision }>
    setList: Statement<[Uint8Array, Uint8Array, KeeperDecision]>
    setDecision: Statement<[KeeperDecision, Uint8Array]>
    kept: Statement<[], KeptRow>
    upsertKept: Statement<[Uint8Array, Uint8Array, Uint8Array, Uint8Array, number | null, number]>
    deleteKept: Statement<[Uint8Array]>
    fileLogs: Statement<[], { log_id: Buffer; group_id: Buffer }>
    insertFileLog: Statement<[Uint8Array, Uint8Array]>
    logBytes: Statement<[Uint8Array], { bytes: number | null; operations: number }>
    releases: Statement<[], { group_id: Buffer; keeper: Buffer }>
    addRelease: Statement<[Uint8Array, Uint8Array]>
    dropRelease: Statement<[Uint8Array, Uint8Array]>
    reasons: Statement<[], { peer_id: string; reason: string }>
    addReason: Statement<[string, string]>
    dropReason: Statement<[string, string]>
    dropPeer: Statement<[string]>
    orderers: Statement<[], { identity_key: Buffer; decision: KeeperDecision; decided_at: number }>
    setOrderer: Statement<[Uint8Array, KeeperDecision, number]>
    dropOrderer: Statement<[Uint8Array]>
  }

  constructor(db: Database) {
    this.#stmt = {
      list: db.prepare('SELECT group_id, keepers, decision FROM group_keepers WHERE group_id = ?'),
      lists: db.prepare('SELECT group_id, keepers, decision FROM group_keepers'),
      // A new list keeps the answer given to the earlier one only when the caller passes it on.
      setList: db.prepare(
        'INSERT INTO group_keepers (group_id, keepers, decision) VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET keepers = excluded.keepers, decision = excluded.decision',
      ),
      setDecision: db.prepare('UPDATE group_keepers SET decision = ? WHERE group_id = ?'),
      kept: db.prepare('SELECT group_id, owner, members, keepers, retention_ms, ordered_at FROM kept_groups'),
      upsertKept: db.prepare(
        `INSERT INTO kept_groups (group_id, owner, members, keepers, retention_ms, ordered_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (group_id) DO UPDATE SET members = excluded.members, keepers = excluded.keepers, retention_ms = excluded.retention_ms, ordered_at = excluded.ordered_at`,
      ),
      deleteKept: db.prepare('DELETE FROM kept_groups WHERE group_id = ?'),
      fileLogs: db.prepare('SELECT log_id, group_id FROM kept_file_logs'),
      insertFileLog: db.prepare('INSERT OR IGNORE INTO kept_file_logs (log_id, group_id) VALUES (?, ?)'),
      logBytes: db.prepare('SELECT SUM(length(header) + COALESCE(length(payload), 0)) AS bytes, COUNT(*) AS operations FROM log_operations WHERE log_id = ?'),
      releases: db.prepare('SELECT group_id, keeper FROM keeper_releases'),
      addRelease: db.prepare('INSERT OR IGNORE INTO keeper_releases (group_id, keeper) VALUES (?, ?)'),
      dropRelease: db.prepare('DELETE FROM keeper_releases WHERE group_id = ? AND keeper = ?'),
      reasons: db.prepare('SELECT peer_id, reason FROM peer_reasons'),
      addReason: db.prepare('INSERT OR IGNORE INTO peer_reasons (peer_id, reason) VALUES (?, ?)'),
      dropReason: db.prepare('DELETE FROM peer_reasons WHERE peer_id = ? AND reason = ?'),
      dropPeer: db.prepare('DELETE FROM peer_reasons WHERE peer_id = ?'),
      orderers: db.prepare('SELECT identity_key, decision, decided_at FROM keeping_orderers'),
      setOrderer: db.prepare(
        'INSERT INTO keeping_orderers (identity_key, decision, decided_at) VALUES (?, ?, ?) ON CONFLICT (identity_key) DO UPDATE SET decision = excluded.decision, decided_at = excluded.decided_at',
      ),
      dropOrderer: db.prepare('DELETE FROM keeping_orderers WHERE identity_key = ?'),
    }
    const insert = this.#stmt.insertFileLog
    this.#insertFileLogs = db.transaction((logIds: readonly Uint8Array[], groupId: Uint8Array) => {
      for (const logId of logIds) insert.run(logId, groupId)
    })
  }

  keeperList(groupId: Uint8Array): KeeperListRow | undefined {
    const r = this.#stmt.list.get(groupId)
    return r === undefined ? undefined : { groupId: bytes(r.group_id), keepers: bytes(r.keepers), decision: r.decision }
  }

  keeperLists(): KeeperListRow[] {
    return this.#stmt.lists.all().map((r) => ({ groupId: bytes(r.group_id), keepers: bytes(r.keepers), decision: r.decision }))
  }

  setKeeperList(groupId: Uint8Array, keepers: Uint8Array, decision: KeeperDecision): void {
    this.#stmt.setList.run(groupId, keepers, decision)
  }

  setDecision(groupId: Uint8Array, decision: KeeperDecision): void {
    this.#stmt.setDecision.run(decision, groupId)
  }

  keptGroups(): KeptGroupRow[] {
    return this.#stmt.kept.all().map((r) => ({
      groupId: bytes(r.group_id),
      owner: bytes(r.owner),
      members: bytes(r.members),
      keepers: bytes(r.keepers),
      retentionMs: r.retention_ms,
      orderedAt: r.ordered_at,
    }))
  }

  /** Stores an order (the owner column is written once: the first orderer stays pinned). */
  upsertKept(row: KeptGroupRow): void {
    this.#stmt.upsertKept.run(row.groupId, row.owner, row.members, row.keepers, row.retentionMs, row.orderedAt)
  }

  deleteKept(groupId: Uint8Array): void {
    this.#stmt.deleteKept.run(groupId)
  }

  keptFileLogs(): { logId: Uint8Array; groupId: Uint8Array }[] {
    return this.#stmt.fileLogs.all().map((r) => ({ logId: bytes(r.log_id), groupId: bytes(r.group_id) }))
  }

  /** Records claimed file logs of a kept group, all in one transaction. */
  addKeptFileLogs(logIds: readonly Uint8Array[], groupId: Uint8Array): void {
    if (logIds.length > 0) this.#insertFileLogs(logIds, groupId)
  }

  /** Bytes (headers and payloads) and operations stored under a log id. */
  logSize(logId: Uint8Array): { bytes: number; operations: number } {
    const r = this.#stmt.logBytes.get(logId)
    return { bytes: r?.bytes ?? 0, operations: r?.operations ?? 0 }
  }

  /** Releases our keepers have not acknowledged yet (sent again at every start). */
  releases(): { groupId: Uint8Array; keeper: Uint8Array }[] {
    return this.#stmt.releases.all().map((r) => ({ groupId: bytes(r.group_id), keeper: bytes(r.keeper) }))
  }

  addRelease(groupId: Uint8Array, keeper: Uint8Array): void {
    this.#stmt.addRelease.run(groupId, keeper)
  }

  dropRelease(groupId: Uint8Array, keeper: Uint8Array): void {
    this.#stmt.dropRelease.run(groupId, keeper)
  }

  peerReasons(): { peerId: string; reason: string }[] {
    return this.#stmt.reasons.all().map((r) => ({ peerId: r.peer_id, reason: r.reason }))
  }

  addPeerReason(peerId: string, reason: string): void {
    this.#stmt.addReason.run(peerId, reason)
  }

  dropPeerReason(peerId: string, reason: string): void {
    this.#stmt.dropReason.run(peerId, reason)
  }

  forgetPeer(peerId: string): void {
    this.#stmt.dropPeer.run(peerId)
  }

  /** The peers that ordered this node to keep groups, with the user's answer to each. */
  orderers(): KeepingOrdererRow[] {
    return this.#stmt.orderers.all().map((r) => ({ identityKey: bytes(r.identity_key), decision: r.decision, decidedAt: r.decided_at }))
  }

  setOrderer(identityKey: Uint8Array, decision: KeeperDecision, at: number): void {
    this.#stmt.setOrderer.run(identityKey, decision, at)
  }

  forgetOrderer(identityKey: Uint8Array): void {
    this.#stmt.dropOrderer.run(identityKey)
  }
}
