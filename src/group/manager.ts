import { EventEmitter } from 'node:events'
import type { Database } from 'better-sqlite3'
import { BurrowError } from '../errors.js'
import { GroupError } from './errors.js'
import { silentLogger, type Logger } from '../logging.js'
import { bytesEqual, toHex } from '../log/bytes.js'
import { seedSigner } from '../log/ed25519.js'
import { hashOf } from '../log/hash.js'
import type { LogId, Signer } from '../log/types.js'
import { GroupAttempts, type FileRow, type GroupMessage, type LogStore, type RejectedGroupOperation } from '../store/index.js'
import type { ContactCard } from '../keys/index.js'
import type { KeeperDecision } from '../store/index.js'
import { GroupCore, type KeeperList, type LiveGroup } from './core.js'
import { MAX_KEEPERS } from './keeper-wire.js'
import { GROUP_ID_LENGTH, GROUP_ID_NONCE_LENGTH, isGroupIdOf, newGroupId } from './group-id.js'
import { GroupIngest } from './ingest.js'
import { INVITATION_LIMITS, RequestRate, type InvitationLimits } from './invitation-limits.js'
import { createGroup, createKeyPackage as createMlsKeyPackage, IDENTITY_KEY_LENGTH, MAX_TREE_LEAVES, type MlsIdentity } from './mls/index.js'
import { GroupLogAuthors } from './log-authors.js'
import { GroupRoster } from './roster.js'
import { checkSettingText, encodeGroupSetting, type GroupSetting } from './setting.js'
import type { FileInfo, GroupEvent, GroupInfo, GroupManagerEvents, PartialShare, PendingInvitation, ProcessSummary, RotationOutcome } from './types.js'
import { checkRetention, encodeAppBody } from './app-body.js'
import type { FileUpload } from './file-upload.js'
import { sweepGroup, type SweepSummary } from './retention.js'

/** Options of {@link GroupManager}. */
export interface GroupManagerOptions {
  /** Open database migrated to version 3 or later (`openDatabase`). The manager does not close it. */
  readonly db: Database
  /** The node's log store over the same database. */
  readonly logs: LogStore
  /** The node's Ed25519 identity: operation author, MLS credential and MLS signature key. */
  readonly identity: MlsIdentity
  /** Signs this node's operations; defaults to a signer over `identity.seed`. Must have `identity.publicKey`. */
  readonly signer?: Signer
  readonly logger?: Logger
  /** Clock for local-view and rejection timestamps, invitation expiry and the request rate (ms since the Unix epoch). */
  readonly now?: () => number
  /** Bounds on what inviters may cost us; each defaults to {@link INVITATION_LIMITS}. */
  readonly limits?: Partial<InvitationLimits>
  /** Largest payload of one of our operations (default: the log's limit, 1 MiB); larger commits and Welcomes go in parts. Lowered only to test that path. */
  readonly maxPayloadBytes?: number
}

/** Options of {@link GroupManager.messages}. */
export interface MessagesQuery {
  /** Only messages with a local id above this (paging). Default 0. */
  readonly afterId?: number
  /** At most this many, 1..1000. Default 100. */
  readonly limit?: number
}

const MAX_PAGE = 1000

/** What `send` says when the group ended here. */
const ENDED_MESSAGES = {
  left: 'you left this group: you can no longer send to it',
  removed: "you were removed from this group by its owner: you can no longer send to it",
} as const

function assertIdentityKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== IDENTITY_KEY_LENGTH) throw new GroupError('GROUP_INVALID_ARGUMENT', `${what} must be a 32-byte identity key`)
}

/**
 * Burrow's groups over MLS and the signed logs. A group is a topic: its
 * 32-byte id is the log id under which every member writes its group
 * operations to its own log. The creator owns the group and is its only
 * committer; members propose (key update, leave) and the owner commits their
 * proposals as soon as it processes them.
 *
 * Publishing (`send`, `invite`, `remove`, `rotate`, `leave`) encrypts or
 * commits, signs the operation and stores it in one SQLite transaction with
 * the new MLS state, so a crash never reuses a key. Ingesting
 * ({@link processSoon} after sync stored new operations, or
 * {@link processPending}) applies them in epoch order and writes plaintext
 * only to the local view. Both run one at a time, on one queue.
 *
 * The network is not here: the node pushes `appended` operations to peers
 * and asks {@link sharedLogs} and {@link mayShare} (by identity key) which
 * logs a peer may have.
 */
export class GroupManager extends EventEmitter<GroupManagerEvents> {
  /** This node's identity key. */
  readonly identityKey: Uint8Array
  readonly #core: GroupCore
  readonly #ingest: GroupIngest
  readonly #log: Logger
  readonly #limits: InvitationLimits
  readonly #requests: RequestRate
  #queue: Promise<unknown> = Promise.resolve()
  /** The processing pass queued and not yet started, which absorbs further requests. */
  #queuedPass: Promise<void> | undefined
  /** Which authors each group log takes from sync. */
  readonly #logAuthors: GroupLogAuthors
  /** Owners (hex) of groups by group id (hex), for {@link committerOf}. */
  readonly #owners = new Map<string, string>()

