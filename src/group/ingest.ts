import { BurrowError } from '../errors.js'
import { GroupError } from './errors.js'
import { bytesEqual, fromHex, toHex } from '../log/bytes.js'
import { hashOf } from '../log/hash.js'
import type { Operation } from '../log/types.js'
import type { GroupCore, GroupChange, LiveGroup, OwnWrite } from './core.js'
import type { GroupAttempts, OwnProposal } from '../store/index.js'
import { joinFromWelcome, KEY_RETENTION, messageEpoch, welcomeIsFor, wrongEpoch, type MlsGroup, type RatchetStep } from './mls/index.js'
import { decodeAppBody, encodeAppBody, type AppBody } from './app-body.js'
import { fileLogId } from './file-crypto.js'
import { deletionTargets } from '../store/index.js'
import { decodeGroupPayload, isPartPayload, type GroupPayload, type WholePayload } from './payload.js'
import { joinParts, type StoredPart } from './parts.js'
import { decodeGroupSetting } from './setting.js'
import { ADMIT_ANY, GroupRoster } from './roster.js'
import { NestedMap } from './nested-map.js'
import type { GroupEvent, ProcessSummary } from './types.js'
import { MlsError } from './mls/errors.js'

/** Operations read from the store at a time while draining one author's log. */
const BATCH = 64

/** Code recorded for a failure that is not one of Burrow's typed errors (a defect in a dependency). */
const UNEXPECTED_FAILURE = 'GROUP_PROCESSING_FAILED'

/**
 * Deaths of the process in one peer operation's MLS processing after which
 * it is refused instead of tried again: one may be a power cut or a kill
 * during an honest join (seconds in a large group), two in the same place
 * are the operation's doing.
 */
const DEATHS_BEFORE_REFUSAL = 2

/** Most of our messages sent again after one catch-up (see `#resendLost`): the newest of our local-view entries looked at. */
const MAX_RESENT = 256

/** What handling one operation did to its author's cursor. */
type Outcome =
  /** Consumed (used, skipped or rejected): the cursor moved past it. */
  | 'done'
  /** An owner commit was applied: the epoch moved on. */
  | 'commit'
  /** Not processable yet (future epoch, payload missing): the cursor stays. */
  | 'wait'

function codeOf(err: unknown): string {
  return err instanceof BurrowError ? err.code : UNEXPECTED_FAILURE
}

/** Checks what the clear MLS framing claims against the group, the payload kind and the operation's epoch tag. */
function checkFraming(groupId: Uint8Array, message: Uint8Array, contentType: 'application' | 'proposal' | 'commit', tag: number): void {
  const framing = messageEpoch(message)
  if (!bytesEqual(framing.groupId, groupId)) throw new MlsError('MLS_WRONG_GROUP')
  if (framing.contentType !== contentType) throw new GroupError('GROUP_MALFORMED_PAYLOAD', `payload kind does not match its MLS ${framing.contentType}`)
  if (framing.epoch !== BigInt(tag)) throw new GroupError('GROUP_EPOCH_MISMATCH', 'epoch tag differs from the MLS framing')
}

function epochTag(op: Operation): number | undefined {
  const tag = op.header.extensions.get('epoch')
  return typeof tag === 'number' ? tag : undefined
}

/** The author's clock when it wrote `op` (its `ts`), if it said. */
function sentAt(op: Operation): { sentAt?: number } {
  const ts = op.header.extensions.get('ts')
  return typeof ts === 'number' ? { sentAt: ts } : {}
}

/**
 * The ingest path: turns stored group operations into MLS state changes and
 * local-view rows, in epoch order.
 *
 * At the group's epoch e, every other author's operations tagged up to e are
 * processed first (application messages decrypted; proposals committed right
 * away when we are the owner), then the owner's log up to and including its
 * commit tagged e, which moves the group to e+1; and again, until nothing
 * moves. Operations tagged with a future epoch wait (their author's cursor
 * stays before them). Every consumed operation moves its author's cursor in
 * the same transaction as what it produced, so a crash repeats nothing and
 * loses nothing.
 */
