import { inspect } from 'node:util'
import {
  createApplicationMessage,
  createCommit,
  createGroup as createTsMlsGroup,
  createProposal,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  mlsExporter,
  processPrivateMessage,
} from 'ts-mls'
import type {
  CiphersuiteImpl,
  ClientState,
  CreateCommitOptions,
  PrivateMessage,
  Proposal,
  ProposalWithSender,
} from 'ts-mls'
import { getOwnLeafNode, validateLeafNodeCredentialAndKeyUniqueness } from 'ts-mls/clientState.js'
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js'
import { decryptSenderData } from 'ts-mls/privateMessage.js'
import { bytesEqual } from '../../log/bytes.js'
import { keyPackageRefusal, leafRefusal } from './leaf-policy.js'
import { leafIdentity, onRoster, RosterAuthService, type MlsIdentity, type Roster } from './credential.js'
import { MlsError, wrongEpoch } from './errors.js'
import { assertIdentity, createKeyPackage, decodePrivatePackage, keyPackageBelongsTo, type KeyPackagePair } from './key-package.js'
import { decodeGroupMessage, decodeKeyPackage, decodeWelcome, encodePrivateMessage, encodeWelcome } from './messages.js'
import { applyRatchetSteps, decodeStoredGroup, encodeStoredGroup, ratchetStepOf, type RatchetStep } from './state-codec.js'
import { cipherSuite, clientConfig, MLS_CIPHERSUITE } from './suite.js'
import { translateError } from './translate.js'
import { checkTreeStructure, unmergedListsDiffer, welcomeTree } from './tree-check.js'
import { commitAppliesUpdate, createUpdateProposal, withUpdatedLeafKey, type PendingUpdate } from './update.js'

/** Outcome of {@link MlsGroup.process}. Every variant carries the group state to persist with the message. */
export type ProcessResult =
  | {
      readonly kind: 'application'
      /** Decrypted application data. */
      readonly plaintext: Uint8Array
      /** Identity key of the authenticated sender. */
      readonly sender: Uint8Array
      readonly group: MlsGroup
      /** All that changed from this group to `group`: persisting it is enough (see {@link MlsGroup.decodeState}). */
      readonly step: RatchetStep
    }
  | {
      readonly kind: 'commit'
      /** Identity key of the committer. */
      readonly sender: Uint8Array
      /** True when this commit removed us: the group can no longer send or decrypt. */
      readonly removedSelf: boolean
      readonly group: MlsGroup
    }
  | {
      readonly kind: 'proposal'
      /** Identity key of the proposer. */
      readonly sender: Uint8Array
      /** What the proposal asks for, read from the proposal itself. */
      readonly proposal: ProposalSummary
      /** The group with the proposal pending (ts-mls then refuses to encrypt until a commit): keep it only to commit it. */
      readonly group: MlsGroup
    }

/** RFC 9420 proposal types by name; `custom` for any other type number. */
export type ProposalType = 'add' | 'update' | 'remove' | 'psk' | 'reinit' | 'external_init' | 'group_context_extensions' | 'custom'

/** What a received proposal asks for: enough for the committer to decide whether to commit it. */
export interface ProposalSummary {
  readonly type: ProposalType
  /**
   * The identity it is about: the one an `add` adds, the one a `remove`
   * removes, the one named by the new leaf of an `update` (which always
   * replaces the sender's own leaf). Undefined for the other types, and for
   * a leaf that is blank or not bound to an identity.
   */
  readonly target: Uint8Array | undefined
}

/** A commit this member created, and the group state after it. */
export interface CommitResult {
  /** Encoded MLSMessage (PrivateMessage) for the other members. */
  readonly commit: Uint8Array
  /** The group in the new epoch. Persist it together with the commit. */
  readonly group: MlsGroup
}

