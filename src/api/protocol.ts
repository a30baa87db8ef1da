/**
 * The local API's wire protocol: newline-delimited JSON over the node's unix
 * socket. Each line is one request, one response or one pushed event.
 *
 * - request:  `{"id": 7, "method": "peers.add", "params": {"card": "…"}}`
 * - response: `{"id": 7, "result": …}` or `{"id": 7, "error": {"code": "…", "message": "…"}}`
 *   (`id` is `null` when the request's id could not be read)
 * - event:    `{"event": "group:message", "data": …}` (only after `subscribe`)
 *
 * Binary data travels as standard base64 with padding.
 *
 * Files (`file.*`): the node reads the file to send by path and writes the
 * file to save by path, as the node's user, so whoever may use this socket
 * (the node's user: it is 0600) can make the node read any file that user
 * can read and write where that user can write. Paths must be absolute. A
 * stream of unknown size (stdin) goes in with `file.upload`, `file.write`
 * (base64 pieces of at most {@link MAX_FILE_WRITE_BYTES}) and `file.finish`;
 * an upload belongs to its connection, which discards it if it closes
 * first. These calls take as long as the transfer (no call timeout); a
 * client ends one by closing its connection. With `progress: true`, the
 * connection gets `file:progress` events of that transfer while the call
 * runs, subscribed or not.
 *
 * Ephemeral messages (`group.ephemeral`, event `group:ephemeral`): short
 * messages for presence or typing, sent to the group members connected at
 * that moment and never stored by anyone. At most
 * {@link MAX_EPHEMERAL_BYTES} (16 KiB) each; a node hands on at most 32 a
 * second from one peer (the rest are dropped, not reported); at most 256 KiB
 * of ours may wait for one peer (beyond: `SYNC_SEND_BACKLOG`). A member that
 * departed the group gets none and none of its are handed on.
 */
import type { FileProgress, FileView, ForkView, GroupSummary, InviteEvent, KeepersView, KeepingOrdererView, KeptGroupStatus, MemberView, MessageView, NodeStatus, PeerView, PendingInviteView } from '../node/index.js'

/** Longest request line the server accepts, in bytes (without the newline). */
export const MAX_REQUEST_LINE_BYTES = 256 * 1024

/** Longest response or event line a client accepts: `read` results may carry many messages. */
export const MAX_RESPONSE_LINE_BYTES = 16 * 1024 * 1024

/** Requests of one connection processed at once; more get `API_TOO_MANY_REQUESTS`. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 16

/** Largest message `send` accepts, in bytes (text as UTF-8, or decoded `data`). */
export const MAX_SEND_BYTES = 128 * 1024

/** Largest ephemeral message, in bytes (text as UTF-8, or decoded `data`): the sync protocol's bound. */
export const MAX_EPHEMERAL_BYTES = 16 * 1024

/** Budget of encoded message bytes in one `read` result; the rest is left for the next page (`more: true`). */
export const MAX_READ_RESULT_BYTES = 8 * 1024 * 1024

/** Default and largest `limit` of `read`. */
export const READ_DEFAULT_LIMIT = 100
export const READ_MAX_LIMIT = 1000

/** Largest piece of a stream `file.write` takes, in bytes (decoded): its line stays under the request limit. */
export const MAX_FILE_WRITE_BYTES = 180 * 1024

/** Uploads (`file.upload`) one connection may hold open at once. */
export const MAX_UPLOADS_PER_CONNECTION = 4
/** Most cards one `peers.add` takes (`cards`); the request line's {@link MAX_REQUEST_LINE_BYTES} also bounds them. */
export const MAX_CARDS_PER_ADD = 1_000

/** Largest request id (ids are chosen by the client; 31 bits keep them exact everywhere). */
export const MAX_REQUEST_ID = 0x7fff_ffff

