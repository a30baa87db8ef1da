import type { GroupState, SecretTree } from 'ts-mls'
import { decodeGenerationSecret, decodeSecretTree, generationSecretEncoder, secretTreeEncoder, type GenerationSecret } from 'ts-mls/secretTree.js'
import { contramapBufferEncoders, encode, type BufferEncoder } from 'ts-mls/codec/tlsEncoder.js'
import { mapDecoders, type Decoder } from 'ts-mls/codec/tlsDecoder.js'
import { bigintMapEncoder, decodeBigintMap, decodeVarLenData, decodeVarLenType, varLenDataEncoder, varLenTypeEncoder } from 'ts-mls/codec/variableLength.js'
import { decodeOptional, optionalEncoder } from 'ts-mls/codec/optional.js'
import { decodeGroupContext, groupContextEncoder } from 'ts-mls/groupContext.js'
import { decodeKeySchedule, keyScheduleEncoder } from 'ts-mls/keySchedule.js'
import { decodeNode, extendRatchetTree, nodeEncoder, stripBlankNodes, type Node, type RatchetTree } from 'ts-mls/ratchetTree.js'
import { decodePrivateKeyPath, privateKeyPathEncoder } from 'ts-mls/privateKeyPath.js'
import { decodeUnappliedProposals, unappliedProposalsEncoder } from 'ts-mls/unappliedProposals.js'
import { decodeGroupActiveState, groupActiveStateEncoder } from 'ts-mls/groupActiveState.js'
import type { EpochReceiverData } from 'ts-mls/epochReceiverData.js'
import type { PendingUpdate } from './update.js'
import { MlsError } from './errors.js'

/** Everything an MlsGroup persists, apart from the identity seed and the roster. */
export interface StoredGroup {
  /** ts-mls group state; its `signaturePrivateKey` is empty in storage. */
  readonly state: GroupState
  /** This member's uncommitted Update proposal, if any. */
  readonly pendingUpdate: PendingUpdate | undefined
}

const STATE_VERSION = 1
const KEY_LENGTH = 32
const EMPTY = new Uint8Array(0)

/**
 * Each ratchet-tree node's encoding, kept while the node lives. ts-mls never
 * changes a node or a tree of a state: a change makes a new node in a
 * copied tree, so a state after a commit shares every other node with the
 * state before, and a retained past epoch's tree is the tree that was
 * current then. Encoding only what is new took a 1,000-member owner's
 * state (three trees of 1,000 leaves: 75 % of the work) from 225–314 ms to
 * 31–42 ms when nothing changed (docs/performance.md), for about one more
 * copy of each tree's bytes in memory (250 KB at 1,000 members). Only the
 * public trees are kept this way: the secret tree, key schedule and private
 * keys are encoded afresh each time, so no copy of a secret outlives the
 * state it belongs to. The result is byte for byte ts-mls's
 * `encodeGroupState` (test/unit/mls-state-codec.test.ts).
 */
const encodedNodes = new WeakMap<Node, Uint8Array>()

const cachedNodeEncoder: BufferEncoder<Node> = (node) => {
  let bytes = encodedNodes.get(node)
  if (bytes === undefined) {
    bytes = encode(nodeEncoder)(node)
    encodedNodes.set(node, bytes)
  }
  const ready = bytes
  return [ready.length, (offset, buffer) => new Uint8Array(buffer).set(ready, offset)]
}

/** Each whole tree's encoding too: a past epoch's tree is the very tree that was the current one before. */
const encodedTrees = new WeakMap<RatchetTree, Uint8Array>()

/** ts-mls's `ratchetTreeEncoder`, with each tree's and each node's encoding kept. */
const ratchetTreeEncoder: BufferEncoder<RatchetTree> = (tree) => {
  let bytes = encodedTrees.get(tree)
  if (bytes === undefined) {
    bytes = encode(varLenTypeEncoder(optionalEncoder(cachedNodeEncoder)))(stripBlankNodes(tree))
    encodedTrees.set(tree, bytes)
  }
  const ready = bytes
  return [ready.length, (offset, buffer) => new Uint8Array(buffer).set(ready, offset)]
}

/** ts-mls's `epochReceiverDataEncoder`, over {@link ratchetTreeEncoder}. */
const epochReceiverDataEncoder: BufferEncoder<EpochReceiverData> = contramapBufferEncoders(
  [varLenDataEncoder, secretTreeEncoder, ratchetTreeEncoder, varLenDataEncoder, groupContextEncoder],
  (erd: EpochReceiverData) => [erd.resumptionPsk, erd.secretTree, erd.ratchetTree, erd.senderDataSecret, erd.groupContext] as const,
)

