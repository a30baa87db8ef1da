import { EventEmitter } from 'node:events'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { ContactCard } from '../keys/index.js'
import { toHex } from '../log/bytes.js'
import type { PeerRow, PeerStore } from '../store/index.js'
import { parseOnionAddress, type OnionAddress } from '../tor/index.js'
import type { AllowList } from './gater.js'
import { NetError } from './errors.js'

/** How fine-grained a peer's stored last-seen time is. */
const SEEN_RESOLUTION_MS = 1_000

/** A peer on the allow-list. */
export interface PeerRecord extends Omit<PeerRow, 'onion'> {
  readonly onion: OnionAddress
}

/** Events of the {@link AddressTable}. */
export interface AddressTableEvents {
  /** A peer was added, or its card replaced (new onion or client-auth key). */
  added: [PeerRecord]
  removed: [PeerRecord]
}

/** The libp2p PeerId (string form) of an Ed25519 identity public key. */
export function peerIdOfIdentityKey(identityKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(identityKey)).toString()
}

/**
 * The allow-list address table: the only peers Burrow dials or accepts,
 * filled from contact cards. Membership is answered from memory because the
 * connection gater asks on every connection.
 */
export class AddressTable extends EventEmitter<AddressTableEvents> implements AllowList {
  readonly #store: PeerStore
  readonly #ownPeerId: string
  readonly #now: () => number
  readonly #allowed = new Map<string, PeerRecord>()
  readonly #byIdentity = new Map<string, string>()
  /** When each peer's last-seen time was last written. */
  readonly #seenWritten = new Map<string, number>()

  constructor(store: PeerStore, ownPeerId: string, now: () => number = Date.now) {
    super()
    this.#store = store
    this.#ownPeerId = ownPeerId
    this.#now = now
    for (const row of store.list()) this.#remember(this.#toRecord(row))
  }

  /** Adds a peer from its (already decoded and verified) contact card, or replaces its card. */
  add(card: ContactCard): PeerRecord {
    return this.addAll([card])[0] as PeerRecord
  }

  /**
   * Adds peers from their (already decoded and verified) contact cards, or
   * replaces their cards, in one transaction: when one card is refused
   * (our own, or an onion another peer uses), none is stored.
   */
  addAll(cards: readonly ContactCard[]): PeerRecord[] {
    const rows = this.#rowsFor(cards)
    // The cards' onions were checked when they were decoded.
    const records = this.#store.upsertAll(rows).map((row, i) => ({ ...row, onion: rows[i]!.onion }))
    for (const record of records) this.#remember(record)
    for (const record of records) this.emit('added', record)
    return records
  }

  /**
   * Throws what {@link addAll} would for these cards, storing nothing: for
   * callers that must know the list takes them before they write anything
   * else (a keeper's order).
   */
  checkAll(cards: readonly ContactCard[]): void {
    this.#rowsFor(cards)
  }