/** An add-commit: the commit for existing members, the Welcome for the new ones. */
export interface AddResult extends CommitResult {
  /** Encoded MLSMessage(Welcome), ratchet tree included (encrypted), for every added member. */
  readonly welcome: Uint8Array
  /**
   * The key rotation (a commit with a path, see {@link MlsGroup.commitPending})
   * the add needed first so that the new members' ts-mls accepts the Welcome
   * (`unmergedListsDiffer`, tree-check.ts), or undefined. Publish it before
   * `commit`: it takes the current epoch, `commit` the next one.
   */
  readonly rotation: Uint8Array | undefined
}

/** A proposal this member created (for the committer), and the group state after it. */
export interface ProposalResult {
  /** Encoded MLSMessage (PrivateMessage). */
  readonly proposal: Uint8Array
  readonly group: MlsGroup
}

/** An encrypted application message, and the group state after it. */
export interface EncryptResult {
  /** Encoded MLSMessage (PrivateMessage). */
  readonly message: Uint8Array
  readonly group: MlsGroup
  /** All that changed from this group to `group`: persisting it is enough (see {@link MlsGroup.decodeState}). */
  readonly step: RatchetStep
}

/**
 * One member's view of an MLS group (RFC 9420, ciphersuite 1), immutable.
 *
 * Every operation that changes keys returns a new `MlsGroup` and leaves this
 * one untouched, so the caller can persist the new state in the same
 * transaction as the message it belongs to, and a failed call (bad input,
 * tampered message, refused credential) leaves a usable group. The price:
 * the superseded object still holds the ratchet keys it had (ts-mls's
 * "consumed" secrets are not zeroed, as that would modify the object the
 * caller may still hold); drop it once the new state is stored, and the only
 * copy of a used key is gone with it.
 *
 * Credentials are checked against the caller's roster whenever a leaf enters
 * or changes, and the sender of every processed message must be on it.
 * Encoded state is secret (epoch secrets) but does not contain the identity
 * seed, which {@link MlsGroup.decodeState} takes from the caller.
 */
export class MlsGroup {
  readonly #state: ClientState
  readonly #pendingUpdate: PendingUpdate | undefined
  readonly #roster: Roster

  private constructor(state: ClientState, pendingUpdate: PendingUpdate | undefined, roster: Roster) {
    this.#state = state
    this.#pendingUpdate = pendingUpdate
    this.#roster = roster
  }

  /**
   * Wraps a fresh ts-mls state (used by {@link createGroup} and
   * {@link joinFromWelcome}).
   * @internal
   */
  static fromState(state: ClientState, roster: Roster): MlsGroup {
    return new MlsGroup(state, undefined, roster)
  }

  /** The group id (a copy). */
  get groupId(): Uint8Array {
    return this.#state.groupContext.groupId.slice()
  }

  /** Current epoch; every commit advances it by one. */
  get epoch(): bigint {
    return this.#state.groupContext.epoch
  }

  /** False once a processed commit removed this member. */
  get active(): boolean {
    return this.#state.groupActiveState.kind === 'active'
  }