/** ts-mls's `groupStateEncoder` (clientState.js), field for field, over {@link ratchetTreeEncoder}. */
const groupStateEncoder: BufferEncoder<GroupState> = contramapBufferEncoders(
  [
    groupContextEncoder,
    keyScheduleEncoder,
    secretTreeEncoder,
    ratchetTreeEncoder,
    privateKeyPathEncoder,
    varLenDataEncoder,
    unappliedProposalsEncoder,
    varLenDataEncoder,
    bigintMapEncoder(epochReceiverDataEncoder),
    groupActiveStateEncoder,
  ],
  (state: GroupState) =>
    [
      state.groupContext,
      state.keySchedule,
      state.secretTree,
      state.ratchetTree,
      state.privatePath,
      state.signaturePrivateKey,
      state.unappliedProposals,
      state.confirmationTag,
      state.historicalReceiverData,
      state.groupActiveState,
    ] as const,
)

/** ts-mls's `encodeGroupState`, faster for a state that shares nodes with one encoded before. */
export const encodeGroupState = encode(groupStateEncoder)

/** ts-mls's `decodeNode`; the bytes a node was decoded from are its encoding. */
const decodeNodeKeeping: Decoder<Node> = (b, offset) => {
  const decoded = decodeNode(b, offset)
  if (decoded !== undefined) encodedNodes.set(decoded[0], b.slice(offset, offset + decoded[1]))
  return decoded
}

/**
 * ts-mls's `decodeRatchetTree`, keeping the tree's bytes and each node's as
 * their encodings: the first commit after a group is loaded then encodes
 * only what it changed, as later ones do.
 */
const decodeRatchetTree: Decoder<RatchetTree> = (b, offset) => {
  const decoded = decodeVarLenType(decodeOptional(decodeNodeKeeping))(b, offset)
  if (decoded === undefined) return undefined
  const tree = extendRatchetTree(decoded[0])
  encodedTrees.set(tree, b.slice(offset, offset + decoded[1]))
  return [tree, decoded[1]]
}

/** ts-mls's `decodeEpochReceiverData`, over {@link decodeRatchetTree}. */
const decodeEpochReceiverData: Decoder<EpochReceiverData> = mapDecoders(
  [decodeVarLenData, decodeSecretTree, decodeRatchetTree, decodeVarLenData, decodeGroupContext],
  (resumptionPsk, secretTree, ratchetTree, senderDataSecret, groupContext) => ({ resumptionPsk, secretTree, ratchetTree, senderDataSecret, groupContext }),
)

/** ts-mls's `decodeGroupState` (clientState.js), field for field, over {@link decodeRatchetTree}. */
const decodeGroupState: Decoder<GroupState> = mapDecoders(
  [
    decodeGroupContext,
    decodeKeySchedule,
    decodeSecretTree,
    decodeRatchetTree,
    decodePrivateKeyPath,
    decodeVarLenData,
    decodeUnappliedProposals,
    decodeVarLenData,
    decodeBigintMap(decodeEpochReceiverData),
    decodeGroupActiveState,
  ],
  (groupContext, keySchedule, secretTree, ratchetTree, privatePath, signaturePrivateKey, unappliedProposals, confirmationTag, historicalReceiverData, groupActiveState) => ({
    groupContext,
    keySchedule,
    secretTree,
    ratchetTree,
    privatePath,
    signaturePrivateKey,
    unappliedProposals,
    confirmationTag,
    historicalReceiverData,
    groupActiveState,
  }),
)

/**
 * Encodes the state as `version ‖ hasPending ‖ [hpkePublic ‖ hpkePrivate] ‖
 * ts-mls GroupState`. The identity seed that ts-mls keeps as the signature key
 * is left out, so a leaked state file never reveals the long-term identity;
 * {@link decodeStoredGroup} callers put it back from the keystore.
 */
export function encodeStoredGroup(stored: StoredGroup): Uint8Array {
  const body = encodeGroupState({ ...stored.state, signaturePrivateKey: EMPTY })
  const pending = stored.pendingUpdate
  const head = new Uint8Array(2 + (pending === undefined ? 0 : 2 * KEY_LENGTH))
  head[0] = STATE_VERSION
  if (pending !== undefined) {
    head[1] = 1
    head.set(pending.hpkePublicKey, 2)
    head.set(pending.hpkePrivateKey, 2 + KEY_LENGTH)
  }
  const out = new Uint8Array(head.length + body.length)
  out.set(head, 0)
  out.set(body, head.length)
  return out
}

