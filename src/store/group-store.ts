import type { Database, Statement } from 'better-sqlite3'
import { bytesEqual, toHex } from '../log/bytes.js'
import { withoutFsync } from './database.js'

/** A proposal this member sent that waits for the owner's commit. */
export interface OwnProposal {
  /** SHA-256 of the proposal message, to recognise it in the commit's bundle. */
  readonly digest: Uint8Array
  /** What was asked for, so it can be asked again if a commit leaves it out. */
  readonly kind: 'update' | 'leave'
}

/**
 * One row of the `groups` table, as it is read: without its MLS state, which
 * runs to hundreds of kilobytes in a large group and is read only to load the
 * group ({@link GroupStore.state}).
 */
export interface GroupRow {
  readonly groupId: Uint8Array
  readonly name: string | null
  readonly owner: Uint8Array
  /** Owner only: the nonce the group id derives from with the owner's key (null for joined groups and for groups made before ids were derived). */
  readonly idNonce: Uint8Array | null
  readonly epoch: number
  readonly joinedEpoch: number
  readonly active: boolean
  /** Why an inactive group ended here: this member left, or the owner removed it. Null while active. */
  readonly ended: GroupEnd | null
  readonly ownProposal: OwnProposal | null
  readonly createdAt: number
  /** True when the user chose `name`; false when it follows the owner's shared name (or there is none). */
  readonly labelSet: boolean
  /** The owner's name for the group, from its latest setting (null before one arrived). */
  readonly sharedName: string | null
  /** The owner's description of the group, likewise. */
  readonly description: string | null
  /** The owner's retention period (ms); null: kept until deleted. */
  readonly retentionMs: number | null
}

/** Why a group is no longer active here. */
export type GroupEnd = 'left' | 'removed'

/** A group's encoded MLS state. Secret (MLS epoch keys). */
export interface GroupState {
  readonly state: Uint8Array
}

/** The parts of a group row that change with its MLS state. */
export type GroupStateUpdate = GroupState & Pick<GroupRow, 'epoch' | 'active' | 'ended' | 'ownProposal'>

/**
 * The application ratchet of one sender in one epoch, as an application
 * message left it; applied over the group's stored state when it is loaded.
 * `ratchet` is secret.
 */
export interface RatchetRow {
  readonly epoch: bigint
  readonly leafIndex: number
  readonly ratchet: Uint8Array
}

/** A member removed from a group (or who left), with what is still shared with it: the owner's log up to its removal. */
export interface DepartedRow {
  readonly groupId: Uint8Array
  readonly member: Uint8Array
  /** Seq of the owner's commit that removed it, in the owner's log. */
  readonly ownerSeq: number
  readonly departedAt: number
}

/** A decrypted message in the local view (never replicated). */
export interface GroupMessage {
  /** Local row id, increasing in arrival order: the paging key of `messages()`. */
  readonly id: number
  readonly groupId: Uint8Array
  /** Identity key of the author (this node for its own messages). */
  readonly author: Uint8Array
  /** Seq of the operation in the author's log. */
  readonly seq: number
  /** MLS epoch it was sent in. */
  readonly epoch: number
  readonly plaintext: Uint8Array
  /** When this node decrypted (or sent) it, in ms since the Unix epoch. */
  readonly receivedAt: number
  /** When its author sent it, by the author's clock (the operation's `ts`), if it said. */
  readonly sentAt?: number
  /** A file entry: the file's log id (see {@link FileRow}); its plaintext is empty. */
  readonly fileLog?: Uint8Array
}

/** A file announced in a group, as this node keeps it. `key` is secret. */
export interface FileRow {
  /** Log id of the file's chunks (the primary key). */
  readonly logId: Uint8Array
  readonly groupId: Uint8Array
  readonly fileId: Uint8Array
  /** The sender: the only author of the file log. */
  readonly author: Uint8Array
  /** Seq of the announcement in the sender's group log. */
  readonly seq: number
  readonly name: string
  readonly mediaType: string
  readonly size: number
  readonly sha256: Uint8Array
  readonly chunkSize: number
  readonly chunkCount: number
  readonly key: Uint8Array
  /** The sender's clock when it announced the file. */
  readonly sentAt: number
}

/** An operation the group layer could not use, and why (its error code). */
export interface RejectedGroupOperation {
  readonly hash: Uint8Array
  readonly groupId: Uint8Array
  readonly author: Uint8Array
  readonly seq: number
  /** The operation's epoch tag, if it had a valid one. */
  readonly epoch: number | null
  /** Stable error code (e.g. `MLS_DECRYPT_FAILED`, `GROUP_NOT_FROM_OWNER`). */
  readonly code: string
  readonly rejectedAt: number
}

