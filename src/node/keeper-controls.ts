import type { GroupManager, KeeperList, KeptGroups } from '../group/index.js'
import { GroupError } from '../group/index.js'
import type { ContactCard } from '../keys/index.js'
import { bytesEqual, toHex } from '../log/index.js'
import { peerIdOfIdentityKey, type AddressTable, type PeerRecord } from '../net/index.js'
import type { KeeperDecision } from '../store/index.js'
import type { KeeperService } from './keepers.js'
import type { KeepersView, KeepingOrdererView, KeptGroupStatus } from './types.js'

/** The parts of a peer's record that a contact card carries (unsigned: what keeping passes on). */
function cardOf(peer: PeerRecord): ContactCard {
  return { version: 1, identityKey: peer.identityKey, onionAddress: peer.onion, clientAuthKey: peer.clientAuthKey, ...(peer.displayName !== undefined ? { displayName: peer.displayName } : {}) }
}

/** The identity key (hex) of the allow-listed peer `what` names, if any: a keeper may have left the allow-list. */
function identityOnTable(table: AddressTable, what: string): string | undefined {
  try {
    return toHex(table.resolve(what).identityKey)
  } catch {
    return undefined
  }
}

/** What {@link KeeperControls} works with. */
export interface KeeperControlsOptions {
  groups: GroupManager
  kept: KeptGroups
  table: AddressTable
  service: KeeperService
}

/**
 * The keepers as people and programs see them (Burrow's `addKeeper`,
 * `removeKeeper`, `keepers`, `decideKeepers`, `keptGroups`,
 * `decideKeeping`, `keepingOrderers`): a group's owner names and drops
 * keepers, a member answers for its node, a keeper's user answers the peers
 * that order it and lists what it keeps; lists come out as views named from
 * the allow-list. The keeping
 * itself (orders, claims, sharing) is the {@link KeeperService}'s.
 */
export class KeeperControls {
  readonly #groups: GroupManager
  readonly #kept: KeptGroups
  readonly #table: AddressTable
  readonly #service: KeeperService

  constructor(options: KeeperControlsOptions) {
    this.#groups = options.groups
    this.#kept = options.kept
    this.#table = options.table
    this.#service = options.service
  }

  async add(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#groups.resolve(groupWhat)
    const peer = this.#table.resolve(peerWhat)
    const current = this.#groups.keepers(group.id)?.keepers ?? []
    if (current.some((k) => toHex(k.identityKey) === toHex(peer.identityKey))) return this.view(this.#groups.keepers(group.id)!)
    return this.view(await this.#groups.setKeepers(group.id, [...current, cardOf(peer)]))
  }

  /** Drops a keeper named by identity key (hex), allow-list name or display name; it gets a release. */
  async remove(groupWhat: string, peerWhat: string): Promise<KeepersView> {
    const group = this.#groups.resolve(groupWhat)
    const current = this.#groups.keepers(group.id)?.keepers ?? []
    const wanted = peerWhat.trim().toLowerCase()
    const byTable = identityOnTable(this.#table, peerWhat)
    const next = current.filter((k) => toHex(k.identityKey) !== wanted && toHex(k.identityKey) !== byTable && k.displayName !== peerWhat)
    if (next.length === current.length) throw new GroupError('KEEPER_NOT_FOUND', `${peerWhat.slice(0, 80)} is not a keeper of this group`)
    const view = this.view(await this.#groups.setKeepers(group.id, next))
    for (const gone of current.filter((k) => !next.includes(k))) this.#service.release(group.id, gone.identityKey)
    return view
  }

  list(groupWhat: string): KeepersView {
    const group = this.#groups.resolve(groupWhat)
    return this.view(this.#groups.keepers(group.id) ?? { groupId: group.id, keepers: [], decision: group.isOwner ? 'allow' : 'ask' })
  }

  async decide(groupWhat: string, decision: KeeperDecision): Promise<KeepersView> {
    return this.view(await this.#groups.decideKeepers(this.#groups.resolve(groupWhat).id, decision))
  }

  kept(): KeptGroupStatus[] {
    return this.#kept.list().map((k) => {
      const owner = this.#table.get(peerIdOfIdentityKey(k.owner))?.displayName
      return {
        groupId: toHex(k.groupId),
        owner: toHex(k.owner),
        ...(owner !== undefined ? { ownerName: owner } : {}),
        members: k.members.length + 1,
        keepers: k.keepers.length,
        retentionMs: k.retentionMs,
        operations: k.operations,
        bytes: k.bytes,
        quotaBytes: this.#kept.quota.perGroupBytes,
        full: k.full,
      }
    })
  }

  /**
   * As a keeper: the user's answer to a peer (allow-listed, by name, PeerId
   * or .onion) that orders this node to keep its groups.
   *
   * @throws NodeError `NODE_PEER_LIMIT` when the held orders an `allow`
   * carries out name more peers than the allow-list has room for (nothing changes)
   */
  async decideKeeping(peerWhat: string, decision: 'allow' | 'deny'): Promise<KeepingOrdererView> {
    const peer = this.#table.resolve(peerWhat)
    await this.#service.decide(peer.identityKey, decision)
    return this.ordererView(peer.identityKey)
  }

  /** As a keeper: the peers that asked it to keep their groups, with the user's answers. */
  orderers(): KeepingOrdererView[] {
    return this.#kept.orderers().map((o) => this.ordererView(o.identityKey))
  }

  /** A peer that orders this node (or asked to), as the APIs show it. */
  ordererView(identityKey: Uint8Array): KeepingOrdererView {
    const peerId = peerIdOfIdentityKey(identityKey)
    const name = this.#table.get(peerId)?.displayName
    const held = this.#kept.orderers().find((o) => bytesEqual(o.identityKey, identityKey))
    return { identityKey: toHex(identityKey), peerId, ...(name !== undefined ? { name } : {}), decision: held?.decision ?? 'ask', groups: held?.groups ?? 0 }
  }

  /** A keeper list as the APIs show it. */
  view(list: KeeperList): KeepersView {
    const info = this.#groups.get(list.groupId)
    const owner = info?.owner
    const ownerName = owner === undefined ? undefined : this.#table.get(peerIdOfIdentityKey(owner))?.displayName
    return {
      groupId: toHex(list.groupId),
      ...(info?.name != null ? { group: info.name } : {}),
      owner: owner === undefined ? '' : toHex(owner),
      ...(ownerName !== undefined ? { ownerName } : {}),
      keepers: list.keepers.map((k) => ({
        identityKey: toHex(k.identityKey),
        peerId: peerIdOfIdentityKey(k.identityKey),
        onion: k.onionAddress,
        ...(k.displayName !== undefined ? { name: k.displayName } : {}),
      })),
      decision: list.decision,
    }
  }
}