/** Inverse of {@link encodeStoredGroup}; any defect is MLS_MALFORMED. The result's signature key is empty. */
export function decodeStoredGroup(bytes: Uint8Array): StoredGroup {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== STATE_VERSION) {
    throw new MlsError('MLS_MALFORMED', 'malformed or unknown MLS group state')
  }
  const hasPending = bytes[1]
  if (hasPending !== 0 && hasPending !== 1) throw new MlsError('MLS_MALFORMED', 'malformed MLS group state')
  let offset = 2
  let pendingUpdate: PendingUpdate | undefined
  if (hasPending === 1) {
    if (bytes.length < offset + 2 * KEY_LENGTH) throw new MlsError('MLS_MALFORMED', 'truncated MLS group state')
    pendingUpdate = {
      hpkePublicKey: bytes.slice(offset, offset + KEY_LENGTH),
      hpkePrivateKey: bytes.slice(offset + KEY_LENGTH, offset + 2 * KEY_LENGTH),
    }
    offset += 2 * KEY_LENGTH
  }
  const body = bytes.subarray(offset)
  let decoded: [GroupState, number] | undefined
  try {
    decoded = decodeGroupState(body, 0)
  } catch (err) {
    throw new MlsError('MLS_MALFORMED', 'malformed MLS group state', { cause: err })
  }
  if (decoded === undefined || decoded[1] !== body.length) throw new MlsError('MLS_MALFORMED', 'malformed MLS group state')
  const [state] = decoded
  if (state.signaturePrivateKey.length !== 0) throw new MlsError('MLS_MALFORMED', 'MLS group state must not carry a signature key')
  return { state, pendingUpdate }
}

/**
 * The one ratchet an application message moves: the application ratchet of
 * one sender's leaf in one epoch (the current one, or a retained past one
 * for a late message). Everything else in the state stays as it was, so a
 * group persists this instead of its whole state after each application
 * message sent or received (see {@link applyRatchetSteps}).
 */
export interface RatchetStep {
  /** Epoch of the secret tree the ratchet belongs to. */
  readonly epoch: bigint
  /** Leaf index of the sender the ratchet belongs to. */
  readonly leafIndex: number
  /** The ratchet after the message (ts-mls GenerationSecret: next secret and generation, retained unused generations). SECRET. */
  readonly ratchet: Uint8Array
}

/** The step that moved leaf `leafIndex`'s application ratchet in epoch `epoch` of `state` (which has the moved ratchet). */
export function ratchetStepOf(state: GroupState, epoch: bigint, leafIndex: number): RatchetStep {
  const tree = secretTreeOf(state, epoch)
  const node = tree?.[leafIndex * 2]
  if (node === undefined) throw new MlsError('MLS_USAGE', 'no ratchet for this epoch and leaf')
  return { epoch, leafIndex, ratchet: encode(generationSecretEncoder)(node.application) }
}

/**
 * `state` with `steps` (each a later position of one ratchet than the one in
 * `state`, in any order, at most one per epoch and leaf) put in place. A
 * step for an epoch the state does not hold, a leaf it has no ratchet for, or
 * an earlier generation than the state's is MLS_MALFORMED: steps are only
 * kept until the next full state is stored, which holds them all.
 */
export function applyRatchetSteps(state: GroupState, steps: readonly RatchetStep[]): GroupState {
  if (steps.length === 0) return state
  const trees = new Map<bigint, SecretTree>()
  for (const step of steps) {
    const tree = trees.get(step.epoch) ?? secretTreeOf(state, step.epoch)?.slice()
    const node = tree?.[step.leafIndex * 2]
    if (tree === undefined || node === undefined) throw new MlsError('MLS_MALFORMED', 'stored ratchet for an epoch or leaf the group state does not hold')
    const ratchet = decodeRatchet(step.ratchet)
    if (ratchet.generation < node.application.generation) throw new MlsError('MLS_MALFORMED', 'stored ratchet is behind the group state')
    tree[step.leafIndex * 2] = { ...node, application: ratchet }
    trees.set(step.epoch, tree)
  }
  let historical = state.historicalReceiverData
  for (const [epoch, tree] of trees) {
    if (epoch === state.groupContext.epoch) continue
    historical = new Map(historical)
    historical.set(epoch, { ...historical.get(epoch)!, secretTree: tree })
  }
  return { ...state, secretTree: trees.get(state.groupContext.epoch) ?? state.secretTree, historicalReceiverData: historical }
}

function secretTreeOf(state: GroupState, epoch: bigint): SecretTree | undefined {
  return epoch === state.groupContext.epoch ? state.secretTree : state.historicalReceiverData.get(epoch)?.secretTree
}

function decodeRatchet(bytes: Uint8Array): GenerationSecret {
  let decoded: [GenerationSecret, number] | undefined
  try {
    decoded = decodeGenerationSecret(bytes, 0)
  } catch (err) {
    throw new MlsError('MLS_MALFORMED', 'malformed stored ratchet', { cause: err })
  }
  if (decoded === undefined || decoded[1] !== bytes.length) throw new MlsError('MLS_MALFORMED', 'malformed stored ratchet')
  return decoded[0]
}