/** A key package of ours waiting for the inviter's Welcome. `privatePackage` is secret. */
export interface InvitationRow {
  readonly id: number
  readonly groupId: Uint8Array
  readonly inviter: Uint8Array
  readonly publicPackage: Uint8Array
  readonly privatePackage: Uint8Array
  readonly createdAt: number
}

interface GroupDbRow {
  group_id: Buffer
  name: string | null
  owner: Buffer
  id_nonce: Buffer | null
  epoch: number
  joined_epoch: number
  active: number
  ended: GroupEnd | null
  own_proposal: Buffer | null
  own_proposal_kind: 'update' | 'leave' | null
  created_at: number
  retention_ms: number | null
  label_set: number
  shared_name: string | null
  description: string | null
}

interface DepartedDbRow {
  group_id: Buffer
  member: Buffer
  owner_seq: number
  departed_at: number
}

interface MessageDbRow {
  id: number
  group_id: Buffer
  author: Buffer
  seq: number
  epoch: number
  plaintext: Buffer
  received_at: number
  sent_at: number | null
  file_log: Buffer | null
}

interface FileDbRow {
  log_id: Buffer
  group_id: Buffer
  file_id: Buffer
  author: Buffer
  seq: number
  name: string
  media_type: string
  size: number
  sha256: Buffer
  chunk_size: number
  chunk_count: number
  file_key: Buffer
  sent_at: number
}

interface RejectedDbRow {
  op_hash: Buffer
  group_id: Buffer
  author: Buffer
  seq: number
  epoch: number | null
  code: string
  rejected_at: number
}

interface InvitationDbRow {
  id: number
  group_id: Buffer
  inviter: Buffer
  public_package: Buffer
  private_package: Buffer
  created_at: number
}

/** Every column of `groups` but `state` (see {@link GroupRow}). */
const GROUP_COLUMNS = 'group_id, name, owner, id_nonce, epoch, joined_epoch, active, ended, own_proposal, own_proposal_kind, created_at, retention_ms, label_set, shared_name, description'

/** better-sqlite3 hands out Buffers; the API hands out plain Uint8Arrays (a view, no copy). */
function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

function toGroupRow(r: GroupDbRow): GroupRow {
  return {
    groupId: plain(r.group_id),
    name: r.name,
    owner: plain(r.owner),
    idNonce: r.id_nonce === null ? null : plain(r.id_nonce),
    epoch: r.epoch,
    joinedEpoch: r.joined_epoch,
    active: r.active === 1,
    ended: r.ended,
    ownProposal: r.own_proposal === null || r.own_proposal_kind === null ? null : { digest: plain(r.own_proposal), kind: r.own_proposal_kind },
    createdAt: r.created_at,
    labelSet: r.label_set === 1,
    sharedName: r.shared_name,
    description: r.description,
    retentionMs: r.retention_ms,
  }
}

function toFile(r: FileDbRow): FileRow {
  return {
    logId: plain(r.log_id),
    groupId: plain(r.group_id),
    fileId: plain(r.file_id),
    author: plain(r.author),
    seq: r.seq,
    name: r.name,
    mediaType: r.media_type,
    size: r.size,
    sha256: plain(r.sha256),
    chunkSize: r.chunk_size,
    chunkCount: r.chunk_count,
    key: plain(r.file_key),
    sentAt: r.sent_at,
  }
}

function toDeparted(r: DepartedDbRow): DepartedRow {
  return { groupId: plain(r.group_id), member: plain(r.member), ownerSeq: r.owner_seq, departedAt: r.departed_at }
}

function toMessage(r: MessageDbRow): GroupMessage {
  return {
    id: r.id,
    groupId: plain(r.group_id),
    author: plain(r.author),
    seq: r.seq,
    epoch: r.epoch,
    plaintext: plain(r.plaintext),
    receivedAt: r.received_at,
    ...(r.sent_at !== null ? { sentAt: r.sent_at } : {}),
    ...(r.file_log !== null ? { fileLog: plain(r.file_log) } : {}),
  }
}

function toRejected(r: RejectedDbRow): RejectedGroupOperation {
  return {
    hash: plain(r.op_hash),
    groupId: plain(r.group_id),
    author: plain(r.author),
    seq: r.seq,
    epoch: r.epoch,
    code: r.code,
    rejectedAt: r.rejected_at,
  }
}

