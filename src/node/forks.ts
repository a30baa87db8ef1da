import type { EventEmitter } from 'node:events'
import { identityFingerprint } from '../keys/index.js'
import { decodeHeader, forkProofId, forkProofToText, toHex, type ForkProof } from '../log/index.js'
import type { Logger } from '../logging.js'
import { peerIdOfIdentityKey, type AddressTable, type SyncManager } from '../net/index.js'
import type { LogStore, StoredFork } from '../store/index.js'
import { listen } from '../util/events.js'
import { NodeError } from './errors.js'
import type { BurrowEvents } from './types.js'
import type { Naming } from './views.js'

/** Shortest prefix of a fork id that `export` accepts. */
const MIN_ID_PREFIX = 4

/** A fork proof this node holds: who equivocated, where, and when it was seen. */
export interface ForkView {
  /** The proof's id (16 hex digits, the same on every node): `burrow forks export <id>`. */
  id: string
  /** Identity key (hex) of the author who signed two different operations at one position. */
  author: string
  authorPeerId: string
  /** Display name from the allow-list, when the author is on it. */
  authorName?: string
  /** The author's identity fingerprint, as `burrow card` shows it. */
  fingerprint: string
  /** True when the forked identity is this node's own (another device holds our keys). */
  self: boolean
  /** The forked log (for groups, the group id), hex. */
  logId: string
  /** The position both operations claim. */
  seq: number
  /** When this node detected it, ms since the Unix epoch (absent for proofs stored before times were kept). */
  detectedAt?: number
}

/** A fork just detected: the proof's view, and the peer whose operation revealed it. */
export interface ForkDetected extends ForkView {
  peerId: string
  peerName?: string
}

/**
 * Fork proofs as people and apps see them. Detection and storage are the log
 * store's (a conflicting operation is kept as a proof and the author's log
 * closed; its row is the author's mark); this part lists the proofs, exports
 * one in its text form (docs/log-format.md), and turns sync's `fork` into
 * the node's `log:fork` event.
 */
export class ForkLedger {
  readonly #logs: LogStore
  readonly #naming: Naming
  readonly #usable: () => void

  /** `usable` throws once the node is stopped for good (its database closed). */
  constructor(logs: LogStore, naming: Naming, usable: () => void = () => {}) {
    this.#logs = logs
    this.#naming = naming
    this.#usable = usable
  }

  /** Every fork proof held, oldest detection first. */
  list(): ForkView[] {
    this.#usable()
    return this.#logs.forks().map((f) => this.#view(f))
  }

  /**
   * One proof in its text form (`burrow-fork-proof:…`), by id or a unique id
   * prefix of at least 4 hex digits: anyone can check it with
   * `burrow verify-fork`, without a node. Throws `NODE_FORK_NOT_FOUND`.
   */
  export(id: string): { id: string; proof: string } {
    this.#usable()
    const wanted = id.trim().toLowerCase()
    const matches = /^[0-9a-f]+$/.test(wanted) && wanted.length >= MIN_ID_PREFIX ? this.#logs.forks().filter((f) => f.id.startsWith(wanted)) : []
    if (matches.length > 1) throw new NodeError('NODE_FORK_NOT_FOUND', `"${wanted.slice(0, 16)}" matches ${matches.length} fork proofs; use more of the id`)
    const found = matches[0]
    if (found === undefined) throw new NodeError('NODE_FORK_NOT_FOUND', `no fork proof with id "${id.slice(0, 16)}" here; see \`burrow forks\``)
    return { id: found.id, proof: forkProofToText(found.proof) }
  }

  /** The view of a proof just detected, named after the peer that sent the conflicting operation. */
  detected(proof: ForkProof, peerId: string, table: AddressTable): ForkDetected {
    const header = decodeHeader(proof.headerA)
    const view = this.#view({ id: forkProofId(proof), author: header.author, logId: header.logId, seq: header.seq, detectedAt: Date.now(), proof })
    const peerName = table.get(peerId)?.displayName
    return { ...view, peerId, ...(peerName !== undefined ? { peerName } : {}) }
  }

  #view(f: StoredFork): ForkView {
    const author = toHex(f.author)
    const authorName = this.#naming.nameOf(author)
    return {
      id: f.id,
      author,
      authorPeerId: peerIdOfIdentityKey(f.author),
      ...(authorName !== undefined ? { authorName } : {}),
      fingerprint: identityFingerprint(f.author),
      self: author === this.#naming.self,
      logId: toHex(f.logId),
      seq: f.seq,
      ...(f.detectedAt !== undefined ? { detectedAt: f.detectedAt } : {}),
    }
  }
}

/** Sync's fork detections as the node's `log:fork` events, each also logged as a warning. */
export function forwardForkEvents(sync: SyncManager, ledger: ForkLedger, table: AddressTable, node: EventEmitter<BurrowEvents>, logger: Logger): () => void {
  return listen(sync, 'fork', ({ peer, proof }) => {
    const fork = ledger.detected(proof, peer, table)
    logger.warn({ fork: fork.id, author: fork.authorPeerId, seq: fork.seq, peer }, 'fork detected: an identity signed two different operations at one position')
    node.emit('log:fork', fork)
  })
}
