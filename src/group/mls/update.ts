import { getOwnLeafNode } from 'ts-mls/clientState.js'
import { signWithLabel } from 'ts-mls/crypto/signature.js'
import { encodeLeafNodeTBS } from 'ts-mls/leafNode.js'
import { updateLeafKey } from 'ts-mls/privateKeyPath.js'
import type { CiphersuiteImpl, ClientState, LeafNodeUpdate, Proposal, ProposalWithSender } from 'ts-mls'
import { bytesEqual } from '../../log/bytes.js'

/**
 * The new leaf key of an Update proposal this member sent and nobody has
 * committed yet. ts-mls does not keep it, so the member could not decrypt the
 * commit that applies its own update; Burrow keeps it next to the state.
 */
export interface PendingUpdate {
  /** HPKE public key announced in the proposal's leaf node. */
  readonly hpkePublicKey: Uint8Array
  /** Its private key. Secret. */
  readonly hpkePrivateKey: Uint8Array
}

/**
 * Builds an Update proposal for the member's own leaf: a fresh HPKE key,
 * same credential, capabilities and extensions, signed with the identity key
 * over the group id and leaf index (RFC 9420 §7.2, leaf_node_source = update).
 */
export async function createUpdateProposal(
  state: ClientState,
  cs: CiphersuiteImpl,
): Promise<{ proposal: Proposal; pending: PendingUpdate }> {
  const current = getOwnLeafNode(state)
  const keys = await cs.hpke.generateKeyPair()
  const hpkePublicKey = await cs.hpke.exportPublicKey(keys.publicKey)
  const hpkePrivateKey = await cs.hpke.exportPrivateKey(keys.privateKey)
  const tbs = {
    hpkePublicKey,
    signaturePublicKey: current.signaturePublicKey,
    credential: current.credential,
    capabilities: current.capabilities,
    leafNodeSource: 'update' as const,
    extensions: current.extensions,
    groupId: state.groupContext.groupId,
    leafIndex: state.privatePath.leafIndex,
  }
  const signature = await signWithLabel(state.signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(tbs), cs.signature)
  const leafNode: LeafNodeUpdate = {
    hpkePublicKey,
    signaturePublicKey: tbs.signaturePublicKey,
    credential: tbs.credential,
    capabilities: tbs.capabilities,
    leafNodeSource: 'update',
    extensions: tbs.extensions,
    signature,
  }
  return { proposal: { proposalType: 'update', update: { leafNode } }, pending: { hpkePublicKey, hpkePrivateKey } }
}

/** True when a commit's proposals include this member's pending update. */
export function commitAppliesUpdate(proposals: ProposalWithSender[], ownLeafIndex: number, pending: PendingUpdate): boolean {
  return proposals.some(
    ({ proposal, senderLeafIndex }) =>
      proposal.proposalType === 'update' &&
      senderLeafIndex === ownLeafIndex &&
      bytesEqual(proposal.update.leafNode.hpkePublicKey, pending.hpkePublicKey),
  )
}

/** The state with its own leaf's private key replaced by the pending update's. */
export function withUpdatedLeafKey(state: ClientState, pending: PendingUpdate): ClientState {
  return { ...state, privatePath: updateLeafKey(state.privatePath, pending.hpkePrivateKey.slice()) }
}