  /** Identity keys of all members (this one included), in leaf order. */
  members(): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const node of this.#state.ratchetTree) {
      if (node?.nodeType !== 'leaf') continue
      const identity = leafIdentity(node.leaf)
      if (identity !== undefined) out.push(identity.slice())
    }
    return out
  }

  /**
   * Commits the addition of the members behind `keyPackages` (encoded
   * MLSMessage(KeyPackage) each), plus any proposals received this epoch.
   * When the Welcome's tree would be one ts-mls refuses to join from
   * (`unmergedListsDiffer`, tree-check.ts), the add follows a key rotation
   * ({@link AddResult.rotation}); a single member always joins then, several
   * at once may still not (MLS_USAGE: add them one at a time).
   * Throws MLS_MALFORMED for a malformed package, MLS_UNAUTHORIZED for an
   * identity not on the roster, MLS_REJECTED for an invalid or expired one.
   */
  async addMembers(keyPackages: Uint8Array[]): Promise<AddResult> {
    if (keyPackages.length === 0) throw new MlsError('MLS_USAGE', 'addMembers needs at least one key package')
    const adds: Proposal[] = keyPackages.map((bytes) => ({ proposalType: 'add', add: { keyPackage: decodeKeyPackage(bytes) } }))
    const options: CreateCommitOptions = { extraProposals: adds, ratchetTreeExtension: true }
    const added = await this.#commit('add members', options)
    if (!unmergedListsDiffer(added.group.#state.ratchetTree)) return withWelcome(added, undefined)
    const rotated = await this.#commit('add members', {})
    const readded = await rotated.group.#commit('add members', options)
    if (unmergedListsDiffer(readded.group.#state.ratchetTree)) {
      throw new MlsError('MLS_USAGE', 'add members: their Welcome would be refused by ts-mls; add them one at a time')
    }
    return withWelcome(readded, rotated.commit)
  }

  /**
   * Owner, before {@link addMembers}: why the leaf policy (leaf-policy.ts)
   * refuses `publicPackage` (an encoded MLSMessage(KeyPackage)) in this
   * group, or undefined when it may be added. Throws MLS_MALFORMED for
   * malformed bytes.
   */
  async keyPackageRefusal(publicPackage: Uint8Array): Promise<string | undefined> {
    return keyPackageRefusal(decodeKeyPackage(publicPackage), this.#state.ratchetTree, await cipherSuite())
  }

  /**
   * Owner, before {@link commitPending}: why the leaf policy (leaf-policy.ts)
   * refuses a leaf that a pending Update would put in the tree, or undefined
   * when every one may enter.
   */
  async updateRefusal(): Promise<string | undefined> {
    const cs = await cipherSuite()
    for (const { proposal } of Object.values(this.#state.unappliedProposals)) {
      if (proposal.proposalType !== 'update') continue
      const refusal = await leafRefusal(proposal.update.leafNode, this.#state.ratchetTree, cs)
      if (refusal !== undefined) return refusal
    }
    return undefined
  }

  /** Commits the removal of the members with these identity keys (not this member: see {@link proposeRemoveSelf}). */
  async removeMembers(identities: Uint8Array[]): Promise<CommitResult> {
    if (identities.length === 0) throw new MlsError('MLS_USAGE', 'removeMembers needs at least one identity')
    const own = this.#state.privatePath.leafIndex
    const removes: Proposal[] = identities.map((identity) => {
      const leafIndex = this.#leafIndexOf(identity)
      if (leafIndex === undefined) throw new MlsError('MLS_USAGE', 'identity to remove is not a member')
      if (leafIndex === own) throw new MlsError('MLS_USAGE', 'a committer cannot remove itself; propose leaving instead')
      return { proposalType: 'remove', remove: { removed: leafIndex } }
    })
    const { commit, group } = await this.#commit('remove members', { extraProposals: removes })
    return { commit, group }
  }

  /**
   * Commits every proposal received this epoch (updates, leave requests)
   * together with a fresh path for this member: the committer's own key
   * rotation. Also valid with nothing pending (pure rotation).
   */
  async commitPending(): Promise<CommitResult> {
    const { commit, group } = await this.#commit('commit', {})
    return { commit, group }
  }

  /**
   * Proposes a fresh leaf key for this member (post-compromise security for
   * a member that does not commit). The new private key is kept, and
   * persisted, until a commit settles the epoch.
   */
  async proposeUpdate(): Promise<ProposalResult> {
    return this.#run('propose update', async (state, cs) => {
      const { proposal, pending } = await createUpdateProposal(state, cs)
      const { newState, message } = await createProposal(state, false, proposal, cs)
      return { proposal: encodeMlsMessage(message), group: new MlsGroup(newState, pending, this.#roster) }
    })
  }

  /** Asks the committer to remove this member (leaving the group). */
  async proposeRemoveSelf(): Promise<ProposalResult> {
    return this.#run('propose leave', async (state, cs) => {
      const proposal: Proposal = { proposalType: 'remove', remove: { removed: state.privatePath.leafIndex } }
      const { newState, message } = await createProposal(state, false, proposal, cs)
      return { proposal: encodeMlsMessage(message), group: new MlsGroup(newState, this.#pendingUpdate, this.#roster) }
    })
  }

  /**
   * True while proposals of this epoch wait for a commit. ts-mls (like
   * openmls) refuses application messages then, so the committer should
   * commit soon after proposals arrive.
   */
  get hasPendingProposals(): boolean {
    return Object.keys(this.#state.unappliedProposals).length > 0
  }

  /**
   * Encrypts application data for the current epoch. Throws MLS_USAGE
   * once removed, or while proposals await a commit ({@link hasPendingProposals}).
   */
  async encrypt(plaintext: Uint8Array): Promise<EncryptResult> {
    if (!(plaintext instanceof Uint8Array)) throw new MlsError('MLS_USAGE', 'plaintext must be a Uint8Array')
    if (this.hasPendingProposals) throw new MlsError('MLS_USAGE', 'cannot send application messages while proposals await a commit')
    return this.#run('encrypt', async (state, cs) => {
      const { newState, privateMessage } = await createApplicationMessage(state, plaintext, cs)
      const step = ratchetStepOf(newState, newState.groupContext.epoch, newState.privatePath.leafIndex)
      return { message: encodePrivateMessage(privateMessage), group: new MlsGroup(newState, this.#pendingUpdate, this.#roster), step }
    })
  }

  /**
   * Authenticates and applies one message from another member: decrypts an
   * application message, records a proposal, or applies a commit.
   *
   * Checks, in order: well-formed PrivateMessage (MLS_MALFORMED; Burrow never
   * accepts PublicMessage: MLS_REJECTED), this group (MLS_WRONG_GROUP),
   * still a member (MLS_DECRYPT_FAILED), the epoch (MLS_WRONG_EPOCH: a future
   * one is worth buffering; a past one is accepted only for application
   * messages within the retention window), the sender's credential on the
   * roster (MLS_UNAUTHORIZED), then decryption and signature
   * (MLS_DECRYPT_FAILED, MLS_REJECTED). Each ciphertext decrypts once: the
   * returned group no longer has its key. A member's own messages are not fed
   * back to it (their keys were consumed when they were sent).
   */
  async process(message: Uint8Array): Promise<ProcessResult> {
    const decoded = decodeGroupMessage(message)
    if (decoded.wireformat !== 'private') throw new MlsError('MLS_REJECTED', 'unencrypted group messages are not accepted')
    const pm = decoded.message
    const state = this.#state
    if (!bytesEqual(pm.groupId, state.groupContext.groupId)) throw new MlsError('MLS_WRONG_GROUP')
    if (!this.active) throw new MlsError('MLS_DECRYPT_FAILED', 'this member was removed from the group')
    const current = state.groupContext.epoch
    if (pm.epoch > current) throw wrongEpoch(pm.epoch, current)
    if (pm.epoch < current && (pm.contentType !== 'application' || !state.historicalReceiverData.has(pm.epoch))) {
      throw wrongEpoch(pm.epoch, current)
    }
    return this.#run('process', async (state, cs) => {
      const { sender, leafIndex } = await this.#authorizedSender(pm, state, cs)
      let received: Proposal | undefined
      const result = await processPrivateMessage(await this.#stateForMessage(pm, state, cs), pm, emptyPskIndex, cs, (incoming) => {
        if (incoming.kind === 'proposal') received = incoming.proposal.proposal
        return 'accept'
      })
      if (result.kind === 'applicationMessage') {
        const group = new MlsGroup(result.newState, this.#pendingUpdate, this.#roster)
        const step = ratchetStepOf(result.newState, pm.epoch, leafIndex)
        return { kind: 'application' as const, plaintext: result.message, sender, group, step }
      }
      if (pm.contentType === 'commit') {
        const group = new MlsGroup(result.newState, undefined, this.#roster)
        return { kind: 'commit' as const, sender, removedSelf: !group.active, group }
      }
      if (received === undefined) throw new MlsError('MLS_REJECTED', 'proposal message without a proposal')
      const proposal = summarize(received, state)
      return { kind: 'proposal' as const, sender, proposal, group: new MlsGroup(result.newState, this.#pendingUpdate, this.#roster) }
    })
  }

  /**
   * Derives `length` bytes from the current epoch's exporter secret (RFC 9420
   * §8.5), e.g. a key shared by exactly the members of this epoch.
   */
  async exportSecret(label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > 255) throw new MlsError('MLS_USAGE', 'export length must be 1..255 bytes')
    return mlsExporter(this.#state.keySchedule.exporterSecret, label, context, length, await cipherSuite())
  }

  /** Serializes the state (secret; without the identity seed) for {@link MlsGroup.decodeState}. */
  encodeState(): Uint8Array {
    return encodeStoredGroup({ state: this.#state, pendingUpdate: this.#pendingUpdate })
  }

  /**
   * Restores a group from {@link MlsGroup.encodeState} and the ratchet steps
   * of the application messages sent and received since that state (the
   * `step` of each {@link EncryptResult} and application {@link ProcessResult},
   * the latest per epoch and leaf). `identity` must be the member the state
   * belongs to (MLS_USAGE otherwise); `roster` is the current roster. Throws
   * MLS_MALFORMED for malformed bytes or a step the state cannot take.
   */
  static decodeState(bytes: Uint8Array, identity: MlsIdentity, roster: Roster, steps: readonly RatchetStep[] = []): MlsGroup {
    assertIdentity(identity)
    const stored = decodeStoredGroup(bytes)
    const pendingUpdate = stored.pendingUpdate
    const state = applyRatchetSteps(stored.state, steps)
    if (state.groupContext.cipherSuite !== MLS_CIPHERSUITE) throw new MlsError('MLS_USAGE', 'group uses an unsupported ciphersuite')
    const restored = new MlsGroup(
      { ...state, signaturePrivateKey: identity.seed.slice(), clientConfig: clientConfig(new RosterAuthService(roster)) },
      pendingUpdate,
      roster,
    )
    const own = restored.#state.ratchetTree[restored.#state.privatePath.leafIndex * 2]
    // A removed member's own leaf is gone from its tree; nothing left to compare.
    const mismatch = own?.nodeType === 'leaf' ? !bytesEqual(own.leaf.signaturePublicKey, identity.publicKey) : restored.active
    if (mismatch) {
      throw new MlsError('MLS_USAGE', 'group state belongs to another identity')
    }
    return restored
  }

  /** Placeholder for JSON.stringify: the state holds secrets. */
  toJSON(): string {
    return `[MlsGroup epoch ${this.epoch}]`
  }

  /** Placeholder for util.inspect / console.log: the state holds secrets. */
  [inspect.custom](): string {
    return this.toJSON()
  }

  async #commit(what: string, options: CreateCommitOptions): Promise<CommitResult & { welcome: Uint8Array | undefined }> {
    return this.#run(what, async (state, cs) => {
      const { newState, commit, welcome } = await createCommit({ state: withoutOwnUpdates(state), cipherSuite: cs }, options)
      // What members check of a commit with a path and ts-mls does not of its own: the owner sends no commit its members refuse.
      const unsound = await validateLeafNodeCredentialAndKeyUniqueness(newState.ratchetTree, getOwnLeafNode(newState), newState.privatePath.leafIndex)
      if (unsound !== undefined) throw new MlsError('MLS_REJECTED', `${what}: the tree would hold duplicate keys or an unsupported credential`, { cause: unsound })
      return {
        commit: encodeMlsMessage(commit),
        welcome: welcome === undefined ? undefined : encodeWelcome(welcome),
        group: new MlsGroup(newState, undefined, this.#roster),
      }
    })
  }

  /**
   * Runs one ts-mls operation on a copy of the state carrying a fresh roster
   * check, and turns whatever it throws into a typed error.
   */
  async #run<T>(what: string, op: (state: ClientState, cs: CiphersuiteImpl) => Promise<T>): Promise<T> {
    const auth = new RosterAuthService(this.#roster)
    const state: ClientState = { ...this.#state, clientConfig: clientConfig(auth) }
    try {
      return await op(state, await cipherSuite())
    } catch (err) {
      throw translateError(err, auth, what)
    }
  }

  /**
   * Decrypts the sender data (ts-mls does not report the sender) and returns
   * the sender's identity, if it is a bound credential on the roster, and leaf. The
   * signature check that proves this sender wrote the message follows in
   * ts-mls's processing.
   */
  async #authorizedSender(pm: PrivateMessage, state: ClientState, cs: CiphersuiteImpl): Promise<{ sender: Uint8Array; leafIndex: number }> {
    const past = state.historicalReceiverData.get(pm.epoch)
    const epochData =
      pm.epoch === state.groupContext.epoch || past === undefined
        ? { senderDataSecret: state.keySchedule.senderDataSecret, ratchetTree: state.ratchetTree }
        : past
    const senderData = await decryptSenderData(pm, epochData.senderDataSecret, cs)
    if (senderData === undefined) throw new MlsError('MLS_DECRYPT_FAILED', 'sender data cannot be decrypted')
    const node = epochData.ratchetTree[senderData.leafIndex * 2]
    if (node?.nodeType !== 'leaf') throw new MlsError('MLS_REJECTED', 'sender is not a member')
    const identity = leafIdentity(node.leaf)
    if (identity === undefined || !onRoster(this.#roster, identity)) throw new MlsError('MLS_UNAUTHORIZED', 'sender is not on the roster')
    return { sender: identity.slice(), leafIndex: senderData.leafIndex }
  }

  /**
   * The state to process `pm` with. Only differs when this member has a
   * pending Update and `pm` is a commit that applies it: the commit's path
   * secret is then encrypted to the new leaf key, which ts-mls does not know.
   * Whether the commit applies it is learnt by a dry run that stops right
   * after the proposals are resolved.
   */
  async #stateForMessage(pm: PrivateMessage, state: ClientState, cs: CiphersuiteImpl): Promise<ClientState> {
    const pending = this.#pendingUpdate
    if (pending === undefined || pm.contentType !== 'commit') return state
    let proposals: ProposalWithSender[] = []
    await processPrivateMessage(state, pm, emptyPskIndex, cs, (incoming) => {
      if (incoming.kind === 'commit') proposals = incoming.proposals
      return 'reject'
    })
    return commitAppliesUpdate(proposals, state.privatePath.leafIndex, pending) ? withUpdatedLeafKey(state, pending) : state
  }

  #leafIndexOf(identity: Uint8Array): number | undefined {
    const tree = this.#state.ratchetTree
    for (let nodeIndex = 0; nodeIndex < tree.length; nodeIndex += 2) {
      const node = tree[nodeIndex]
      if (node?.nodeType !== 'leaf') continue
      const candidate = leafIdentity(node.leaf)
      if (candidate !== undefined && bytesEqual(candidate, identity)) return nodeIndex / 2
    }
    return undefined
  }
}

/** Type and target of `proposal`, received by a member whose state (before the proposal) is `state`. */
function summarize(proposal: Proposal, state: ClientState): ProposalSummary {
  switch (proposal.proposalType) {
    case 'add':
      return { type: 'add', target: leafIdentity(proposal.add.keyPackage.leafNode)?.slice() }
    case 'update':
      return { type: 'update', target: leafIdentity(proposal.update.leafNode)?.slice() }
    case 'remove': {
      const node = state.ratchetTree[proposal.remove.removed * 2]
      return { type: 'remove', target: node?.nodeType === 'leaf' ? leafIdentity(node.leaf)?.slice() : undefined }
    }
    case 'psk':
    case 'reinit':
    case 'external_init':
    case 'group_context_extensions':
      return { type: proposal.proposalType, target: undefined }
    default:
      return { type: 'custom', target: undefined }
  }
}

function withWelcome({ commit, welcome, group }: CommitResult & { welcome: Uint8Array | undefined }, rotation: Uint8Array | undefined): AddResult {
  if (welcome === undefined) throw new MlsError('MLS_USAGE', 'add commit produced no welcome')
  return { commit, welcome, group, rotation }
}

/**
 * The committer's own Update proposals cannot be in its commit (RFC 9420
 * §12.2); its commit path rotates its leaf anyway, so they are dropped.
 */
function withoutOwnUpdates(state: ClientState): ClientState {
  const own = state.privatePath.leafIndex
  const kept = Object.entries(state.unappliedProposals).filter(
    ([, p]) => !(p.proposal.proposalType === 'update' && p.senderLeafIndex === own),
  )
  return { ...state, unappliedProposals: Object.fromEntries(kept) }
}

/**
 * Creates a new group with `identity` as its only member (and so its first
 * committer). The creator must be on `roster` like everyone else.
 */
export async function createGroup(groupId: Uint8Array, identity: MlsIdentity, roster: Roster): Promise<MlsGroup> {
  assertIdentity(identity)
  if (!(groupId instanceof Uint8Array) || groupId.length === 0 || groupId.length > 255) {
    throw new MlsError('MLS_USAGE', 'group id must be 1..255 bytes')
  }
  if (!onRoster(roster, identity.publicKey)) throw new MlsError('MLS_UNAUTHORIZED', 'group creator is not on the roster')
  const { publicPackage, privatePackage } = await createKeyPackage(identity)
  const auth = new RosterAuthService(roster)
  try {
    const state = await createTsMlsGroup(
      groupId.slice(),
      decodeKeyPackage(publicPackage),
      decodePrivatePackage(privatePackage, identity),
      [],
      await cipherSuite(),
      clientConfig(auth),
    )
    return MlsGroup.fromState(state, roster)
  } catch (err) {
    throw translateError(err, auth, 'create group')
  }
}

/**
 * True when `welcome` (an encoded MLSMessage(Welcome)) holds group secrets
 * for `publicPackage`: joining from it is this key package's to try. Throws
 * MLS_MALFORMED for malformed bytes.
 */
export async function welcomeIsFor(welcome: Uint8Array, publicPackage: Uint8Array): Promise<boolean> {
  const cs = await cipherSuite()
  const ref = await makeKeyPackageRef(decodeKeyPackage(publicPackage), cs.hash)
  return decodeWelcome(welcome).secrets.some((s) => bytesEqual(s.newMember, ref))
}

/**
 * Joins a group from a Welcome addressed to `keyPackage` (created by
 * {@link createKeyPackage} for `identity`). The ratchet tree travels inside
 * the (encrypted) Welcome; a malformed one is MLS_REJECTED before ts-mls
 * reads it (tree-check.ts). Every member in it, and the inviter, must be on
 * `roster` (MLS_UNAUTHORIZED).
 */
export async function joinFromWelcome(
  welcome: Uint8Array,
  keyPackage: KeyPackagePair,
  identity: MlsIdentity,
  roster: Roster,
): Promise<MlsGroup> {
  assertIdentity(identity)
  const decodedWelcome = decodeWelcome(welcome)
  const publicPackage = decodeKeyPackage(keyPackage.publicPackage)
  if (!keyPackageBelongsTo(publicPackage, identity)) throw new MlsError('MLS_USAGE', 'key package belongs to another identity')
  const privateKeys = decodePrivatePackage(keyPackage.privatePackage, identity)
  const auth = new RosterAuthService(roster)
  try {
    const cs = await cipherSuite()
    const tree = await welcomeTree(decodedWelcome, publicPackage, privateKeys, cs)
    if (tree !== undefined) checkTreeStructure(tree)
    const state = await joinGroup(
      decodedWelcome,
      publicPackage,
      privateKeys,
      emptyPskIndex,
      cs,
      undefined,
      undefined,
      clientConfig(auth),
    )
    if (state.groupContext.cipherSuite !== MLS_CIPHERSUITE) throw new MlsError('MLS_USAGE', 'group uses an unsupported ciphersuite')
    return MlsGroup.fromState(state, roster)
  } catch (err) {
    throw translateError(err, auth, 'join group')
  }
}