function toInvitation(r: InvitationDbRow): InvitationRow {
  return {
    id: r.id,
    groupId: plain(r.group_id),
    inviter: plain(r.inviter),
    publicPackage: plain(r.public_package),
    privatePackage: plain(r.private_package),
    createdAt: r.created_at,
  }
}

/**
 * The group tables (migrations 3 to 6), one statement per question. No MLS and no
 * transactions here: the manager wraps the writes that belong together (an
 * operation, the state it produced, cursors, local-view rows) in one
 * `db.transaction`.
 */
export class GroupStore {
  private readonly stmt: {
    insertGroup: Statement<[Uint8Array, string | null, Uint8Array, Uint8Array | null, Uint8Array, number, number, number, number, number]>
    updateState: Statement<[Uint8Array, number, number, GroupEnd | null, Uint8Array | null, string | null, Uint8Array]>
    setRatchet: Statement<[Uint8Array, bigint, number, Uint8Array]>
    ratchets: Statement<[Uint8Array], { epoch: bigint; leaf_index: bigint; ratchet: Buffer }>
    deleteRatchets: Statement<[Uint8Array]>
    rejoin: Statement<[Uint8Array, Uint8Array, number, number, Uint8Array]>
    setLabel: Statement<[string | null, number, Uint8Array]>
    setShared: Statement<[string | null, string | null, Uint8Array]>
    group: Statement<[Uint8Array], GroupDbRow>
    groups: Statement<[], GroupDbRow>
    state: Statement<[Uint8Array], { state: Buffer }>
    groupIds: Statement<[], { group_id: Buffer }>
    deleteMembers: Statement<[Uint8Array]>
    insertMember: Statement<[Uint8Array, Uint8Array]>
    deleteMember: Statement<[Uint8Array, Uint8Array]>
    members: Statement<[Uint8Array], { identity: Buffer }>
    activeMemberships: Statement<[], { group_id: Buffer; identity: Buffer }>
    cursor: Statement<[Uint8Array, Uint8Array], { seq: number }>
    pendingAuthors: Statement<{ log: Uint8Array }, { author: Buffer }>
    setCursor: Statement<[Uint8Array, Uint8Array, number]>
    deleteCursors: Statement<[Uint8Array]>
    insertInvitation: Statement<[Uint8Array, Uint8Array, Uint8Array, Uint8Array, number]>
    invitations: Statement<[Uint8Array], InvitationDbRow>
    invitationTimes: Statement<[], { group_id: Buffer; inviter: Buffer; created_at: number }>
    deleteInvitations: Statement<[Uint8Array]>
    deleteInvitationsMadeBy: Statement<[number]>
    insertMessage: Statement<[Uint8Array, Uint8Array, number, number, Uint8Array, number, number | null, Uint8Array | null]>
    messages: Statement<[Uint8Array, number, number], MessageDbRow>
    message: Statement<[Uint8Array, number], MessageDbRow>
    hasMessageAt: Statement<[Uint8Array, Uint8Array, number], { one: number }>
    latestOf: Statement<[Uint8Array, Uint8Array, number], MessageDbRow>
    deleteMessage: Statement<[Uint8Array, Uint8Array, number]>
    setRetention: Statement<[number | null, Uint8Array]>
    swept: Statement<[Uint8Array, Uint8Array], { swept: number }>
    setSwept: Statement<[Uint8Array, Uint8Array, number]>
    insertFile: Statement<[Uint8Array, Uint8Array, Uint8Array, Uint8Array, number, string, string, number, Uint8Array, number, number, Uint8Array, number]>
    file: Statement<[Uint8Array], FileDbRow>
    fileAt: Statement<[Uint8Array, Uint8Array, number], FileDbRow>
    files: Statement<[Uint8Array], FileDbRow>
    allFiles: Statement<[], FileDbRow>
    deleteFile: Statement<[Uint8Array]>
    insertUpload: Statement<[Uint8Array, Uint8Array, number]>
    deleteUpload: Statement<[Uint8Array]>
    uploads: Statement<[], { log_id: Buffer; group_id: Buffer }>
    insertRejected: Statement<[Uint8Array, Uint8Array, Uint8Array, number, number | null, string, number]>
    rejected: Statement<[Uint8Array], RejectedDbRow>
    upsertDeparted: Statement<[Uint8Array, Uint8Array, number, number]>
    deleteDeparted: Statement<[Uint8Array, Uint8Array]>
    deleteDepartedOf: Statement<[Uint8Array]>
    deleteDepartedBefore: Statement<[number]>
    deleteDepartedBeyond: Statement<[number]>
    departed: Statement<[], DepartedDbRow>
  }