export class GroupIngest {
  readonly #core: GroupCore
  readonly #emit: (events: readonly GroupEvent[]) => void
  readonly #attempts: GroupAttempts
  #summary: ProcessSummary = { messages: 0, commits: 0, joined: 0, rejected: 0 }
  /**
   * Per group and author (hex): the epoch its next operation is tagged with,
   * while that is ahead of the group. That operation stays the author's next
   * until the group gets there, so passes skip the author meanwhile instead
   * of reading its batch again (a member's operations tagged far ahead cost
   * every pass a read of up to 64 MiB otherwise).
   */
  readonly #waitingFor = new NestedMap<number>()
  /** Owner: per group and member (hex), the epoch at which a proposal of the member's was last committed. */
  readonly #committedFor = new NestedMap<number>()
  /** The epoch of the group being processed when its pass began. */
  #passEpoch = 0
  /** Whether this pass already sent our messages of {@link #passEpoch} again. */
  #resentInPass = false
  /** Members (hex) of the group when this pass began: a resend goes to nobody who was not one. */
  #passMembers = new Set<string>()

  /** `emit` receives the events of every change as soon as it is committed; `attempts` marks the operation MLS is processing. */
  constructor(core: GroupCore, emit: (events: readonly GroupEvent[]) => void, attempts: GroupAttempts) {
    this.#core = core
    this.#emit = emit
    this.#attempts = attempts
  }

  /** Processes everything stored and processable: Welcomes for our pending invitations, then every active group. */
  async processAll(): Promise<ProcessSummary> {
    this.#summary = { messages: 0, commits: 0, joined: 0, rejected: 0 }
    const core = this.#core
    core.dropExpiredInvitations()
    for (const { groupId, inviter } of core.pendingInvitations()) {
      // A Welcome from an earlier inviter of the same group may have joined us meanwhile; a group we left may invite us again.
      if (core.info(groupId)?.active !== true) await this.#scanForWelcome(groupId, inviter)
    }
    try {
      for (const groupId of core.groupIds()) {
        const group = core.load(groupId)
        if (group?.active === true) await this.#processGroup(group)
        else {
          // Left or removed: nothing of it is processed any more.
          this.#waitingFor.deleteOuter(toHex(groupId))
          this.#committedFor.deleteOuter(toHex(groupId))
        }
      }
    } finally {
      core.scrubIfDue()
    }
    return this.#summary
  }

