import type { Operation } from '../log/types.js'
import type { GroupMessage } from '../store/index.js'

/** What `GroupManager.get` and `list` say about a group. */
export interface GroupInfo {
  /** 32-byte group id: also the log id of every member's group operations. */
  readonly id: Uint8Array
  /** Local label; never leaves this node. */
  readonly name: string | null
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
  /** This node was removed from a group (or its leave was committed). */
  removed: [{ groupId: Uint8Array }]
  /** A file entered the group here (we sent it, or decrypted its announcement): its log is shared with the members from now on. */
  file: [{ groupId: Uint8Array; logId: Uint8Array }]
  /** Entries of `author` left the local view: its deletion, or the group's retention period. */
  deleted: [{ groupId: Uint8Array; author: Uint8Array; seqs: number[] }]
}

/** One event of {@link GroupManagerEvents} with its arguments: what a change calls for, emitted by the manager. */
export type GroupEvent = { [K in keyof GroupManagerEvents]: [K, ...GroupManagerEvents[K]] }[keyof GroupManagerEvents]