/** Every method of the API. */
export const METHODS = [
  'status',
  'card',
  'peers.add',
  'peers.remove',
  'peers.list',
  'group.create',
  'group.rename',
  'group.invite',
  'group.invite.cancel',
  'group.remove',
  'group.leave',
  'group.members',
  'group.list',
  'group.rotate',
  'group.ephemeral',
  'forks.list',
  'forks.export',
  'send',
  'read',
  'subscribe',
  'stop',
  // Files, deletion, retention.
  'file.send',
  'file.upload',
  'file.write',
  'file.finish',
  'file.list',
  'file.save',
  'delete',
  'group.retention',
  // Keepers.
  'group.keepers',
  'group.keeper.add',
  'group.keeper.remove',
  'group.keepers.decide',
  'kept.list',
  'kept.decide',
] as const

/** Methods that last as long as a transfer: no call timeout (closing the connection ends them). */
export const TRANSFER_METHODS: ReadonlySet<MethodName> = new Set<MethodName>(['file.send', 'file.save'])

/** A method name. */
export type MethodName = (typeof METHODS)[number]

/** Events a connection can subscribe to. */
export const EVENTS = [
  'tor:bootstrap',
  'tor:ready',
  'tor:lost',
  'tor:offline',
  'node:recovering',
  'onion:reachable',
  'peer:connected',
  'peer:disconnected',
  'sync:progress',
  'sync:caught-up',
  'group:message',
  'group:changed',
  'group:ephemeral',
  'group:invite',
  'log:fork',
  'file:progress',
  'group:deleted',
  'group:keepers',
  'keeper:full',
  'kept:asked',
] as const

/** An event name. */
export type EventName = (typeof EVENTS)[number]

// ---- results ---------------------------------------------------------------
// The JSON shapes are the node's views (node/views.ts), adjusted only where
// JSON needs it: bytes travel as base64, and absent names are left out.

/** A peer of the allow-list: exactly the node's `PeerView`. */
export type PeerJson = PeerView

/** A member of a group, named from the allow-list where possible: the node's `MemberView`. */
export type MemberJson = MemberView

/** A group this node belongs to: the node's `GroupSummary`, with `name`, `sharedName` and `description` left out when the group has none. */
export type GroupJson = Omit<GroupSummary, 'name' | 'sharedName' | 'description' | 'pendingProposal'> & {
  /** Local name, unique on this node: chosen here, else the owner's shared name (with a `-2`, … suffix if taken). */
  name?: string
  /** The owner's name for the group, shared with every member. */
  sharedName?: string
  /** The owner's description of the group. */
  description?: string
  /** Our key update or leave waiting for the owner's commit. */
  pendingProposal?: 'update' | 'leave'
}

/** An invitation queued until its invitee can be reached: the node's `PendingInviteView`. */
export type PendingInviteJson = PendingInviteView

/** A fork proof this node holds: the node's `ForkView`. */
export type ForkJson = ForkView

/**
 * A decrypted group message from the node's local view: the node's
 * `MessageView` with the group id as `group` and the bytes as base64 `data`
 * (`text` is present when they are valid UTF-8; `file` when the entry
 * announces a file, whose `data` is then empty).
 */
export type MessageJson = Omit<MessageView, 'groupId' | 'data' | 'file'> & {
  /** Group id, hex. */
  group: string
  /** The message bytes, base64. */
  data: string
  file?: FileJson
}

/** A file of a group: the node's `FileView` (its `name` is the sender's, unsanitised: show it made printable). */
export type FileJson = FileView

/** How far a transfer is: the node's `FileProgress`. */
export type FileProgressJson = FileProgress

/** What `status` returns: the node's status. */
export type StatusJson = NodeStatus

