import type { KeeperList } from './core.js'
import type { Operation } from '../log/types.js'
import type { GroupEnd, GroupMessage } from '../store/index.js'

/**
 * Where this node stands in a group: `active`; `leaving` (our leave awaits
 * the owner's commit; we can still read); `left` or `removed` (inactive: we
 * can no longer send, and read nothing sent since).
 */
export type GroupStatus = 'active' | 'leaving' | GroupEnd

/** What `GroupManager.get` and `list` say about a group. */
export interface GroupInfo {
  /** 32-byte group id: also the log id of every member's group operations. */
  readonly id: Uint8Array
  /**
   * Local name, unique among this node's groups: the one chosen here, else
   * the owner's shared name (with a `-2`, `-3`, … suffix when another group
   * here already has it). Null when there is none.
   */
  readonly name: string | null
  /** The owner's name for the group, shared with every member (null until one arrived). */
  readonly sharedName: string | null
  /** The owner's description of the group, shared likewise. */
  readonly description: string | null
  /** Identity key of the owner (the creator, the only committer). */
  readonly owner: Uint8Array
  /** True when this node owns the group. */
  readonly isOwner: boolean
  /** Current MLS epoch. */
  readonly epoch: number
  /** Identity keys of the members, sorted bytewise. */
  readonly members: Uint8Array[]
  /** False once this member was removed (or left). */
  readonly active: boolean
  /** The owner's retention period (ms): every member deletes what is older. Null: kept until deleted. */
  readonly retentionMs: number | null
  readonly status: GroupStatus
  /** Our proposal waiting for the owner's commit: a key update or our leave. */
  readonly pendingProposal: 'update' | 'leave' | null
}

/** What a key rotation did: the owner committed it (at `epoch`); a member proposed it, and the owner commits it when it processes it. */
export type RotationOutcome = { readonly state: 'committed'; readonly epoch: number } | { readonly state: 'proposed' }

/**
 * What a member that departed a group (was removed, or left) is still sent
 * of the group log, so that it learns of its removal: the owner's operations
 * up to and including the commit that removed it. Nothing else of the log,
 * nothing taken from it, no ephemeral messages either way. (Its messages
 * still in flight would be refused anyway: MLS no longer accepts its
 * credential.) Structurally the net layer's `ShareLimit`.
 */
export interface PartialShare {
  /** The only authors (hex identity keys) whose operations it is sent, each up to and including a seq. */
  readonly sendUpTo: ReadonlyMap<string, number>
}

/** A file of a group, as this node holds it (its key stays inside the group layer). */
export interface FileInfo {
  readonly groupId: Uint8Array
  /** Log id of its chunks. */
  readonly logId: Uint8Array
  /** 16 bytes chosen by the sender. */
  readonly fileId: Uint8Array
  /** The sender's identity key. */
  readonly author: Uint8Array
  /** Seq of its announcement in the sender's group log. */
  readonly seq: number
  /** The sender's name for it: show it, never use it as a path as it is. */
  readonly name: string
  readonly mediaType: string
  readonly size: number
  readonly sha256: Uint8Array
  readonly chunkSize: number
  readonly chunkCount: number
  /** The sender's clock when it announced it (ms since the Unix epoch). */
  readonly sentAt: number
  /** Chunks stored here: complete when it equals `chunkCount`. */
  readonly chunksHeld: number
}

/** A key package of ours that waits for the inviter's Welcome. */
export interface PendingInvitation {
  readonly groupId: Uint8Array
  /** Identity key of the inviter, with whom the group log is shared meanwhile. */
  readonly inviter: Uint8Array
}

/** Totals of one `GroupManager.processPending` run. */
export interface ProcessSummary {
  /** Application messages decrypted into the local view. */
  messages: number
  /** Owner commits applied (as a member) or made (as the owner, for members' proposals). */
  commits: number
  /** Groups joined from a Welcome. */
  joined: number
  /** Operations recorded as rejected. */
  rejected: number
}

/** Events of `GroupManager`. Listeners run synchronously after the change is committed to SQLite. */
export interface GroupManagerEvents {
  /** A message entered the local view (received, or sent by this node). */
  message: [GroupMessage]
  /** The group moved to another epoch or its members changed. */
  changed: [{ groupId: Uint8Array; epoch: number; members: Uint8Array[] }]
  /** Operations this node wrote to its own log: push them to the group's members. */
  appended: [Operation[]]
  /** This node joined a group from a Welcome. */
  joined: [GroupInfo]
  /** This node was removed from a group (`removed`), or its leave was committed (`left`). */
  removed: [{ groupId: Uint8Array; how: GroupEnd }]
  /** A file entered the group here (we sent it, or decrypted its announcement): its log is shared with the members from now on. */
  file: [{ groupId: Uint8Array; logId: Uint8Array }]
  /** Entries of `author` left the local view: its deletion, or the group's retention period. */
  deleted: [{ groupId: Uint8Array; author: Uint8Array; seqs: number[] }]
  /** A group's keepers list or our answer to it changed (core.ts `KeeperList`): share with them, ask the user, or stop. */
  keepers: [KeeperList]
}

/** One event of {@link GroupManagerEvents} with its arguments: what a change calls for, emitted by the manager. */
export type GroupEvent = { [K in keyof GroupManagerEvents]: [K, ...GroupManagerEvents[K]] }[keyof GroupManagerEvents]