  constructor(options: GroupManagerOptions) {
    super()
    const signer = options.signer ?? seedSigner(options.identity.seed)
    if (!bytesEqual(signer.publicKey, options.identity.publicKey)) {
      throw new GroupError('GROUP_INVALID_ARGUMENT', 'signer and identity must be the same key')
    }
    this.identityKey = signer.publicKey.slice()
    this.#log = options.logger ?? silentLogger
    const now = options.now ?? Date.now
    this.#limits = { ...INVITATION_LIMITS, ...options.limits }
    this.#requests = new RequestRate(this.#limits.requestBurst, this.#limits.requestIntervalMs, now)
    this.#core = new GroupCore({
      db: options.db,
      logs: options.logs,
      identity: options.identity,
      signer,
      logger: this.#log,
      now,
      invitationTtlMs: this.#limits.pendingTtlMs,
      ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    })
    this.#ingest = new GroupIngest(this.#core, (events) => this.#emitAll(events), new GroupAttempts(options.db))
    this.#logAuthors = new GroupLogAuthors(
      (author, groupId) => bytesEqual(author, this.identityKey) || this.#core.isMember(author, groupId),
      (logId) => this.#core.authors(logId),
    )
  }

  /**
   * Creates a group owned by this node, with this node as its only member,
   * under an id derived from our key (group-id.ts). Its name and description
   * reach every member we invite; the name must be unique among our groups
   * (`GROUP_NAME_TAKEN`).
   */
  async create(options: { name?: string; description?: string } = {}): Promise<GroupInfo> {
    const setting: GroupSetting = { name: options.name ?? null, description: options.description ?? null }
    checkSettingText(setting.name, 'name')
    checkSettingText(setting.description, 'description')
    return this.#exclusive(async () => {
      if (setting.name !== null && this.#core.nameTaken(setting.name)) throw new GroupError('GROUP_NAME_TAKEN', `another group here is already named "${setting.name.slice(0, 80)}"`)
      const roster = new GroupRoster([this.identityKey])
      const { id, nonce } = newGroupId(this.identityKey)
      const mls = await createGroup(id, this.#core.identity, roster.accepts)
      const { group } = this.#core.adopt({ mls, roster, owner: this.identityKey, setting, idNonce: nonce })
      return this.#info(group.id)
    })
  }

  /**
   * Owner: the nonce that proves our group's id is ours (group-id.ts), to
   * send with a key-package request. Throws `GROUP_NOT_OWNER` for a group we
   * joined and `GROUP_ID_UNBOUND` for one made before ids were derived.
   */
  ownershipNonce(groupId: Uint8Array): Uint8Array {
    const group = this.#info(groupId)
    if (!group.isOwner) throw new GroupError('GROUP_NOT_OWNER', 'only the group owner can invite members')
    const nonce = this.#core.idNonce(groupId)
    if (nonce === null) throw new GroupError('GROUP_ID_UNBOUND')
    return nonce.slice()
  }

  /**
   * Invitee side of an invitation: makes a fresh key package for `groupId`,
   * keeps its private part, and records the pending invitation so that the
   * group log is shared with `inviter` until the Welcome arrives (or the
   * invitation expires). Returns the public key package to hand to the
   * inviter, who must be the group's owner: `groupId` must derive from its
   * key and `nonce` (`GROUP_ID_NOT_OWNED`). Within the limits of
   * {@link INVITATION_LIMITS}: `GROUP_RATE_LIMITED` when `inviter` asks too
   * often, `GROUP_TOO_MANY_INVITATIONS` when too many wait for a Welcome.
   */
  async createKeyPackage(groupId: Uint8Array, inviter: Uint8Array, nonce: Uint8Array): Promise<Uint8Array> {
    this.#assertGroupId(groupId)
    assertIdentityKey(inviter, 'inviter')
    if (!(nonce instanceof Uint8Array) || nonce.length !== GROUP_ID_NONCE_LENGTH) throw new GroupError('GROUP_INVALID_ARGUMENT', `nonce must be ${GROUP_ID_NONCE_LENGTH} bytes`)
    // Taken before anything queues: a flood costs one map update per request.
    if (!this.#requests.take(toHex(inviter))) throw new GroupError('GROUP_RATE_LIMITED')
    if (!isGroupIdOf(groupId, inviter, nonce)) throw new GroupError('GROUP_ID_NOT_OWNED')
    return this.#exclusive(async () => {
      // A group we left or were removed from may invite us again (adopt() keeps its name and local view).
      if (this.#core.info(groupId)?.active === true) throw new GroupError('GROUP_ALREADY_A_MEMBER')
      this.#core.dropExpiredInvitations()
      if (this.#core.pendingInvitationCount(inviter) >= this.#limits.pendingPerInviter) {
        throw new GroupError('GROUP_TOO_MANY_INVITATIONS', `${this.#limits.pendingPerInviter} invitations from this inviter wait for a Welcome`)
      }
      if (this.#core.pendingInvitationCount() >= this.#limits.pendingTotal) {
        throw new GroupError('GROUP_TOO_MANY_INVITATIONS', `${this.#limits.pendingTotal} invitations wait for a Welcome`)
      }
      const pair = await createMlsKeyPackage(this.#core.identity)
      this.#core.addInvitation(groupId, inviter, pair)
      return pair.publicPackage.slice()
    })
  }

  /**
   * Owner: adds `member` from its key package. Appends the commit (for the
   * current members), after a key rotation when the add needs one
   * (`AddResult.rotation`), then the Welcome (for the invitee) to this
   * node's log, in one transaction with the new state. Throws MLS errors for a package
   * that is malformed, expired, or not `member`'s, and `GROUP_INVALID_ARGUMENT`
   * for one whose leaf the leaf policy refuses (mls/leaf-policy.ts: a key
   * already in the group, an unusable key, missing capabilities, extensions,
   * more than 1 KiB).
   */
  async invite(groupId: Uint8Array, member: Uint8Array, publicPackage: Uint8Array): Promise<GroupInfo> {
    assertIdentityKey(member, 'member')
    return this.#exclusive(async () => {
      const group = this.#owned(groupId, 'invite members')
      if (group.roster.accepts(member)) throw new GroupError('GROUP_ALREADY_A_MEMBER')
      // A node answers sync for a log it keeps by the owner's order, not as a member: one node cannot be both.
      if (this.#core.keepers(groupId)?.keepers.some((k) => bytesEqual(k.identityKey, member)) === true) {
        throw new GroupError('GROUP_INVALID_ARGUMENT', 'that peer keeps this group: remove it as keeper before inviting it')
      }
      if (group.mls.members().length >= MAX_TREE_LEAVES) throw new GroupError('GROUP_INVALID_ARGUMENT', `a group holds at most ${MAX_TREE_LEAVES} members`)
      const refusal = await group.mls.keyPackageRefusal(publicPackage)
      if (refusal !== undefined) throw new GroupError('GROUP_INVALID_ARGUMENT', `the key package of ${toHex(member).slice(0, 16)} is refused: ${refusal}`)
      const added = await group.roster.admitting((id) => bytesEqual(id, member), () => group.mls.addMembers([publicPackage]))
      // The roster admitted only `member`, but an existing member's package would pass it too.
      if (added.group.members().length !== group.mls.members().length + 1 || !added.group.members().some((m) => bytesEqual(m, member))) {
        throw new GroupError('GROUP_INVALID_ARGUMENT', 'key package does not belong to the invitee')
      }
      const rotation = added.rotation === undefined ? [] : [{ payload: { kind: 'commit' as const, commit: added.rotation, proposals: [] }, epoch: Number(group.mls.epoch) }]
      const epoch = Number(group.mls.epoch) + rotation.length
      // The joiner reads nothing of earlier epochs: the group's setting, retention period and keepers go again, in the new one.
      const setting = this.#sharedSetting(groupId)
      const resent = setting === undefined ? undefined : await added.group.encrypt(encodeGroupSetting(setting))
      const retentionMs = this.#info(groupId).retentionMs
      const retention = retentionMs === null ? undefined : await (resent?.group ?? added.group).encrypt(encodeAppBody({ type: 'retention', periodMs: retentionMs }))
      const keepers = this.#core.keepers(groupId)?.keepers ?? []
      const keeperList = keepers.length === 0 ? undefined : await (retention?.group ?? resent?.group ?? added.group).encrypt(encodeAppBody({ type: 'keepers', keepers }))
      this.#apply(group, {
        next: keeperList?.group ?? retention?.group ?? resent?.group ?? added.group,
        append: [
          ...rotation,
          { payload: { kind: 'commit', commit: added.commit, proposals: [] }, epoch },
          { payload: { kind: 'welcome', welcome: added.welcome }, epoch: epoch + 1 },
          ...(resent === undefined ? [] : [{ payload: { kind: 'setting' as const, message: resent.message }, epoch: epoch + 1 }]),
          ...(retention === undefined ? [] : [{ payload: { kind: 'typed' as const, message: retention.message }, epoch: epoch + 1 }]),
          ...(keeperList === undefined ? [] : [{ payload: { kind: 'typed' as const, message: keeperList.message }, epoch: epoch + 1 }]),
        ],
      })
      return this.#info(groupId)
    })
  }

  /** Owner: removes `member`; from the next epoch on it can read nothing. */
  async remove(groupId: Uint8Array, member: Uint8Array): Promise<GroupInfo> {
    assertIdentityKey(member, 'member')
    return this.#exclusive(async () => {
      const group = this.#owned(groupId, 'remove members')
      if (bytesEqual(member, this.identityKey)) throw new GroupError('GROUP_OWNER_CANNOT_LEAVE')
      if (!group.roster.accepts(member)) throw new GroupError('GROUP_NOT_A_MEMBER')
      const removed = await group.mls.removeMembers([member])
      this.#apply(group, {
        next: removed.group,
        append: [{ payload: { kind: 'commit', commit: removed.commit, proposals: [] }, epoch: Number(group.mls.epoch) }],
      })
      return this.#info(groupId)
    })
  }

  /**
   * Rotates this member's key (post-compromise security). The owner commits
   * a fresh path at once (`committed`, at the new epoch); a member proposes an
   * update (`proposed`) that the owner commits when it processes it (until
   * then this member cannot send).
   */
  async rotate(groupId: Uint8Array): Promise<RotationOutcome> {
    return this.#exclusive(async () => {
      const group = this.#active(groupId)
      if (bytesEqual(group.owner, this.identityKey)) {
        const committed = await group.mls.commitPending()
        this.#apply(group, {
          next: committed.group,
          append: [{ payload: { kind: 'commit', commit: committed.commit, proposals: [] }, epoch: Number(group.mls.epoch) }],
        })
        return { state: 'committed', epoch: Number(group.mls.epoch) }
      }
      await this.#propose(group, 'update')
      return { state: 'proposed' }
    })
  }

  /** Member: asks the owner to remove this node. The group turns inactive when the owner's commit is processed. */
  async leave(groupId: Uint8Array): Promise<void> {
    return this.#exclusive(async () => {
      const group = this.#active(groupId)
      if (bytesEqual(group.owner, this.identityKey)) throw new GroupError('GROUP_OWNER_CANNOT_LEAVE')
      if (group.ownProposal?.kind === 'leave') return
      await this.#propose(group, 'leave')
    })
  }

  /**
   * Encrypts `plaintext` for the group and appends it to this node's log; the
   * message enters the local view (and the `message` event) like any other.
   */
  async send(groupId: Uint8Array, plaintext: Uint8Array): Promise<GroupMessage> {
    if (!(plaintext instanceof Uint8Array)) throw new GroupError('GROUP_INVALID_ARGUMENT', 'plaintext must be a Uint8Array')
    return this.#exclusive(async () => {
      const group = this.#active(groupId)
      if (group.ownProposal !== null) throw new GroupError('GROUP_PROPOSAL_PENDING')
      const copy = plaintext.slice()
      const encrypted = await group.mls.encrypt(copy)
      const { message } = this.#apply(group, {
        next: encrypted.group,
        step: encrypted.step,
        append: [{ payload: { kind: 'application', message: encrypted.message }, epoch: Number(group.mls.epoch) }],
        sent: copy,
      })
      // apply() always writes the local-view row of a `sent` change.
      return message!
    })
  }

  /**
   * Processes the group operations stored since the last call (call it after
   * sync stored new operations): joins groups whose Welcome arrived, applies
   * commits, decrypts messages into the local view, commits members'
   * proposals (as the owner), records what cannot be used. Idempotent and
   * crash-safe; operations of future epochs stay buffered.
   */
  async processPending(): Promise<ProcessSummary> {
    return this.#exclusive(() => this.#ingest.processAll())
  }

  /**
   * Queues a {@link processPending} pass (call it whenever sync stored
   * operations). Requests made before the queued pass starts share it, so a
   * burst of ingests costs one pass, and a request made during a pass causes
   * exactly one more. A failing pass is logged, never thrown.
   */
  processSoon(): Promise<void> {
    this.#queuedPass ??= this.#exclusive(async () => {
      this.#queuedPass = undefined
      await this.#ingest.processAll()
    }).catch((err: unknown) => {
      this.#log.error({ code: err instanceof BurrowError ? err.code : undefined, reason: err instanceof Error ? err.message : String(err) }, 'group processing failed')
    })
    return this.#queuedPass
  }

  /** Resolves once every call queued so far has finished (before closing the database). */
  async settled(): Promise<void> {
    await this.#queue
  }

  /**
   * Names a group. The owner's name (and `description`, when given) is the
   * group's: an owner-signed, MLS-encrypted setting in its log, which every
   * member takes as its local name unless it chose one. A member's name is
   * its local name only (never sent), which the owner's renames no longer
   * change; `null` goes back to the owner's. Only the owner describes
   * (`GROUP_NOT_OWNER`). The name must be unique here (`GROUP_NAME_TAKEN`).
   */
  async rename(groupId: Uint8Array, name: string | null, options: { description?: string | null } = {}): Promise<GroupInfo> {
    checkSettingText(name, 'name')
    if (options.description !== undefined) checkSettingText(options.description, 'description')
    return this.#exclusive(async () => {
      const info = this.#info(groupId)
      if (name !== null && this.#core.nameTaken(name, groupId)) throw new GroupError('GROUP_NAME_TAKEN', `another group here is already named "${name.slice(0, 80)}"`)
      if (!info.isOwner) {
        if (options.description !== undefined) throw new GroupError('GROUP_NOT_OWNER', 'only the group owner can describe the group')
        this.#core.setLabel(groupId, name)
        return this.#info(groupId)
      }
      const group = this.#owned(groupId, 'rename the group for its members')
      const setting: GroupSetting = { name, description: options.description !== undefined ? options.description : info.description }
      const encrypted = await group.mls.encrypt(encodeGroupSetting(setting))
      this.#apply(group, {
        next: encrypted.group,
        step: encrypted.step,
        append: [{ payload: { kind: 'setting', message: encrypted.message }, epoch: Number(group.mls.epoch) }],
        setting,
      })
      return this.#info(groupId)
    })
  }

  /** Every group this node created or joined (inactive ones included). */
  list(): GroupInfo[] {
    return this.#core.groupIds().map((id) => this.#info(id))
  }

  /**
   * A group by its hex id, its local name (unique here: see {@link rename}),
   * or a unique hex prefix (at least 4 characters). Throws `GROUP_NOT_FOUND`
   * or `GROUP_AMBIGUOUS`.
   */
  resolve(what: string): GroupInfo {
    const groups = this.list()
    const needle = what.trim()
    const lower = needle.toLowerCase()
    const exact = groups.find((g) => toHex(g.id) === lower)
    if (exact !== undefined) return exact
    const named = groups.filter((g) => g.name !== null && g.name === needle)
    const prefixed = /^[0-9a-f]{4,64}$/.test(lower) && named.length === 0 ? groups.filter((g) => toHex(g.id).startsWith(lower)) : []
    const matches = named.length > 0 ? named : prefixed
    if (matches.length > 1) throw new GroupError('GROUP_AMBIGUOUS', `"${needle.slice(0, 80)}" matches ${matches.length} groups; use more of the id`)
    if (matches[0] !== undefined) return matches[0]
    throw new GroupError('GROUP_NOT_FOUND', `no such group: "${needle.slice(0, 80)}"`)
  }

  /** One group, or undefined when unknown here. */
  get(groupId: Uint8Array): GroupInfo | undefined {
    return this.#core.info(groupId)
  }

  /** Identity keys of the group's members, sorted bytewise. */
  members(groupId: Uint8Array): Uint8Array[] {
    return this.#info(groupId).members
  }

  /** Local-view messages (this node's own included), oldest first. */
  messages(groupId: Uint8Array, query: MessagesQuery = {}): GroupMessage[] {
    const afterId = query.afterId ?? 0
    const limit = query.limit ?? 100
    if (!Number.isSafeInteger(afterId) || afterId < 0) throw new GroupError('GROUP_INVALID_ARGUMENT', 'afterId must be a non-negative integer')
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new GroupError('GROUP_INVALID_ARGUMENT', `limit must be 1..${MAX_PAGE}`)
    this.#info(groupId)
    return this.#core.messages(groupId, afterId, limit)
  }

  /** Operations of the group that could not be used, with their error codes. */
  rejected(groupId: Uint8Array): RejectedGroupOperation[] {
    return this.#core.rejected(groupId)
  }

  /** Key packages of ours still waiting for their Welcome (one entry per group and inviter; expired ones left out). */
  invitations(): PendingInvitation[] {
    return this.#core.pendingInvitations()
  }

  /**
   * Sync policy: the group logs to exchange with the peer whose identity key
   * is `peer`: active groups whose members include it, and groups we wait to
   * be welcomed to by it (and, in part, groups it departed lately), then the
   * file logs known here of the groups it is a current member of.
   */
  sharedLogs(peer: Uint8Array): LogId[] {
    const groups = this.#core.sharedLogs(peer)
    return [...groups, ...this.#core.files.logsOf(groups.filter((g) => this.#core.isMember(peer, g) || this.#core.isKeeper(peer, g)))]
  }

  /**
   * Sync policy: the author (hex) of group log `logId` whose operations a
   * catch-up sends last: the owner, the only one who commits. From memory.
   */
  committerOf(logId: LogId): string | undefined {
    const key = toHex(logId)
    const known = this.#owners.get(key)
    if (known !== undefined || this.isFileLog(logId)) return known
    // A group's owner never changes: read once (the row holds the whole MLS state), then from memory.
    const owner = this.#core.info(logId)?.owner
    if (owner === undefined) return undefined
    this.#owners.set(key, toHex(owner))
    return toHex(owner)
  }

  /** Sync policy: whether group log `logId` may be exchanged with the peer whose identity key is `peer`. Asked for every frame: answered from memory. */
  mayShare(peer: Uint8Array, logId: LogId): boolean {
    // A file log goes to current members only: never in part, to a member that departed.
    const fileGroup = this.#core.files.groupOf(logId)
    return fileGroup === undefined ? this.#core.mayShare(peer, logId) : this.#core.isMember(peer, fileGroup) || this.#core.isKeeper(peer, fileGroup)
  }

  // ---- keepers ----------------------------------------------------------------
  // A keeper stores and serves a group's logs without being a member
  // (keeper-wire.ts). The owner names them in the group's encrypted data; a
  // member shares with them only once it allowed them (`decideKeepers`).

  /**
   * Owner: sets the group's keepers (the whole list; at most
   * `MAX_KEEPERS`), encrypted for the members like a message. Shared with
   * them from now on, and with those no longer listed no more.
   */
  async setKeepers(groupId: Uint8Array, keepers: readonly ContactCard[]): Promise<KeeperList> {
    if (keepers.length > MAX_KEEPERS) throw new GroupError('GROUP_INVALID_ARGUMENT', `a group has at most ${MAX_KEEPERS} keepers`)
    return this.#exclusive(async () => {
      const group = this.#owned(groupId, 'choose keepers')
      if (keepers.some((k) => group.roster.accepts(k.identityKey))) throw new GroupError('GROUP_INVALID_ARGUMENT', 'a member of the group cannot also be its keeper')
      const encrypted = await group.mls.encrypt(encodeAppBody({ type: 'keepers', keepers }))
      this.#apply(group, {
        next: encrypted.group,
        append: [{ payload: { kind: 'typed', message: encrypted.message }, epoch: Number(group.mls.epoch) }],
        keepers,
      })
      return this.#core.keepers(groupId)!
    })
  }

  /** A group's keepers as known here and our answer to them; undefined before the owner named any. */
  keepers(groupId: Uint8Array): KeeperList | undefined {
    return this.#core.keepers(groupId)
  }

  /** Every group's keepers list known here. */
  keeperLists(): KeeperList[] {
    return this.#core.keeperLists()
  }

  /** Member: allows (`allow`) or refuses (`deny`) the keepers the group's owner names, now and later; `ask` asks again at the next list. */
  async decideKeepers(groupId: Uint8Array, decision: KeeperDecision): Promise<KeeperList> {
    return this.#exclusive(async () => {
      if (this.#core.info(groupId)?.isOwner === true) throw new GroupError('GROUP_INVALID_ARGUMENT', 'the owner chooses its keepers: it has nothing to allow')
      const list = this.#core.setKeeperDecision(groupId, decision)
      this.#emitAll([['keepers', list]])
      return list
    })
  }

  /** File ids of a group's files known here: what a member claims to the group's keepers. */
  fileIds(groupId: Uint8Array): Uint8Array[] {
    return this.#core.fileRows(groupId).map((f) => f.fileId)
  }

  // ---- files, deletion, retention ---------------------------------------------
  // A file is announced in the group (an MLS-encrypted typed body with its
  // key) and its chunks are a log of the sender's own (file-upload.ts), shared
  // exactly with the members of its group who decrypted the announcement.

  /** Whether `logId` is a file's log known here (its chunks need no group processing). From memory. */
  isFileLog(logId: LogId): boolean {
    return this.#core.files.groupOf(logId) !== undefined
  }

  /**
   * Sync policy: whether to take an operation of a shared log. A file log
   * takes only its sender's announced chunks; the log of a group we await a
   * Welcome to only its inviters' (nobody else's can be read before the
   * join); a group log its members' and a bounded number of other authors'
   * (log-authors.ts). From memory.
   */
  acceptsOperation(header: Parameters<GroupCore['files']['accepts']>[0]): boolean {
    if (this.isFileLog(header.logId)) return this.#core.files.accepts(header)
    return this.#core.awaitedInviter(header.author, header.logId) ?? this.#logAuthors.accepts(header.logId, header.author)
  }

  /**
   * Starts sending a file to an active group: write its content into the
   * returned upload as it is read, then {@link sendFile}, or `discard()` it.
   * Nobody receives anything before {@link sendFile}.
   */
  beginFile(groupId: Uint8Array, options: { chunkSize?: number } = {}): FileUpload {
    this.#active(groupId)
    return this.#core.beginUpload(groupId, options.chunkSize)
  }

  /**
   * Announces the file written into `upload`: its name, media type, size,
   * hash and key, encrypted for the group's current members like a message,
   * in one transaction with the file's local-view entry. From then on the
   * members fetch its chunks. On failure the upload is discarded.
   */
  async sendFile(upload: FileUpload, meta: { name: string; mediaType: string }): Promise<GroupMessage> {
    return this.#exclusive(async () => {
      try {
        const group = this.#active(upload.groupId)
        if (group.ownProposal !== null) throw new GroupError('GROUP_PROPOSAL_PENDING')
        const { fileId, ...file } = upload.finish(meta.name, meta.mediaType)
        const encrypted = await group.mls.encrypt(encodeAppBody({ type: 'file', file: { fileId, ...file } }))
        const { message } = this.#apply(group, {
          next: encrypted.group,
          append: [{ payload: { kind: 'typed', message: encrypted.message }, epoch: Number(group.mls.epoch) }],
          sent: new Uint8Array(0),
          // Its seq is the announcement's, filled in when it is signed.
          file: { logId: upload.logId, groupId: group.id, fileId, author: this.identityKey, seq: -1, ...file, sentAt: this.#core.now() },
          uploaded: upload.logId,
        })
        return message!
      } catch (err) {
        upload.discard()
        throw err
      }
    })
  }

  /** The files of a group known here (announced to us, or sent), oldest first. */
  files(groupId: Uint8Array): FileInfo[] {
    this.#info(groupId)
    return this.#core.fileRows(groupId).map((f) => this.#fileInfo(f))
  }

  /** A file by the log id of its chunks (any group); undefined for any other log. */
  fileByLog(logId: Uint8Array): FileInfo | undefined {
    if (this.#core.files.groupOf(logId) === undefined) return undefined
    const row = this.#core.fileRow(logId)
    return row === undefined ? undefined : this.#fileInfo(row)
  }

  /**
   * A file of the group by its file id (hex, or a unique prefix of at least
   * 4 characters) or its unique name. Throws `GROUP_FILE_NOT_FOUND` or
   * `GROUP_FILE_AMBIGUOUS`.
   */
  resolveFile(groupId: Uint8Array, what: string): FileInfo {
    const files = this.files(groupId)
    const needle = what.trim()
    const lower = needle.toLowerCase()
    const byId = /^[0-9a-f]{4,32}$/.test(lower) ? files.filter((f) => toHex(f.fileId).startsWith(lower)) : []
    const matches = byId.length > 0 ? byId : files.filter((f) => f.name === needle)
    if (matches.length > 1) throw new GroupError('GROUP_FILE_AMBIGUOUS', `"${needle.slice(0, 80)}" matches ${matches.length} files; use more of the id`)
    if (matches[0] === undefined) throw new GroupError('GROUP_FILE_NOT_FOUND')
    return matches[0]
  }

  /**
   * The content of a file, chunk by chunk (one in memory at a time),
   * checked against what its sender announced: `GROUP_FILE_INCOMPLETE` at a
   * chunk that has not arrived, `GROUP_FILE_CORRUPT` at one that does not
   * open, and at the end if the SHA-256 differs. Only an iteration that ends
   * without throwing read the whole file.
   */
  fileContent(logId: Uint8Array): Generator<Uint8Array, void, undefined> {
    const row = this.#core.fileRow(logId)
    if (row === undefined) throw new GroupError('GROUP_FILE_NOT_FOUND')
    return this.#core.fileContent(row)
  }

  /**
   * Deletes one of our own messages or files, for every member: a signed
   * operation in our group log names it (a clear `delete` extension, so
   * every node that holds the log, members or not, deletes the payload and
   * never serves it again), and every member drops its local-view entry,
   * and a file's chunks and key. `target` is the local-view id, or a file's
   * log id. Throws `GROUP_ENTRY_NOT_FOUND`, `GROUP_NOT_DELETABLE` (someone
   * else's).
   */
  async deleteEntry(groupId: Uint8Array, target: { messageId: number } | { logId: Uint8Array }): Promise<GroupMessage | FileInfo> {
    return this.#exclusive(async () => {
      const group = this.#active(groupId)
      const entry = 'messageId' in target ? this.#core.message(groupId, target.messageId) : this.#core.fileRow(target.logId)
      if (entry === undefined || !bytesEqual(entry.groupId, groupId)) throw new GroupError('GROUP_ENTRY_NOT_FOUND')
      if (!bytesEqual(entry.author, this.identityKey)) throw new GroupError('GROUP_NOT_DELETABLE')
      const shown = 'logId' in entry ? this.#fileInfo(entry) : entry
      this.#apply(group, {
        append: [{ epoch: Number(group.mls.epoch), delete: [entry.seq] }],
        removed: { author: this.identityKey, seqs: [entry.seq] },
      })
      return shown
    })
  }

  /**
   * Owner: sets the group's retention period (ms; null: none), encrypted for
   * the members like a message. Every member then deletes what is older
   * (retention.ts), from the next {@link sweepRetention} on.
   */
  async setRetention(groupId: Uint8Array, periodMs: number | null): Promise<GroupInfo> {
    checkRetention(periodMs, 'GROUP_INVALID_ARGUMENT')
    return this.#exclusive(async () => {
      const group = this.#owned(groupId, 'set the retention period')
      const encrypted = await group.mls.encrypt(encodeAppBody({ type: 'retention', periodMs }))
      this.#apply(group, {
        next: encrypted.group,
        append: [{ payload: { kind: 'typed', message: encrypted.message }, epoch: Number(group.mls.epoch) }],
        retention: periodMs,
      })
      return this.#info(groupId)
    })
  }

  /** Applies every group's retention period to what this node holds (call it now and then: the node does every minute). */
  async sweepRetention(): Promise<SweepSummary> {
    return this.#exclusive(async () => {
      const total: SweepSummary = { expired: 0, pruned: 0, marked: false }
      for (const groupId of this.#core.groupIds()) {
        const periodMs = this.#core.retentionMs(groupId)
        // A group without a period is not loaded: its MLS state would stay in memory (1,000 members: megabytes) for nothing.
        if (periodMs === null) continue
        const group = this.#core.load(groupId)
        if (group === undefined) continue
        const done = sweepGroup(this.#core, group, periodMs, this.#core.now(), (events) => this.#emitAll(events))
        total.expired += done.expired
        total.pruned += done.pruned
        total.marked ||= done.marked
      }
      return total
    })
  }

  #fileInfo(row: FileRow): FileInfo {
    const { key: _key, ...shown } = row
    return { ...shown, chunksHeld: this.#core.chunksHeld(row) }
  }

  /**
   * Sync policy: the part of group log `logId` still exchanged with `peer`
   * when it departed the group lately (removed, or left) and is not a member
   * again, so that it learns of its removal; undefined when it has the whole
   * log or none of it. See {@link PartialShare}. From memory.
   */
  shareLimit(peer: Uint8Array, logId: LogId): PartialShare | undefined {
    const departed = this.#core.departed(peer, logId)
    if (departed === undefined) return undefined
    return { sendUpTo: new Map([[toHex(departed.owner), departed.ownerSeq]]) }
  }

  async #propose(group: LiveGroup, kind: 'update' | 'leave'): Promise<void> {
    if (group.ownProposal !== null) throw new GroupError('GROUP_PROPOSAL_PENDING')
    const made = kind === 'update' ? await group.mls.proposeUpdate() : await group.mls.proposeRemoveSelf()
    this.#apply(group, {
      next: made.group,
      append: [{ payload: { kind: 'proposal', proposal: made.proposal }, epoch: Number(group.mls.epoch) }],
      ownProposal: { digest: hashOf(made.proposal), kind },
    })
  }

  #apply(group: LiveGroup, change: Parameters<GroupCore['apply']>[1]): ReturnType<GroupCore['apply']> {
    const applied = this.#core.apply(group, change)
    this.#emitAll(applied.events)
    return applied
  }

  /** Emits what a committed change calls for; a throwing listener is logged, never allowed to undo committed work. */
  #emitAll(events: readonly GroupEvent[]): void {
    for (const event of events) {
      if (event[0] === 'changed' || event[0] === 'removed') this.#logAuthors.forget(event[1].groupId)
      else if (event[0] === 'joined') this.#logAuthors.forget(event[1].id)
    }
    for (const [name, ...args] of events) {
      try {
        // The generic EventEmitter typing cannot follow the event name through the tuple.
        ;(this.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args)
      } catch (err) {
        this.#log.error({ event: name, code: (err as { code?: unknown }).code }, 'group event listener threw')
      }
    }
  }

  /** The setting our group shares with the members we invite, if it has a name or description. */
  #sharedSetting(groupId: Uint8Array): GroupSetting | undefined {
    const info = this.#info(groupId)
    return info.sharedName === null && info.description === null ? undefined : { name: info.sharedName, description: info.description }
  }

  #info(groupId: Uint8Array): GroupInfo {
    const info = this.#core.info(groupId)
    if (info === undefined) throw new GroupError('GROUP_NOT_FOUND')
    return info
  }

  #active(groupId: Uint8Array): LiveGroup {
    const group = this.#core.load(groupId)
    if (group === undefined) throw new GroupError('GROUP_NOT_FOUND')
    if (!group.active) throw new GroupError('GROUP_INACTIVE', ENDED_MESSAGES[this.#core.ended(groupId) ?? 'removed'])
    return group
  }

  #owned(groupId: Uint8Array, action: string): LiveGroup {
    const group = this.#active(groupId)
    if (!bytesEqual(group.owner, this.identityKey)) throw new GroupError('GROUP_NOT_OWNER', `only the group owner can ${action}`)
    return group
  }

  #assertGroupId(groupId: Uint8Array): void {
    if (!(groupId instanceof Uint8Array) || groupId.length !== GROUP_ID_LENGTH) throw new GroupError('GROUP_INVALID_ARGUMENT', 'group id must be 32 bytes')
  }

  /** Runs `fn` after every earlier call finished: MLS states change strictly one step at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn)
    this.#queue = run.catch(() => undefined)
    return run
  }
}