  #rowsFor(cards: readonly ContactCard[]): (Parameters<PeerStore['upsert']>[0] & { onion: PeerRecord['onion'] })[] {
    const onionOwner = new Map([...this.#allowed.values()].map((p) => [p.onion as string, p.peerId]))
    return cards.map((card) => {
      const peerId = peerIdOfIdentityKey(card.identityKey)
      if (peerId === this.#ownPeerId) throw new NetError('PEER_REJECTED', 'that is this node\'s own contact card')
      const owner = onionOwner.get(card.onionAddress)
      if (owner !== undefined && owner !== peerId) throw new NetError('PEER_REJECTED', 'another peer already uses that .onion address')
      onionOwner.set(card.onionAddress, peerId)
      return {
        peerId,
        identityKey: card.identityKey,
        onion: card.onionAddress,
        clientAuthKey: card.clientAuthKey,
        ...(card.displayName !== undefined ? { displayName: card.displayName } : {}),
        addedAt: this.#now(),
      }
    })
  }

  /** How many peers are on the list. */
  get size(): number {
    return this.#allowed.size
  }

  /** Removes a peer named by PeerId, `.onion` address or unique display name. */
  remove(what: string): PeerRecord {
    const record = this.resolve(what)
    this.#store.remove(record.peerId)
    this.#allowed.delete(record.peerId)
    this.#seenWritten.delete(record.peerId)
    this.#byIdentity.delete(toHex(record.identityKey))
    this.emit('removed', record)
    return record
  }

  /** Finds a peer by PeerId, `.onion` address (with or without the suffix) or unique display name. */
  resolve(what: string): PeerRecord {
    const needle = what.trim()
    const direct = this.#allowed.get(needle)
    if (direct !== undefined) return direct
    const lower = needle.toLowerCase()
    const byOnion = [...this.#allowed.values()].find((p) => p.onion === lower || p.onion === `${lower}.onion`)
    if (byOnion !== undefined) return byOnion
    const byName = [...this.#allowed.values()].filter((p) => p.displayName !== undefined && p.displayName === needle)
    if (byName.length > 1) throw new NetError('PEER_AMBIGUOUS', `"${needle.slice(0, 80)}" matches ${byName.length} peers; use the peer id or the .onion address`)
    if (byName[0] !== undefined) return byName[0]
    throw new NetError('PEER_UNKNOWN', `no allow-listed peer matches "${needle.slice(0, 80)}"`)
  }

  isAllowed(peerId: string): boolean {
    return this.#allowed.has(peerId)
  }

  /** A peer's current record (read afresh: last seen and last error change all the time). */
  get(peerId: string): PeerRecord | undefined {
    if (!this.#allowed.has(peerId)) return undefined
    const row = this.#store.get(peerId)
    return row === undefined ? undefined : this.#toRecord(row)
  }

  /** The identity key of an allow-listed PeerId, from memory (the sync policy asks for every frame). */
  identityKeyOf(peerId: string): Uint8Array | undefined {
    return this.#allowed.get(peerId)?.identityKey
  }

  /** The PeerId of an allow-listed identity key (hex), if any. */
  peerIdOf(identityKeyHex: string): string | undefined {
    return this.#byIdentity.get(identityKeyHex)
  }

  /** Every peer, most recently seen first (the order to reconnect in). */
  list(): PeerRecord[] {
    return this.#store.list().map((row) => this.#toRecord(row))
  }

  /**
   * Records that a peer was heard from now. Sync calls this for every batch
   * it stores, so the row is written at most once per second and peer (each
   * write is a transaction of its own, with a disk sync).
   */
  markSeen(peerId: string): void {
    if (!this.#allowed.has(peerId)) return
    const now = this.#now()
    if (now - (this.#seenWritten.get(peerId) ?? -Infinity) < SEEN_RESOLUTION_MS) return
    this.#seenWritten.set(peerId, now)
    this.#store.markSeen(peerId, now)
  }

  /** Records why talking to a peer failed (a Tor reason such as `onion-client-auth-missing`, or a protocol error). */
  recordError(peerId: string, code: string, message: string): void {
    if (this.#allowed.has(peerId)) this.#store.recordError(peerId, code, message.slice(0, 500), this.#now())
  }

  /**
   * A stored row as a record. A peer's onion was checked when its card was
   * added (or when the table was opened), so a known one is not checked
   * again: the check costs about 2 ms (the key's subgroup test), and the
   * connector lists every peer every second: with 1,000 peers that alone
   * kept a core busy and blocked the event loop for minutes after a batch add.
   */
  #toRecord(row: PeerRow): PeerRecord {
    const known = this.#allowed.get(row.peerId)
    return { ...row, onion: known !== undefined && known.onion === row.onion ? known.onion : parseOnionAddress(row.onion) }
  }

  #remember(record: PeerRecord): void {
    this.#allowed.set(record.peerId, record)
    this.#byIdentity.set(toHex(record.identityKey), record.peerId)
  }
}