/** Parameters of every method (the server refuses any other key). */
export interface MethodParams {
  status: Record<string, never>
  card: Record<string, never>
  /**
   * One card, or several at once (an import, at most {@link MAX_CARDS_PER_ADD}):
   * every card is checked first and one bad card adds none; a running node
   * re-publishes its onion services once for the whole batch.
   */
  'peers.add': { card: string } | { cards: string[] }
  'peers.remove': { peer: string }
  'peers.list': Record<string, never>
  'group.create': { name?: string; description?: string }
  /** The owner renames (and describes) the group for every member; a member sets its local name (`null`: the owner's again). */
  'group.rename': { group: string; name: string | null; description?: string | null }
  'group.invite': { group: string; peer: string }
  'group.invite.cancel': { group: string; peer: string }
  'group.remove': { group: string; peer: string }
  'group.leave': { group: string }
  'group.members': { group: string }
  'group.list': Record<string, never>
  'group.rotate': { group: string }
  /** Exactly one of `text` and `data` (base64); at most {@link MAX_EPHEMERAL_BYTES}. */
  'group.ephemeral': { group: string; text: string } | { group: string; data: string }
  'forks.list': Record<string, never>
  'forks.export': { id: string }
  /** Exactly one of `text` and `data` (base64). */
  send: { group: string; text: string } | { group: string; data: string }
  read: { group: string; afterId?: number; limit?: number }
  /** Replaces the connection's subscription; `group` limits group events to one group. An empty list unsubscribes. */
  subscribe: { events: EventName[]; group?: string }
  stop: Record<string, never>
  /** `path`: absolute, a regular file the node's user can read. `name` defaults to its base name. */
  'file.send': { group: string; path: string; name?: string; mediaType?: string; progress?: boolean }
  /** Starts a stream upload (stdin); `name` defaults to `stdin`. */
  'file.upload': { group: string; name?: string; mediaType?: string }
  /** The next piece of an upload's content, base64. */
  'file.write': { upload: number; data: string }
  /** Announces the upload to the group. */
  'file.finish': { upload: number }
  'file.list': { group: string }
  /**
   * `file`: its id, a unique id prefix or its unique name. `out`: absolute; a
   * folder (the file goes in it under a safe version of its name) or a file
   * path. `force` replaces an existing file; `wait` waits for a file still arriving.
   */
  'file.save': { group: string; file: string; out: string; force?: boolean; wait?: boolean; progress?: boolean }
  /** `entry`: a message's local id (`12` or `#12`), or a file's id or name. Only our own. */
  delete: { group: string; entry: string }
  /** Owner: the retention period in ms (60,000 to 100 years), or null for none. */
  'group.retention': { group: string; periodMs: number | null }
  /** A group's keepers and our answer to them. */
  'group.keepers': { group: string }
  /** Owner: an allow-listed peer keeps the group (stores and serves its logs, ciphertext only). */
  'group.keeper.add': { group: string; peer: string }
  /** Owner: the peer keeps the group no more. */
  'group.keeper.remove': { group: string; peer: string }
  /** Member: allow or deny the keepers the group's owner names (`ask`: ask again at the next list). */
  'group.keepers.decide': { group: string; decision: 'ask' | 'allow' | 'deny' }
  /** As a keeper: the groups kept here, and the peers that ordered this node to keep theirs. */
  'kept.list': Record<string, never>
  /** As a keeper: allow an allow-listed peer to have its groups kept here, or deny it (its kept groups are dropped). */
  'kept.decide': { peer: string; decision: 'allow' | 'deny' }
}