  #apply(group: LiveGroup, change: GroupChange): void {
    this.#emit(this.#core.apply(group, change).events)
  }

  async #processGroup(group: LiveGroup): Promise<void> {
    const self = toHex(this.#core.self)
    const owner = toHex(group.owner)
    const weOwn = owner === self
    this.#passEpoch = Number(group.mls.epoch)
    this.#resentInPass = false
    this.#passMembers = new Set(group.mls.members().map(toHex))
    let progressed = true
    // Read once: an operation stored during the pass calls for a pass of its own (processSoon).
    const pending = this.#core.pendingAuthors(group.id)
    // Ends: every pass that continues consumed at least one stored operation.
    while (progressed && group.active) {
      progressed = false
      // The owner turns to members whose proposals it committed longest ago (never: first): a member proposing again
      // in every epoch must not keep another's proposal, always a past epoch's by its turn, from being committed.
      const turn = (a: string): number => this.#committedFor.get(toHex(group.id), a) ?? -1
      const others = pending.filter((a) => a !== self && a !== owner).sort((x, y) => turn(x) - turn(y) || (x < y ? -1 : x > y ? 1 : 0))
      for (const author of others) {
        if (await this.#drain(group, fromHex(author), false)) progressed = true
      }
      if (!weOwn && group.active && pending.includes(owner) && (await this.#drain(group, group.owner, true))) progressed = true
    }
  }

  /** Handles `author`'s operations after its cursor until one waits (or, if asked, until a commit applied). */
  async #drain(group: LiveGroup, author: Uint8Array, stopAfterCommit: boolean): Promise<boolean> {
    const core = this.#core
    const groupKey = toHex(group.id)
    const authorKey = toHex(author)
    const tagAhead = this.#waitingFor.get(groupKey, authorKey)
    if (tagAhead !== undefined) {
      if (tagAhead > Number(group.mls.epoch)) return false
      this.#waitingFor.delete(groupKey, authorKey)
    }
    let progressed = false
    let cursor = core.cursor(group.id, author)
    for (;;) {
      const ops = core.operationsAfter(author, group.id, cursor, BATCH)
      if (ops.length === 0) return progressed
      for (const op of ops) {
        if (!group.active) return progressed
        const outcome = await this.#handle(group, op)
        if (outcome === 'wait') {
          const tag = epochTag(op)
          if (tag !== undefined && tag > Number(group.mls.epoch)) this.#waitingFor.set(groupKey, authorKey, tag)
          return progressed
        }
        progressed = true
        if (outcome === 'commit' && stopAfterCommit) return progressed
        // Parts were handled as one, up to their last: read on from the cursor, past the rest of them in this batch.
        if (op.payload !== undefined && isPartPayload(op.payload)) break
      }
      // Every handled operation moved the cursor; the check keeps the loop finite regardless.
      const moved = core.cursor(group.id, author)
      if (moved <= cursor) return progressed
      cursor = moved
    }
  }

  async #handle(group: LiveGroup, op: Operation): Promise<Outcome> {
    const tag = epochTag(op)
    if (tag === undefined) return this.#reject(group, op, new GroupError('GROUP_EPOCH_MISMATCH', 'operation has no epoch tag'), null)
    // Sent before we joined: MLS gives a joiner no keys for it.
    if (tag < group.joinedEpoch) return this.#skip(group, op)
    if (tag > Number(group.mls.epoch)) return 'wait'
    if (op.header.payloadSize === 0) return this.#control(group, op)
    // A payload its author deleted is never coming: go on without it.
    if (op.payload === undefined) return this.#core.isDeleted(op.header.author, group.id, op.header.seq) ? this.#skip(group, op) : 'wait'
    let payload: GroupPayload
    try {
      payload = decodeGroupPayload(op.payload)
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    if (payload.kind === 'part') {
      const whole = this.#whole(group.id, op, payload)
      if (whole === 'wait') return 'wait'
      // Handled as one operation at the last part's place: the cursor passes every part at once.
      if ('error' in whole) return this.#reject(group, whole.last, whole.error, tag)
      // A member's proposal takes under 400 bytes: one in parts could only carry a leaf no owner should commit.
      if (whole.payload.kind === 'proposal') return this.#reject(group, whole.last, new GroupError('GROUP_PROPOSAL_REFUSED', 'a proposal in parts'), tag)
      return this.#dispatch(group, whole.last, whole.payload, tag)
    }
    return this.#dispatch(group, op, payload, tag)
  }

  /**
   * All the parts that start at `first` (parts.ts), joined: `wait` until the
   * last is stored (with its payload), or an error for the whole run.
   */
  #whole(groupId: Uint8Array, first: Operation, part: Extract<GroupPayload, { kind: 'part' }>): 'wait' | { last: Operation; payload: WholePayload } | { last: Operation; error: unknown } {
    if (part.index !== 0) return { last: first, error: new GroupError('GROUP_MALFORMED_PAYLOAD', 'a part without the parts before it') }
    const rest = this.#core.operationsAfter(first.header.author, groupId, first.header.seq, part.count - 1)
    // Fewer stored, or a gap before the last: its parts are still on their way.
    if (rest.length < part.count - 1 || rest.some((op, i) => op.header.seq !== first.header.seq + 1 + i)) return 'wait'
    const last = rest.at(-1)!
    const parts: StoredPart[] = [{ part, epoch: epochTag(first) }]
    for (const op of rest) {
      if (op.payload === undefined) {
        return this.#core.isDeleted(op.header.author, groupId, op.header.seq) ? { last, error: new GroupError('GROUP_MALFORMED_PAYLOAD', 'a part was deleted') } : 'wait'
      }
      let next: GroupPayload
      try {
        next = decodeGroupPayload(op.payload)
      } catch (error) {
        return { last, error }
      }
      if (next.kind !== 'part') return { last, error: new GroupError('GROUP_MALFORMED_PAYLOAD', `${parts.length} of ${part.count} parts, then another payload`) }
      parts.push({ part: next, epoch: epochTag(op) })
    }
    try {
      return { last, payload: joinParts(parts) }
    } catch (error) {
      return { last, error }
    }
  }

  /** Handles a decoded payload (never a part) of `op`, by kind and by who wrote it. */
  async #dispatch(group: LiveGroup, op: Operation, payload: WholePayload, tag: number): Promise<Outcome> {
    const fromOwner = bytesEqual(op.header.author, group.owner)
    const weOwn = bytesEqual(group.owner, this.#core.self)
    switch (payload.kind) {
      case 'application':
        return this.#application(group, op, payload.message, tag)
      case 'typed':
        return this.#typed(group, op, payload.message, tag)
      case 'proposal':
        if (fromOwner) return this.#reject(group, op, new GroupError('GROUP_PROPOSAL_REFUSED', 'the owner commits; it does not propose'), tag)
        // Members apply proposals only from the owner's commit bundle: a pending
        // proposal would stop them from sending until that commit arrives.
        if (!weOwn) return this.#skip(group, op)
        return this.#guarded(group.id, op, () => this.#commitProposal(group, op, payload.proposal, tag), (err) => this.#reject(group, op, err, tag))
      case 'commit':
        if (!fromOwner) return this.#reject(group, op, new GroupError('GROUP_NOT_FROM_OWNER', `${'commit'} not written by the group owner`), tag)
        // Not guarded: refusing an honest commit after two crashes in it (a laptop's battery, repeated kills) would cut
        // this member off the group for good; only the owner writes commits, and the Welcome check covers the known crash.
        return this.#applyCommit(group, op, payload.commit, payload.proposals, tag)
      case 'welcome':
        // Welcomes are for joiners; members already have the group.
        return fromOwner ? this.#skip(group, op) : this.#reject(group, op, new GroupError('GROUP_NOT_FROM_OWNER', `${'welcome'} not written by the group owner`), tag)
      case 'setting':
        if (!fromOwner) return this.#reject(group, op, new GroupError('GROUP_NOT_FROM_OWNER', 'group setting not written by the group owner'), tag)
        return this.#setting(group, op, payload.message, tag)
    }
  }

  /** Member: the owner's group setting (its name, description), an MLS application message from the owner. */
  async #setting(group: LiveGroup, op: Operation, message: Uint8Array, tag: number): Promise<Outcome> {
    let change: GroupChange
    try {
      checkFraming(group.id, message, 'application', tag)
      const result = await group.mls.process(message)
      if (result.kind !== 'application') throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'setting payload holds a handshake message')
      if (!bytesEqual(result.sender, group.owner)) throw new GroupError('GROUP_SENDER_MISMATCH')
      change = { next: result.group, step: result.step, processed: { author: op.header.author, seq: op.header.seq }, setting: decodeGroupSetting(result.plaintext) }
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    this.#apply(group, change)
    return 'done'
  }

  async #application(group: LiveGroup, op: Operation, message: Uint8Array, tag: number): Promise<Outcome> {
    let change: GroupChange
    try {
      const { next, step, plaintext } = await this.#decrypt(group, op, message, tag)
      const { author, seq } = op.header
      change = { next, step, processed: { author, seq }, received: { author, seq, epoch: tag, plaintext, ...sentAt(op) } }
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    this.#apply(group, change)
    this.#summary.messages++
    return 'done'
  }

  /** Decrypts an application message of `op`'s author. */
  async #decrypt(group: LiveGroup, op: Operation, message: Uint8Array, tag: number): Promise<{ next: MlsGroup; step: RatchetStep; plaintext: Uint8Array }> {
    checkFraming(group.id, message, 'application', tag)
    const result = await group.mls.process(message)
    if (result.kind !== 'application') throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'application payload holds a handshake message')
    // A valid ciphertext replayed into another member's log: keep the key for the real one.
    if (!bytesEqual(result.sender, op.header.author)) throw new GroupError('GROUP_SENDER_MISMATCH')
    return { next: result.group, step: result.step, plaintext: result.plaintext }
  }

  /**
   * A typed body (app-body.ts): a file announcement enters the local view
   * with its file, whose log is shared with the members from then on; a
   * retention setting and a keepers list count only from the owner.
   */
  async #typed(group: LiveGroup, op: Operation, message: Uint8Array, tag: number): Promise<Outcome> {
    let change: GroupChange
    try {
      const { next, step, plaintext } = await this.#decrypt(group, op, message, tag)
      const body = decodeAppBody(plaintext)
      const { author, seq } = op.header
      const processed = { author, seq }
      if (body.type === 'retention') {
        if (!bytesEqual(author, group.owner)) throw new GroupError('GROUP_NOT_FROM_OWNER', 'retention set by someone other than the group owner')
        change = { next, step, processed, retention: body.periodMs }
      } else if (body.type === 'keepers') {
        if (!bytesEqual(author, group.owner)) throw new GroupError('GROUP_NOT_FROM_OWNER', 'keepers named by someone other than the group owner')
        change = { next, step, processed, keepers: body.keepers }
      } else if (body.type === 'resend') {
        change = { next, step, processed, ...this.#resent(group, op, body, tag) }
      } else {
        const { fileId, ...rest } = body.file
        const logId = fileLogId(group.id, fileId)
        if (this.#core.files.groupOf(logId) !== undefined) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'a file with this id was already announced')
        const when = sentAt(op)
        change = {
          next,
          step,
          processed,
          received: { author, seq, epoch: tag, plaintext: new Uint8Array(0), ...when },
          file: { logId, groupId: group.id, fileId, author, seq, ...rest, sentAt: when.sentAt ?? this.#core.now() },
        }
      }
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    this.#apply(group, change)
    this.#summary.messages++
    return 'done'
  }

  /**
   * A member's plain message sent again (app-body.ts type 4): shown in the
   * original's place (its seq, epoch tag and time) when the local view lacks
   * the original, dropped when it holds it. Dropped too when the original's
   * payload is gone (its author deleted it, retention expired it) or was no
   * plain message, or was written before we joined: a resend shows what
   * could have been shown, at most once.
   */
  #resent(group: LiveGroup, op: Operation, body: Extract<AppBody, { type: 'resend' }>, tag: number): Pick<GroupChange, 'received'> {
    const { author } = op.header
    if (body.seq >= op.header.seq) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'a resent message names an operation at or after its own')
    if (this.#core.hasMessageAt(group.id, author, body.seq)) return {}
    // The cursor is past the original (it comes first in its author's log): it was handled, and failed or was skipped.
    const [original] = this.#core.operationsAfter(author, group.id, body.seq - 1, 1)
    if (original?.header.seq !== body.seq || original.payload === undefined) return {}
    // Written before we joined: a joiner shows nothing of earlier epochs, sent again or not.
    const epoch = epochTag(original) ?? tag
    if (epoch < group.joinedEpoch) return {}
    try {
      if (decodeGroupPayload(original.payload).kind !== 'application') return {}
    } catch {
      return {}
    }
    return { received: { author, seq: body.seq, epoch, plaintext: body.plaintext, ...sentAt(original) } }
  }

  /**
   * A clear operation without payload: a deletion removes its author's
   * entries from the local view (the store already deleted their payloads);
   * a prune point matters only to retention (retention.ts).
   */
  #control(group: LiveGroup, op: Operation): Outcome {
    const { author, seq } = op.header
    const seqs = deletionTargets(op.header)
    this.#apply(group, seqs.length > 0 ? { processed: { author, seq }, removed: { author, seqs } } : { processed: { author, seq } })
    return 'done'
  }

  /**
   * Owner only: commits a member's proposal at once, with the proposal
   * bundled for the members who have not synced the proposer's log. A member
   * may only rotate its own key (an update of its own leaf) or leave (a
   * remove of itself); anything else (adding or removing someone else,
   * ReInit, ExternalInit, PreSharedKey, GroupContextExtensions, custom types)
   * is refused from the proposal itself, before any state that holds it is
   * kept, so the owner's MLS state stays exactly as it was.
   * An update's new leaf must meet the leaf policy (mls/leaf-policy.ts).
   */
  async #commitProposal(group: LiveGroup, op: Operation, proposal: Uint8Array, tag: number): Promise<Outcome> {
    let change: GroupChange
    try {
      checkFraming(group.id, proposal, 'proposal', tag)
      if (tag !== Number(group.mls.epoch)) throw wrongEpoch(BigInt(tag), group.mls.epoch)
      const before = group.mls.members()
      const proposed = await group.mls.process(proposal)
      if (proposed.kind !== 'proposal') throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'proposal payload holds another message')
      if (!bytesEqual(proposed.sender, op.header.author)) throw new GroupError('GROUP_SENDER_MISMATCH')
      const { type, target } = proposed.proposal
      const ownLeaf = target !== undefined && bytesEqual(target, proposed.sender)
      if (!((type === 'update' || type === 'remove') && ownLeaf)) {
        const what = type === 'update' || type === 'remove' ? `${type} of another leaf` : type
        throw new GroupError('GROUP_PROPOSAL_REFUSED', `a member may only update its own key or leave (refused: ${what})`)
      }
      const refusal = await proposed.group.updateRefusal()
      if (refusal !== undefined) throw new GroupError('GROUP_PROPOSAL_REFUSED', `the new leaf of a key update is refused: ${refusal}`)
      const committed = await proposed.group.commitPending()
      // The same rule checked on the outcome: nobody joined, and nobody but the proposer left.
      const after = committed.group.members()
      const expected = type === 'remove' ? before.filter((m) => !bytesEqual(m, proposed.sender)) : before
      if (after.length !== expected.length || !expected.every((m) => after.some((a) => bytesEqual(a, m)))) {
        throw new GroupError('GROUP_PROPOSAL_REFUSED', 'the commit would change the member list otherwise')
      }
      const commit: OwnWrite = { payload: { kind: 'commit', commit: committed.commit, proposals: [proposal] }, epoch: tag }
      change = { next: committed.group, processed: { author: op.header.author, seq: op.header.seq }, append: [commit] }
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    const epoch = Number(group.mls.epoch)
    this.#apply(group, change)
    this.#summary.commits++
    this.#committedFor.set(toHex(group.id), toHex(op.header.author), epoch)
    return 'commit'
  }

  /**
   * Member: applies the owner's commit, after the proposals bundled with it
   * (our own excepted: MLS already holds it). If the commit left out a
   * proposal of ours, it is made again for the new epoch, in the same step.
   */
  async #applyCommit(group: LiveGroup, op: Operation, commit: Uint8Array, proposals: readonly Uint8Array[], tag: number): Promise<Outcome> {
    let next: MlsGroup
    let ownIncluded = false
    try {
      checkFraming(group.id, commit, 'commit', tag)
      if (tag !== Number(group.mls.epoch)) throw wrongEpoch(BigInt(tag), group.mls.epoch)
      let state = group.mls
      for (const proposal of proposals) {
        if (group.ownProposal !== null && bytesEqual(hashOf(proposal), group.ownProposal.digest)) {
          ownIncluded = true
          continue
        }
        checkFraming(group.id, proposal, 'proposal', tag)
        const applied = await state.process(proposal).catch((err: unknown) => {
          throw new GroupError('GROUP_INVALID_BUNDLE', 'a bundled proposal cannot be applied', { cause: err })
        })
        if (applied.kind !== 'proposal') throw new GroupError('GROUP_INVALID_BUNDLE', 'bundle holds a non-proposal message')
        state = applied.group
      }
      const before = state
      const result = await group.roster.admitting(ADMIT_ANY, () => before.process(commit))
      if (result.kind !== 'commit') throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'commit payload holds another message')
      if (!bytesEqual(result.sender, group.owner)) throw new GroupError('GROUP_SENDER_MISMATCH')
      next = result.group
    } catch (err) {
      return this.#reject(group, op, err, tag)
    }
    const resent = next.active ? await this.#resendLost(group, next) : undefined
    const state = resent?.next ?? next
    const again = ownIncluded || !next.active ? undefined : await this.#proposeAgain(group.ownProposal, state)
    this.#apply(group, {
      next: again?.next ?? state,
      processed: { author: op.header.author, seq: op.header.seq },
      ownProposal: again?.ownProposal ?? null,
      append: [...(resent?.writes ?? []), ...(again === undefined ? [] : [again.write])],
    })
    this.#summary.commits++
    return 'commit'
  }

  /**
   * Member: once this pass is more than the key retention window (2 epochs)
   * past the epoch it began at, the others no longer hold keys for that
   * epoch; our plain messages written at it (since the last commit we had
   * processed: we were behind) are sent again, each as a type-4 body naming
   * its seq (app-body.ts), in the same step as the commit that takes us to
   * the owner's last stored epoch (a resend at an earlier one would be as
   * unreadable to members already further on). At most the newest
   * {@link MAX_RESENT} of our entries are looked at; one that would no
   * longer fit an operation stays lost. Members that did read one drop its
   * resend; our view keeps the one entry. Nothing is sent again when the
   * group has a member it did not have at that epoch: the messages were
   * written for its members then, and stay lost.
   */
  async #resendLost(group: LiveGroup, next: MlsGroup): Promise<{ next: MlsGroup; writes: OwnWrite[] } | undefined> {
    const epoch = Number(next.epoch)
    const behind = this.#passEpoch
    if (this.#resentInPass || epoch - behind <= KEY_RETENTION.retainKeysForEpochs || this.#commitStoredAt(group, epoch)) return undefined
    this.#resentInPass = true
    // Our messages were written for the members of their epoch: one who joined since must not get them (MLS gives a joiner
    // nothing of the epochs before it; an honest node would drop the resend, a modified one would keep it).
    if (!next.members().every((m) => this.#passMembers.has(toHex(m)))) {
      this.#core.logger.info('did not send again messages the others could not read: members joined since they were written')
      return undefined
    }
    const lost = this.#core.latestOwnMessages(group.id, MAX_RESENT).filter((m) => m.epoch === behind && m.fileLog === undefined)
    let state = next
    const writes: OwnWrite[] = []
    try {
      for (const m of lost) {
        const encrypted = await state.encrypt(encodeAppBody({ type: 'resend', seq: m.seq, plaintext: m.plaintext }))
        const payload = { kind: 'typed', message: encrypted.message } as const
        if (!this.#core.fitsOneOperation(payload)) continue
        state = encrypted.group
        writes.push({ payload, epoch })
      }
    } catch (err) {
      this.#core.logger.warn({ code: codeOf(err) }, 'could not send again messages the others could not read')
      return undefined
    }
    return writes.length === 0 ? undefined : { next: state, writes }
  }

  /** Whether the owner's log as stored here holds a commit tagged `epoch` or later: its last operation is tagged later, or is that commit (whole or in parts). */
  #commitStoredAt(group: LiveGroup, epoch: number): boolean {
    const core = this.#core
    const last = core.lastOperation(group.id, group.owner)
    const tag = last === undefined ? undefined : epochTag(last)
    if (tag === undefined || tag < epoch) return false
    if (tag > epoch) return true
    try {
      const payload = last!.payload === undefined ? undefined : decodeGroupPayload(last!.payload)
      if (payload?.kind !== 'part') return payload?.kind === 'commit'
      // A whole payload opens with its array head and kind: `83 02` for a commit.
      const [first] = core.operationsAfter(group.owner, group.id, last!.header.seq - payload.index - 1, 1)
      const head = first?.payload === undefined ? undefined : decodeGroupPayload(first.payload)
      return head?.kind === 'part' && head.bytes[1] === 2
    } catch {
      return false
    }
  }

  /** Makes our left-out proposal again at `next`'s epoch; undefined when there was none or MLS refuses. */
  async #proposeAgain(
    pending: OwnProposal | null,
    next: MlsGroup,
  ): Promise<{ next: MlsGroup; ownProposal: OwnProposal; write: OwnWrite } | undefined> {
    if (pending === null) return undefined
    try {
      const made = pending.kind === 'update' ? await next.proposeUpdate() : await next.proposeRemoveSelf()
      return {
        next: made.group,
        ownProposal: { digest: hashOf(made.proposal), kind: pending.kind },
        write: { payload: { kind: 'proposal', proposal: made.proposal }, epoch: Number(next.epoch) },
      }
    } catch (err) {
      this.#core.logger.warn({ code: codeOf(err) }, 'could not renew a proposal the owner left out')
      return undefined
    }
  }

  /**
   * Invitee: reads the inviter's log for a Welcome that opens with one of our
   * key packages for this group, and joins. Everything before the Welcome is
   * unreadable to a joiner, so the cursor simply moves over it.
   */
  async #scanForWelcome(groupId: Uint8Array, inviter: Uint8Array): Promise<void> {
    const core = this.#core
    for (;;) {
      const cursor = core.cursor(groupId, inviter)
      const ops = core.operationsAfter(inviter, groupId, cursor, BATCH)
      if (ops.length === 0) return
      for (const op of ops) {
        if (op.payload === undefined) {
          // A deletion has no payload, and one its author deleted is never coming (neither was a Welcome for us).
          if (op.header.payloadSize !== 0 && !core.isDeleted(op.header.author, groupId, op.header.seq)) return
          core.passBeforeJoin(groupId, op)
          continue
        }
        let payload: GroupPayload
        try {
          payload = decodeGroupPayload(op.payload)
        } catch (err) {
          core.passBeforeJoin(groupId, op, { code: codeOf(err), epoch: epochTag(op) ?? null })
          this.#summary.rejected++
          continue
        }
        let at = op
        if (payload.kind === 'part') {
          const whole = this.#whole(groupId, op, payload)
          if (whole === 'wait') return
          at = whole.last
          if ('error' in whole) {
            core.passBeforeJoin(groupId, at, { code: codeOf(whole.error), epoch: epochTag(at) ?? null })
            this.#summary.rejected++
            break
          }
          payload = whole.payload
        }
        if (payload.kind !== 'welcome') {
          core.passBeforeJoin(groupId, at)
          // Parts moved the cursor past operations of this batch: read on from it.
          if (at !== op) break
          continue
        }
        const welcome = payload.welcome
        const joined = await this.#guarded(groupId, at, () => this.#tryJoin(groupId, inviter, at, welcome), (err) => ({ code: err.code, epoch: epochTag(at) ?? null }))
        if (joined === true) return
        core.passBeforeJoin(groupId, at, joined)
        if (joined !== undefined) this.#summary.rejected++
        if (at !== op) break
      }
      if (core.cursor(groupId, inviter) <= cursor) return
    }
  }

  /** Joins from `welcome` if it opens one of our key packages: true when joined, a rejection when it is invalid, undefined when it is not for us. */
  async #tryJoin(groupId: Uint8Array, inviter: Uint8Array, op: Operation, welcome: Uint8Array): Promise<true | { code: string; epoch: number | null } | undefined> {
    const core = this.#core
    for (const invitation of core.invitations(groupId)) {
      const roster = new GroupRoster()
      let joined: MlsGroup
      try {
        // A Welcome for someone else (or another of our key packages): normal.
        if (!(await welcomeIsFor(welcome, invitation.publicPackage))) continue
        const keyPackage = { publicPackage: invitation.publicPackage, privatePackage: invitation.privatePackage }
        joined = await roster.admitting(ADMIT_ANY, () => joinFromWelcome(welcome, keyPackage, core.identity, roster.accepts))
      } catch (err) {
        // Malformed, or ours but not joinable (a malformed tree, a bad signature): recorded, never tried again.
        core.logger.debug({ code: codeOf(err) }, 'welcome refused')
        return { code: new GroupError('GROUP_INVALID_WELCOME').code, epoch: epochTag(op) ?? null }
      }
      const members = joined.members()
      const problem = !bytesEqual(joined.groupId, groupId)
        ? 'welcome opens another group'
        : !members.some((m) => bytesEqual(m, inviter))
          ? 'welcome opens a group without its inviter'
          : undefined
      if (problem !== undefined) return { code: new GroupError('GROUP_INVALID_WELCOME', problem).code, epoch: epochTag(op) ?? null }
      const adopted = core.adopt({ mls: joined, roster, owner: inviter, welcomeSeq: op.header.seq })
      this.#summary.joined++
      this.#emit(adopted.events)
      return true
    }
    return undefined
  }

  /**
   * The poison-pill guard around MLS processing of a peer's `op` (a Welcome
   * or a member's proposal: bytes ts-mls might crash the process on, from
   * any contact or any member, and whose refusal costs an honest sender only
   * a new invitation or proposal; an owner's commit is not guarded): marks it
   * in the database while `process` runs, so that an operation the process
   * died in {@link DEATHS_BEFORE_REFUSAL} times is handed to `refuse`
   * instead of run again at every start.
   */
  async #guarded<T>(groupId: Uint8Array, op: Operation, process: () => Promise<T>, refuse: (err: GroupError) => T): Promise<T> {
    const { author, seq } = op.header
    const deaths = this.#attempts.begin(groupId, author, seq)
    try {
      if (deaths < DEATHS_BEFORE_REFUSAL) return await process()
      const err = new GroupError('GROUP_PROCESSING_INTERRUPTED')
      this.#core.logger.warn({ code: err.code, seq, author: toHex(author).slice(0, 16) }, 'refused an operation the node died processing')
      return refuse(err)
    } finally {
      this.#attempts.end()
    }
  }

  #skip(group: LiveGroup, op: Operation): Outcome {
    this.#apply(group, { processed: { author: op.header.author, seq: op.header.seq } })
    return 'done'
  }

  #reject(group: LiveGroup, op: Operation, err: unknown, epoch: number | null): Outcome {
    const code = codeOf(err)
    const where = { code, seq: op.header.seq, author: toHex(op.header.author).slice(0, 16) }
    // Typed errors are expected from hostile or stale input; anything else is a defect worth seeing.
    if (code === UNEXPECTED_FAILURE) this.#core.logger.warn(where, 'group operation failed unexpectedly')
    else this.#core.logger.debug(where, 'group operation rejected')
    this.#apply(group, { processed: { author: op.header.author, seq: op.header.seq }, rejected: { op, code, epoch } })
    this.#summary.rejected++
    return 'done'
  }
}
