import type { BurrowEvents, NodeStatus } from '../burrow.js'
import type { GroupSummary, MessageView } from '../views.js'

/** What the local API reads of an allow-listed peer (a subset of the node's `PeerStatus`). */
export interface PeerView {
  readonly peerId: string
  readonly identityKey: Uint8Array
  readonly onion: string
  readonly displayName?: string | undefined
  readonly addedAt: number
  readonly lastSeen?: number | undefined
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number } | undefined
}

/** The node events the local API forwards to subscribers: all of the node's but ephemeral messages. */
export type LocalApiNodeEvents = Omit<BurrowEvents, 'group:ephemeral'>

/**
 * The part of a Burrow node the local API uses. `Burrow` implements it; unit
 * tests use an in-memory fake. Errors thrown are expected to be
 * `BurrowError`s, whose `code` and message the API passes on.
 */
export interface LocalApiNode {
  status(): NodeStatus
  contactCard(): string
  contactCardQr(): string
  addPeer(card: string): Promise<PeerView>
  removePeer(what: string): Promise<PeerView>
  peers(): (PeerView & { readonly connected: boolean })[]
  createGroup(name?: string): Promise<GroupSummary>
  groups(): GroupSummary[]
  /** A group by id, id prefix or local name. */
  group(what: string): GroupSummary
  invite(group: string, peer: string, signal?: AbortSignal): Promise<GroupSummary>
  removeMember(group: string, member: string): Promise<GroupSummary>
  rotateKeys(group: string): Promise<void>
  send(group: string, data: Uint8Array | string): Promise<MessageView>
  messages(group: string, options?: { afterId?: number; limit?: number }): MessageView[]
  stop(): Promise<void>
  // Listener arguments are typed by LocalApiNodeEvents where the server registers them; a generic signature here
  // would not accept EventEmitter's own generic `on`, so `Burrow` could not implement this interface.
  on(event: keyof LocalApiNodeEvents, listener: (...args: any[]) => void): unknown
  off(event: keyof LocalApiNodeEvents, listener: (...args: any[]) => void): unknown
}