/** Result of every method. */
export interface MethodResults {
  status: StatusJson
  /** `fingerprint`: of our identity key, for peers to compare over a channel they trust. */
  card: { card: string; qr: string; fingerprint: string }
  /** With `card`, the peer; with `cards`, `{ peers }` in the cards' order. */
  'peers.add': PeerJson | { peers: PeerJson[] }
  'peers.remove': PeerJson
  'peers.list': { peers: PeerJson[] }
  'group.create': GroupJson
  'group.rename': GroupJson
  /**
   * `invited`, or `queued` until the invitee is reachable (then `invite` is
   * the queued invitation; a `group:invite` event tells the outcome). An
   * invitee that is not connected gets `queued` at once, while it is dialed
   * in the background.
   */
  'group.invite': { state: 'invited' | 'queued'; group: GroupJson; invite?: PendingInviteJson }
  'group.invite.cancel': PendingInviteJson
  'group.remove': GroupJson
  'group.leave': GroupJson
  /** `pending`: invitations queued until their invitee is reachable; `retentionMs`: the owner's retention period (null: none). */
  'group.members': { group: string; members: MemberJson[]; pending: PendingInviteJson[]; retentionMs: number | null }
  'group.list': { groups: GroupJson[] }
  /** `committed` by the owner at `epoch`, or `proposed` by a member (the owner commits it when it processes it). */
  'group.rotate': { state: 'committed' | 'proposed'; epoch?: number; group: GroupJson }
  /** How many connected members it was handed to. */
  'group.ephemeral': { peers: number }
  'forks.list': { forks: ForkJson[] }
  /** `proof`: the text form (`burrow-fork-proof:…`), checkable by anyone with `burrow verify-fork`. */
  'forks.export': { id: string; proof: string }
  send: MessageJson
  /** `more` is true when the byte budget cut the page short. */
  read: { messages: MessageJson[]; more: boolean }
  subscribe: { events: EventName[] }
  stop: { stopping: true }
  'file.send': MessageJson
  'file.upload': { upload: number }
  'file.write': { bytes: number }
  'file.finish': MessageJson
  'file.list': { files: FileJson[] }
  /** `path`: where the file was written. */
  'file.save': { file: FileJson; path: string }
  /** The entry as it was: a message or a file. */
  delete: { message?: MessageJson; file?: FileJson }
  'group.retention': GroupJson
  'group.keepers': KeepersJson
  'group.keeper.add': KeepersJson
  'group.keeper.remove': KeepersJson
  'group.keepers.decide': KeepersJson
  'kept.list': { kept: KeptGroupJson[]; orderers: KeepingOrdererJson[] }
  'kept.decide': KeepingOrdererJson
}

/** A group's keepers and our answer (node/types.ts `KeepersView`). */
export type KeepersJson = KeepersView
/** A group kept here (node/types.ts `KeptGroupStatus`). */
export type KeptGroupJson = KeptGroupStatus
/** A peer that asked this node to keep its groups, and the user's answer (node/types.ts `KeepingOrdererView`). */
export type KeepingOrdererJson = KeepingOrdererView

/** Data of every event. */
export interface EventData {
  'tor:bootstrap': { progress: number; tag: string; summary: string }
  'tor:ready': Record<string, never>
  'tor:lost': { reason: string }
  /** Tor has failed to reach the Tor network for a while; a `node:recovering` follows when it is back. */
  'tor:offline': Record<string, never>
  /** The node woke from a sleep (`wake`) or the network came back (`network`): it re-checks its onion, reconnects and catches up. */
  'node:recovering': { reason: 'wake' | 'network'; awayMs: number }
  'onion:reachable': { address: string; ms: number }
  'peer:connected': { peerId: string; name?: string }
  'peer:disconnected': { peerId: string; name?: string; reason: string }
  'sync:progress': { peerId: string; logId: string; stored: number }
  'sync:caught-up': { peerId: string; logId: string }
  'group:message': MessageJson
  'group:changed': GroupJson
  /** An ephemeral message from a member: `data` base64, `text` when it is UTF-8. */
  'group:ephemeral': { group: string; peerId: string; name?: string; data: string; text?: string }
  'group:invite': InviteEvent
  /** A fork just detected; `peerId` sent the conflicting operation. */
  'log:fork': ForkJson & { peerId: string; peerName?: string }
  'file:progress': FileProgressJson
  'group:deleted': { groupId: string; author: string; seqs: number[] }
  'group:keepers': KeepersJson
  'keeper:full': { groupId: string; code: string; message: string }
  'kept:asked': KeepingOrdererJson
}

// ---- lines -----------------------------------------------------------------

/** A request line, once validated. */
export interface ApiRequest<M extends MethodName = MethodName> {
  id: number
  method: M
  params: MethodParams[M]
}

/** An error as it travels. */
export interface ApiErrorJson {
  code: string
  message: string
}

/** A response line. */
export type ApiResponse = { id: number | null; result: unknown } | { id: number | null; error: ApiErrorJson }

/** A pushed event line. */
export interface ApiEvent<E extends EventName = EventName> {
  event: E
  data: EventData[E]
}
