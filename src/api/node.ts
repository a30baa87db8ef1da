import type { RotationOutcome } from '../group/index.js'
import type { BurrowEvents, ForkView, GroupContent, GroupSummary, InviteOptions, InviteOutcome, KeepersView, KeepingOrdererView, KeptGroupStatus, MessageView, NodeStatus, PeerView, PendingInviteView } from '../node/index.js'

/** The node events the local API forwards to subscribers: all of the node's. */
export type LocalApiNodeEvents = BurrowEvents

/**
 * The part of a Burrow node the local API uses. `Burrow` implements it (the
 * tests also run the API over an in-memory double). Errors thrown are
 * expected to be `BurrowError`s, whose `code` and message the API passes on.
 */
export interface LocalApiNode {
  status(): NodeStatus
  contactCard(): string
  contactCardQr(): string
  addPeer(card: string): Promise<PeerView>
  /** Several cards at once: all checked first, one re-publication. */
  addPeers(cards: readonly string[]): Promise<PeerView[]>
  removePeer(what: string): Promise<PeerView>
  peers(): PeerView[]
  createGroup(name?: string, description?: string): Promise<GroupSummary>
  renameGroup(group: string, name: string | null, options?: { description?: string | null }): Promise<GroupSummary>
  groups(): GroupSummary[]
  /** A group by id, id prefix or local name. */
  group(what: string): GroupSummary
  invite(group: string, peer: string, options?: InviteOptions): Promise<InviteOutcome>
  cancelInvite(group: string, peer: string): PendingInviteView
  /** Queued invitations (`list(groupId)`: of one group). */
  readonly invites: { list(groupId?: Uint8Array): PendingInviteView[] }
  removeMember(group: string, member: string): Promise<GroupSummary>
  leave(group: string): Promise<GroupSummary>
  rotateKeys(group: string): Promise<RotationOutcome>
  send(group: string, data: Uint8Array | string): Promise<MessageView>
  sendEphemeral(group: string, data: Uint8Array): Promise<number>
  messages(group: string, options?: { afterId?: number; limit?: number }): MessageView[]
  /** Files, deletion and retention (node/content.ts). */
  readonly content: Pick<GroupContent, 'sendFile' | 'beginFile' | 'files' | 'saveFile' | 'delete' | 'setRetention'>
  /** Keepers (node/keepers.ts): the owner names them, members allow or deny them, a keeper's user allows or denies the peers that order it, and lists what it keeps. */
  keepers(group: string): KeepersView
  addKeeper(group: string, peer: string): Promise<KeepersView>
  removeKeeper(group: string, peer: string): Promise<KeepersView>
  decideKeepers(group: string, decision: 'ask' | 'allow' | 'deny'): Promise<KeepersView>
  keptGroups(): KeptGroupStatus[]
  decideKeeping(peer: string, decision: 'allow' | 'deny'): Promise<KeepingOrdererView>
  keepingOrderers(): KeepingOrdererView[]
  /** Fork proofs held: list, export one in text form. */
  readonly forks: { list(): ForkView[]; export(id: string): { id: string; proof: string } }
  stop(): Promise<void>
  // Listener arguments are typed by LocalApiNodeEvents where the server registers them; a generic signature here
  // would not accept EventEmitter's own generic `on`, so `Burrow` could not implement this interface.
  on(event: keyof LocalApiNodeEvents, listener: (...args: any[]) => void): unknown
  off(event: keyof LocalApiNodeEvents, listener: (...args: any[]) => void): unknown
}