  /** Wraps an open database migrated to version 7 or later (see `openDatabase`). */
  constructor(db: Database) {
    this.stmt = {
      insertGroup: db.prepare(
        `INSERT INTO groups (group_id, name, owner, id_nonce, state, epoch, joined_epoch, active, created_at, label_set)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateState: db.prepare(
        `UPDATE groups SET state = ?, epoch = ?, active = ?, ended = ?, own_proposal = ?, own_proposal_kind = ? WHERE group_id = ?`,
      ),
      setRatchet: db.prepare(
        `INSERT INTO group_ratchets (group_id, epoch, leaf_index, ratchet) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, epoch, leaf_index) DO UPDATE SET ratchet = excluded.ratchet`,
      ),
      // Epochs are bigints in MLS: read them as such.
      ratchets: db.prepare<[Uint8Array], { epoch: bigint; leaf_index: bigint; ratchet: Buffer }>(
        'SELECT epoch, leaf_index, ratchet FROM group_ratchets WHERE group_id = ? ORDER BY epoch, leaf_index',
      ).safeIntegers(),
      deleteRatchets: db.prepare('DELETE FROM group_ratchets WHERE group_id = ?'),
      // A member welcomed back: new MLS state; its name, local view and cursors stay.
      rejoin: db.prepare(
        `UPDATE groups SET owner = ?, state = ?, epoch = ?, joined_epoch = ?, active = 1, ended = NULL, own_proposal = NULL, own_proposal_kind = NULL
         WHERE group_id = ?`,
      ),
      setLabel: db.prepare('UPDATE groups SET name = ?, label_set = ? WHERE group_id = ?'),
      setShared: db.prepare('UPDATE groups SET shared_name = ?, description = ? WHERE group_id = ?'),
      group: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups WHERE group_id = ?`),
      groups: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups ORDER BY created_at, group_id`),
      state: db.prepare('SELECT state FROM groups WHERE group_id = ?'),
      groupIds: db.prepare('SELECT group_id FROM groups ORDER BY created_at, group_id'),
      deleteMembers: db.prepare('DELETE FROM group_members WHERE group_id = ?'),
      insertMember: db.prepare('INSERT OR IGNORE INTO group_members (group_id, identity) VALUES (?, ?)'),
      deleteMember: db.prepare('DELETE FROM group_members WHERE group_id = ? AND identity = ?'),
      members: db.prepare('SELECT identity FROM group_members WHERE group_id = ? ORDER BY identity'),
      activeMemberships: db.prepare(
        `SELECT m.group_id, m.identity FROM group_members m JOIN groups g ON g.group_id = m.group_id WHERE g.active = 1`,
      ),
      cursor: db.prepare('SELECT seq FROM group_cursors WHERE group_id = ? AND author = ?'),
      // Skips from author to author through the (log_id, author, seq) index like LogStore.heights, and
      // compares in SQL: a processing pass learns what is new without reading every author into JS.
      pendingAuthors: db.prepare(
        `WITH RECURSIVE authors(author) AS (
           SELECT (SELECT author FROM log_operations WHERE log_id = @log ORDER BY author LIMIT 1)
           UNION ALL
           SELECT (SELECT author FROM log_operations WHERE log_id = @log AND author > authors.author ORDER BY author LIMIT 1)
           FROM authors WHERE authors.author IS NOT NULL
         )
         SELECT author FROM authors WHERE author IS NOT NULL
           AND (SELECT MAX(seq) FROM log_operations WHERE log_id = @log AND author = authors.author)
               > COALESCE((SELECT seq FROM group_cursors WHERE group_id = @log AND author = authors.author), -1)`,
      ),
      setCursor: db.prepare(
        `INSERT INTO group_cursors (group_id, author, seq) VALUES (?, ?, ?)
         ON CONFLICT (group_id, author) DO UPDATE SET seq = excluded.seq`,
      ),
      deleteCursors: db.prepare('DELETE FROM group_cursors WHERE group_id = ?'),
      insertInvitation: db.prepare(
        `INSERT INTO group_invitations (group_id, inviter, public_package, private_package, created_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      invitations: db.prepare('SELECT * FROM group_invitations WHERE group_id = ? ORDER BY id'),
      invitationTimes: db.prepare('SELECT group_id, inviter, created_at FROM group_invitations ORDER BY id'),
      deleteInvitations: db.prepare('DELETE FROM group_invitations WHERE group_id = ?'),
      deleteInvitationsMadeBy: db.prepare('DELETE FROM group_invitations WHERE created_at <= ?'),
      insertMessage: db.prepare(
        `INSERT INTO group_messages (group_id, author, seq, epoch, plaintext, received_at, sent_at, file_log) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      messages: db.prepare('SELECT * FROM group_messages WHERE group_id = ? AND id > ? ORDER BY id LIMIT ?'),
      message: db.prepare('SELECT * FROM group_messages WHERE group_id = ? AND id = ?'),
      hasMessageAt: db.prepare('SELECT 1 AS one FROM group_messages WHERE group_id = ? AND author = ? AND seq = ?'),
      latestOf: db.prepare('SELECT * FROM group_messages WHERE group_id = ? AND author = ? ORDER BY seq DESC LIMIT ?'),
      deleteMessage: db.prepare('DELETE FROM group_messages WHERE group_id = ? AND author = ? AND seq = ?'),
      setRetention: db.prepare('UPDATE groups SET retention_ms = ? WHERE group_id = ?'),
      swept: db.prepare('SELECT swept FROM group_cursors WHERE group_id = ? AND author = ?'),
      setSwept: db.prepare(
        `INSERT INTO group_cursors (group_id, author, seq, swept) VALUES (?, ?, -1, ?)
         ON CONFLICT (group_id, author) DO UPDATE SET swept = excluded.swept`,
      ),
      insertFile: db.prepare(
        `INSERT INTO group_files (log_id, group_id, file_id, author, seq, name, media_type, size, sha256, chunk_size, chunk_count, file_key, sent_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      file: db.prepare('SELECT * FROM group_files WHERE log_id = ?'),
      fileAt: db.prepare('SELECT * FROM group_files WHERE group_id = ? AND author = ? AND seq = ?'),
      files: db.prepare('SELECT * FROM group_files WHERE group_id = ? ORDER BY sent_at, log_id'),
      allFiles: db.prepare('SELECT * FROM group_files'),
      deleteFile: db.prepare('DELETE FROM group_files WHERE log_id = ?'),
      insertUpload: db.prepare('INSERT INTO group_file_uploads (log_id, group_id, started_at) VALUES (?, ?, ?)'),
      deleteUpload: db.prepare('DELETE FROM group_file_uploads WHERE log_id = ?'),
      uploads: db.prepare('SELECT log_id, group_id FROM group_file_uploads'),
      insertRejected: db.prepare(
        `INSERT OR IGNORE INTO group_rejected (op_hash, group_id, author, seq, epoch, code, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      rejected: db.prepare('SELECT * FROM group_rejected WHERE group_id = ? ORDER BY rejected_at, seq'),
      upsertDeparted: db.prepare(
        `INSERT INTO group_departed (group_id, member, owner_seq, departed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, member) DO UPDATE SET owner_seq = excluded.owner_seq, departed_at = excluded.departed_at`,
      ),
      deleteDeparted: db.prepare('DELETE FROM group_departed WHERE group_id = ? AND member = ?'),
      deleteDepartedOf: db.prepare('DELETE FROM group_departed WHERE group_id = ?'),
      deleteDepartedBefore: db.prepare('DELETE FROM group_departed WHERE departed_at <= ?'),
      deleteDepartedBeyond: db.prepare(
        `DELETE FROM group_departed WHERE (group_id, member) IN
           (SELECT group_id, member FROM group_departed ORDER BY departed_at DESC LIMIT -1 OFFSET ?)`,
      ),
      departed: db.prepare('SELECT * FROM group_departed ORDER BY departed_at'),
    }
  }

  /** Adds a group this node created or joined, with its members. */
  insertGroup(row: GroupState & Pick<GroupRow, 'groupId' | 'name' | 'owner' | 'idNonce' | 'epoch' | 'joinedEpoch' | 'active' | 'createdAt' | 'labelSet'>, members: readonly Uint8Array[]): void {
    this.stmt.insertGroup.run(
      row.groupId, row.name, row.owner, row.idNonce, row.state, row.epoch, row.joinedEpoch, row.active ? 1 : 0, row.createdAt, row.labelSet ? 1 : 0,
    )
    this.setMembers(row.groupId, members)
  }

  /** A group this node had left (or was removed from) and joined again: new owner key, MLS state and joining epoch; the rest stays. */
  rejoinGroup(row: GroupState & Pick<GroupRow, 'groupId' | 'owner' | 'epoch' | 'joinedEpoch'>, members: readonly Uint8Array[]): void {
    this.stmt.rejoin.run(row.owner, row.state, row.epoch, row.joinedEpoch, row.groupId)
    this.stmt.deleteRatchets.run(row.groupId)
    this.setMembers(row.groupId, members)
  }

  /** Replaces the group's MLS state and what follows from it; the state holds every ratchet, so the ratchet rows go. */
  updateState(groupId: Uint8Array, update: GroupStateUpdate): void {
    const own = update.ownProposal
    this.stmt.updateState.run(update.state, update.epoch, update.active ? 1 : 0, update.ended, own?.digest ?? null, own?.kind ?? null, groupId)
    this.stmt.deleteRatchets.run(groupId)
  }

  /** Records where one ratchet of the group's MLS state stands now (replacing its earlier row). */
  setRatchet(groupId: Uint8Array, row: RatchetRow): void {
    this.stmt.setRatchet.run(groupId, row.epoch, row.leafIndex, row.ratchet)
  }

  /** The ratchet rows recorded since the group's state was last stored, by epoch and leaf. */
  ratchets(groupId: Uint8Array): RatchetRow[] {
    return this.stmt.ratchets.all(groupId).map((r) => ({ epoch: r.epoch, leafIndex: Number(r.leaf_index), ratchet: plain(r.ratchet) }))
  }

  /** Sets the local name; `chosen` says whether the user chose it (else it follows the owner's shared name). */
  setLabel(groupId: Uint8Array, name: string | null, chosen: boolean): void {
    this.stmt.setLabel.run(name, chosen ? 1 : 0, groupId)
  }

  /** Records the owner's latest shared name and description. */
  setShared(groupId: Uint8Array, sharedName: string | null, description: string | null): void {
    this.stmt.setShared.run(sharedName, description, groupId)
  }

  /** The group's row, if this node has it. */
  group(groupId: Uint8Array): GroupRow | undefined {
    const row = this.stmt.group.get(groupId)
    return row === undefined ? undefined : toGroupRow(row)
  }

  /** The group's encoded MLS state, if this node has the group. Secret. */
  state(groupId: Uint8Array): Uint8Array | undefined {
    const row = this.stmt.state.get(groupId)
    return row === undefined ? undefined : plain(row.state)
  }

  /** Every group, oldest first. */
  groups(): GroupRow[] {
    return this.stmt.groups.all().map(toGroupRow)
  }

  /** Every group's id, oldest first, without reading the rows' MLS states. */
  groupIds(): Uint8Array[] {
    return this.stmt.groupIds.all().map((r) => plain(r.group_id))
  }

  /** Replaces the group's member list (identity keys). */
  setMembers(groupId: Uint8Array, members: readonly Uint8Array[]): void {
    this.stmt.deleteMembers.run(groupId)
    for (const m of members) this.stmt.insertMember.run(groupId, m)
  }

  /** Adds and removes members: a commit touches the rows it changes, not the thousand others. */
  changeMembers(groupId: Uint8Array, change: { added: readonly Uint8Array[]; removed: readonly Uint8Array[] }): void {
    for (const m of change.removed) this.stmt.deleteMember.run(groupId, m)
    for (const m of change.added) this.stmt.insertMember.run(groupId, m)
  }

  /** Identity keys of the group's members, sorted bytewise. */
  members(groupId: Uint8Array): Uint8Array[] {
    return this.stmt.members.all(groupId).map((r) => plain(r.identity))
  }

  /** (group, member) of every active group. */
  activeMemberships(): { groupId: Uint8Array; identity: Uint8Array }[] {
    return this.stmt.activeMemberships.all().map((r) => ({ groupId: plain(r.group_id), identity: plain(r.identity) }))
  }

  /** Last processed seq of (author, group log), -1 before the first. */
  cursor(groupId: Uint8Array, author: Uint8Array): number {
    return this.stmt.cursor.get(groupId, author)?.seq ?? -1
  }

  /** Authors with operations stored in the group's log (table `log_operations`) past their cursor, as hex keys. */
  pendingAuthors(groupId: Uint8Array): string[] {
    return this.stmt.pendingAuthors.all({ log: groupId }).map((r) => toHex(r.author))
  }

  /** Records the last processed seq of (author, group log). */
  setCursor(groupId: Uint8Array, author: Uint8Array, seq: number): void {
    this.stmt.setCursor.run(groupId, author, seq)
  }

  /** Forgets every cursor of a group's log (a group never joined, whose log is dropped). */
  deleteCursors(groupId: Uint8Array): void {
    this.stmt.deleteCursors.run(groupId)
  }

  /** Stores a key package of ours (secret part included) waiting for `inviter`'s Welcome. */
  insertInvitation(groupId: Uint8Array, inviter: Uint8Array, publicPackage: Uint8Array, privatePackage: Uint8Array, createdAt: number): void {
    this.stmt.insertInvitation.run(groupId, inviter, publicPackage, privatePackage, createdAt)
  }

  /** Our key packages for a group, oldest first. */
  invitations(groupId: Uint8Array): InvitationRow[] {
    return this.stmt.invitations.all(groupId).map(toInvitation)
  }

  /** Group, inviter and time of every key package of ours (no key material), oldest first. */
  invitationTimes(): { groupId: Uint8Array; inviter: Uint8Array; createdAt: number }[] {
    return this.stmt.invitationTimes.all().map((r) => ({ groupId: plain(r.group_id), inviter: plain(r.inviter), createdAt: r.created_at }))
  }

  /** Forgets every key package of a group (once joined: they are single-use). */
  deleteInvitations(groupId: Uint8Array): void {
    this.stmt.deleteInvitations.run(groupId)
  }

  /** Forgets the key packages made at or before `createdAt` (expired invitations); returns how many. */
  deleteInvitationsMadeBy(createdAt: number): number {
    return this.stmt.deleteInvitationsMadeBy.run(createdAt).changes
  }

  /** Adds a message to the local view; returns its id. */
  insertMessage(m: Omit<GroupMessage, 'id'>): number {
    const result = this.stmt.insertMessage.run(m.groupId, m.author, m.seq, m.epoch, m.plaintext, m.receivedAt, m.sentAt ?? null, m.fileLog ?? null)
    return Number(result.lastInsertRowid)
  }

  /** The local-view entry with this id, if the group has it. */
  message(groupId: Uint8Array, id: number): GroupMessage | undefined {
    const row = this.stmt.message.get(groupId, id)
    return row === undefined ? undefined : toMessage(row)
  }

  /** Whether the local view holds an entry of (author, seq). */
  hasMessageAt(groupId: Uint8Array, author: Uint8Array, seq: number): boolean {
    return this.stmt.hasMessageAt.get(groupId, author, seq) !== undefined
  }

  /** The last `limit` local-view entries of `author` by seq, oldest first. */
  latestOf(groupId: Uint8Array, author: Uint8Array, limit: number): GroupMessage[] {
    return this.stmt.latestOf.all(groupId, author, limit).map(toMessage).reverse()
  }

  /** Removes the local-view entry of (author, seq), if any. */
  deleteMessage(groupId: Uint8Array, author: Uint8Array, seq: number): void {
    this.stmt.deleteMessage.run(groupId, author, seq)
  }

  /** Sets the group's retention period (ms; null: none). */
  setRetention(groupId: Uint8Array, retentionMs: number | null): void {
    this.stmt.setRetention.run(retentionMs, groupId)
  }

  /** Last seq of (author, group log) the retention sweep passed, -1 before the first. */
  swept(groupId: Uint8Array, author: Uint8Array): number {
    return this.stmt.swept.get(groupId, author)?.swept ?? -1
  }

  /** Records how far the retention sweep went in (author, group log). */
  setSwept(groupId: Uint8Array, author: Uint8Array, seq: number): void {
    this.stmt.setSwept.run(groupId, author, seq)
  }

  /** Adds an announced file. */
  insertFile(f: FileRow): void {
    this.stmt.insertFile.run(f.logId, f.groupId, f.fileId, f.author, f.seq, f.name, f.mediaType, f.size, f.sha256, f.chunkSize, f.chunkCount, f.key, f.sentAt)
  }

  /** The file whose chunks are log `logId`. */
  file(logId: Uint8Array): FileRow | undefined {
    const row = this.stmt.file.get(logId)
    return row === undefined ? undefined : toFile(row)
  }

  /** The file announced by (author, seq) of the group log. */
  fileAt(groupId: Uint8Array, author: Uint8Array, seq: number): FileRow | undefined {
    const row = this.stmt.fileAt.get(groupId, author, seq)
    return row === undefined ? undefined : toFile(row)
  }

  /** The group's files, oldest first; every group's without `groupId`. */
  files(groupId?: Uint8Array): FileRow[] {
    return (groupId === undefined ? this.stmt.allFiles.all() : this.stmt.files.all(groupId)).map(toFile)
  }

  /** Forgets a file (its key included). */
  deleteFile(logId: Uint8Array): void {
    this.stmt.deleteFile.run(logId)
  }

  /** Records a file log of ours being written, before its announcement. */
  insertUpload(logId: Uint8Array, groupId: Uint8Array, startedAt: number): void {
    this.stmt.insertUpload.run(logId, groupId, startedAt)
  }

  /** The upload was announced, or given up. */
  deleteUpload(logId: Uint8Array): void {
    this.stmt.deleteUpload.run(logId)
  }

  /** File logs of ours written and never announced (a crash or a cancel interrupted them). */
  uploads(): { logId: Uint8Array; groupId: Uint8Array }[] {
    return this.stmt.uploads.all().map((r) => ({ logId: plain(r.log_id), groupId: plain(r.group_id) }))
  }

  /** Up to `limit` local-view messages with id above `afterId`, oldest first. */
  messages(groupId: Uint8Array, afterId: number, limit: number): GroupMessage[] {
    return this.stmt.messages.all(groupId, afterId, limit).map(toMessage)
  }

  /** Records an operation that could not be used (once per operation hash). */
  insertRejected(r: RejectedGroupOperation): void {
    this.stmt.insertRejected.run(r.hash, r.groupId, r.author, r.seq, r.epoch, r.code, r.rejectedAt)
  }

  /** Rejected operations of a group, in the order they were met. */
  rejected(groupId: Uint8Array): RejectedGroupOperation[] {
    return this.stmt.rejected.all(groupId).map(toRejected)
  }

  /** Records (or refreshes) a departed member and what is still shared with it. */
  upsertDeparted(r: DepartedRow): void {
    this.stmt.upsertDeparted.run(r.groupId, r.member, r.ownerSeq, r.departedAt)
  }

  /** Forgets a departed member (it is a member again). */
  deleteDeparted(groupId: Uint8Array, member: Uint8Array): void {
    this.stmt.deleteDeparted.run(groupId, member)
  }

  /** Forgets every departed member of a group (this node is no longer in it). */
  deleteDepartedOf(groupId: Uint8Array): void {
    this.stmt.deleteDepartedOf.run(groupId)
  }

  /** Forgets departures older than `departedAt` (inclusive), and all but the `keep` newest; returns how many went. */
  trimDeparted(departedAt: number, keep: number): number {
    return this.stmt.deleteDepartedBefore.run(departedAt).changes + this.stmt.deleteDepartedBeyond.run(keep).changes
  }

  /** Every departed member, oldest departure first. */
  departed(): DepartedRow[] {
    return this.stmt.departed.all().map(toDeparted)
  }
}

/**
 * The one peer operation whose MLS processing is under way (`group_attempt`,
 * migration 10): marked before it starts and cleared when it ends, so a mark
 * found at a later start names an operation the process died in. Written
 * without an fsync: the mark need survive a dying process, not a power loss.
 */
export class GroupAttempts {
  readonly #db: Database
  readonly #read: Statement<[], { group_id: Buffer; author: Buffer; seq: number; unfinished: number }>
  readonly #write: Statement<[Uint8Array, Uint8Array, number, number]>
  readonly #clear: Statement<[]>

  /** Wraps an open database migrated to version 10 or later. */
  constructor(db: Database) {
    this.#db = db
    this.#read = db.prepare('SELECT group_id, author, seq, unfinished FROM group_attempt WHERE slot = 0')
    this.#write = db.prepare('INSERT OR REPLACE INTO group_attempt (slot, group_id, author, seq, unfinished) VALUES (0, ?, ?, ?, ?)')
    this.#clear = db.prepare('DELETE FROM group_attempt')
  }

  /** Marks the processing of `author`'s operation `seq` in group `groupId` as started; returns how many earlier starts on it never ended. */
  begin(groupId: Uint8Array, author: Uint8Array, seq: number): number {
    return withoutFsync(this.#db, () =>
      this.#db.transaction(() => {
        const last = this.#read.get()
        const same = last !== undefined && last.seq === seq && bytesEqual(last.group_id, groupId) && bytesEqual(last.author, author)
        const unfinished = same ? last.unfinished : 0
        this.#write.run(groupId, author, seq, unfinished + 1)
        return unfinished
      }).immediate(),
    )
  }

  /** Clears the mark: the processing ended, whatever its outcome. */
  end(): void {
    withoutFsync(this.#db, () => this.#clear.run())
  }
}
