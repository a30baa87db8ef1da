import type { KeeperQuota } from '../group/index.js'
import type { Logger } from '../logging.js'
import type { BootstrapProgress, OnionAddress } from '../tor/index.js'
import type { ForkDetected } from './forks.js'
import type { InviteEvent } from './invite-queue.js'
import type { GroupSummary, MessageView } from './views.js'

/** How Burrow gets its tor. */
export type TorChoice =
  | {
      mode: 'managed'
      torPath?: string
      extraTorrcLines?: string[]
      testnet?: string
      /** Bridge lines (plain or obfs4): tor reaches the Tor network only through these. */
      bridges?: string[]
      /** Path of obfs4proxy (default: searched on the PATH, then /usr/bin). */
      obfs4proxyPath?: string
    }
  | { mode: 'attach'; control: { host: string; port: number } | { path: string }; cookieFile?: string; password?: string }

/** Options of `Burrow.open`. */
export interface BurrowOptions {
  /** The node's data directory (created 0700 by `Burrow.init`). */
  dataDir: string
  /** Passphrase of a sealed keystore. */
  passphrase?: string
  /** Default: a managed tor on the real Tor network. */
  tor?: TorChoice
  /** Name written into our contact card. */
  displayName?: string
  /** Bootstrap watchdog: restart tor after this long without progress. Default 120 s. */
  bootstrapStallMs?: number
  /** As a keeper: bytes held per kept group and in all (default 1 GiB and 10 GiB). */
  keeperQuota?: Partial<KeeperQuota>
  logger?: Logger
}

/** Events of a Burrow node. */
export interface BurrowEvents {
  'tor:bootstrap': [BootstrapProgress]
  'tor:ready': []
  /** Tor died or its control connection broke; it is being restarted. */
  'tor:lost': [{ reason: string }]
  /**
   * Our onion service passed its self-check: peers can reach us. After the
   * start, and again after every recovery (`ms` from the recovery's start).
   */
  'onion:reachable': [{ address: OnionAddress; ms: number }]
  /**
   * The node was away and is reconnecting: asleep (its clocks jumped) or its
   * tor offline for `awayMs`. Peers are dialled at once, our onion is checked
   * (and re-published if it is not reachable); `onion:reachable` follows.
   */
  'node:recovering': [{ reason: 'wake' | 'network'; awayMs: number }]
  /** Tor has been failing to reach the Tor network for a while; a `node:recovering` follows when it is back. */
  'tor:offline': []
  'peer:connected': [{ peerId: string; name?: string }]
  'peer:disconnected': [{ peerId: string; name?: string; reason: string }]
  /** Operations arrived from a peer and were stored. */
  'sync:progress': [{ peerId: string; logId: string; stored: number }]
  /** A peer finished its first answer for a log: we hold what it held. */
  'sync:caught-up': [{ peerId: string; logId: string }]
  /** A decrypted group message (ours or a member's). */
  'group:message': [MessageView]
  /** A group changed: created, joined, a member added or removed, a new epoch. */
  'group:changed': [GroupSummary]
  /** An ephemeral message (presence, typing) from a group member: never stored. */
  'group:ephemeral': [{ groupId: string; peerId: string; name?: string; data: Uint8Array }]
  /** A queued invitation changed state: done, queued again after an attempt, failed for good, cancelled. */
  'group:invite': [InviteEvent]
  /** A peer sent an operation that conflicts with a stored one: its author signed two at one position. The proof is stored and the author marked. */
  'log:fork': [ForkDetected]
  /** A file transfer moved on: our file being stored, its chunks handed to a peer, or a member's chunks arriving. */
  'file:progress': [FileProgress]
  /** Entries of `author` (identity key, hex) at `seqs` left the local view: its deletion, or the group's retention period. */
  'group:deleted': [{ groupId: string; author: string; seqs: number[] }]
  /** A group's owner named keepers and this node's answer is `ask`: allow or deny them (`Burrow.decideKeepers`). */
  'group:keepers': [KeepersView]
  /** As a keeper: a kept group is full and new operations of it are refused (code `KEEPER_QUOTA_FULL`). */
  'keeper:full': [{ groupId: string; code: string; message: string }]
  /** As a keeper: a peer this node's user has not answered asks it to keep a group: allow or deny it (`Burrow.decideKeeping`). */
  'kept:asked': [KeepingOrdererView]
}

/** A group's keepers as this node knows them, and its answer. */
export interface KeepersView {
  groupId: string
  group?: string
  /** The owner's identity key (hex) and name. */
  owner: string
  ownerName?: string
  keepers: { identityKey: string; peerId: string; onion: string; name?: string }[]
  decision: 'ask' | 'allow' | 'deny'
}

/** A group this node keeps for its owner, as `burrow status` shows it. */
export interface KeptGroupStatus {
  groupId: string
  owner: string
  ownerName?: string
  members: number
  keepers: number
  retentionMs: number | null
  operations: number
  bytes: number
  quotaBytes: number
  full: boolean
}

/** A peer that asked this node to keep its groups, and the user's answer (`ask` until there is one). */
export interface KeepingOrdererView {
  identityKey: string
  peerId: string
  name?: string
  decision: 'ask' | 'allow' | 'deny'
  /** The groups kept here for it. */
  groups: number
}

/** How far a file transfer is. */
export interface FileProgress {
  groupId: string
  /** The file's id, hex. */
  fileId: string
  /** The sender's name for it. */
  name: string
  /** `send`: our file, being stored (no `peerId`) or handed to `peerId`; `receive`: a member's, arriving from `peerId` (or being saved). */
  direction: 'send' | 'receive'
  peerId?: string
  /** Chunks done. */
  chunks: number
  /** Chunks in all; null while our own file's size is not known yet (a stream). */
  totalChunks: number | null
  /** Bytes of content done, and in all (null as above). */
  bytes: number
  size: number | null
}

/** What `status()` reports. */
export interface NodeStatus {
  state: 'stopped' | 'starting' | 'running' | 'stopping'
  peerId: string
  onion: OnionAddress
  /** Ed25519 identity public key, hex. */
  identityKey: string
  /** Its fingerprint (`1a2b 3c4d 5e6f 7a8b 9c0d`): what peers compare over a channel they trust. */
  fingerprint: string
  tor: { state: string; bootstrap: number; pid?: number }
  reachable: boolean
  peers: { total: number; connected: number }
  groups: number
  operations: number
  /** Below the disk floor (1 GiB free on the data directory's file system): nothing received from peers is stored until space is freed. */
  diskFull: boolean
  /** As a keeper: the groups this node keeps for their owners. */
  kept: KeptGroupStatus[]
  /** Groups whose owner named keepers this node has not answered yet. */
  keeperQuestions: KeepersView[]
  /** As a keeper: peers that asked this node to keep their groups and that its user has not answered yet. */
  keepingQuestions: KeepingOrdererView[]
}
