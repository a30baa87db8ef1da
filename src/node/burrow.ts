import { EventEmitter } from 'node:events'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { BurrowError } from '../errors.js'
import { sleep } from '../util/async.js'
import {
  contactCardQr,
  createContactCard,
  decodeContactCard,
  encodeContactCard,
  initKeystore,
  keystoreExists,
  openKeystore,
  type NodeKeys,
} from '../keys/index.js'
import { fromHex, toHex, type LogId } from '../log/index.js'
import { decodeCanonical, encodeCanonical } from '../log/cbor.js'
import { LogStore, PeerStore, openDatabase, type Database } from '../store/index.js'
import {
  OnionClientAuth,
  OnionService,
  Tor,
  type BootstrapProgress,
  type OnionAddress,
} from '../tor/index.js'
import { clientTorrcLines, loadTestnet } from '../testnet/index.js'
import {
  AddressTable,
  PeerConnector,
  SyncManager,
  createBurrowLibp2p,
  peerIdOfIdentityKey,
  dialFailure,
  request,
  serveRequests,
  type BurrowLibp2p,
  type PeerRecord,
} from '../net/index.js'
import { GroupManager, type GroupInfo, type GroupMessage } from '../group/index.js'
import { NodeExistsError, NodeNotFoundError, NodeStateError, PeerUnavailableError } from './errors.js'
import { groupSummary, messageView, resolveGroup, type GroupSummary, type MessageView, type Naming } from './views.js'
import { nodePaths, type NodePaths } from './paths.js'

/** The onion service port peers dial. Contact cards carry no port, so every Burrow node uses this one. */
export const BURROW_VIRTUAL_PORT = 443

/** libp2p protocol a group owner uses to fetch a fresh MLS key package from a peer it invites. */
export const KEY_PACKAGE_PROTOCOL = '/burrow/keypackage/1'
const MAX_KEY_PACKAGE_BYTES = 64 * 1024
const REQUEST_DIAL_BUDGET_MS = 60_000
const STALE_DESCRIPTOR_SIGNS = new Set(['timeout', 'onion-introduction-failed', 'onion-introduction-timeout', 'onion-rendezvous-failed'])
const TRANSIENT_DIAL_FAILURES = new Set([
  'onion-client-auth-missing',
  'onion-client-auth-wrong',
  'onion-descriptor-not-found',
  'onion-introduction-failed',
  'onion-introduction-timeout',
  'onion-rendezvous-failed',
  'general-failure',
  'timeout',
])

/** How Burrow gets its tor. */
export type TorChoice =
  | { mode: 'managed'; torPath?: string; extraTorrcLines?: string[]; testnet?: string }
  | { mode: 'attach'; control: { host: string; port: number } | { path: string }; cookieFile?: string; password?: string }

/** Options of {@link Burrow.open}. */
export interface BurrowOptions {
  /** The node's data directory (created 0700 by {@link Burrow.init}). */
  dataDir: string
  /** Passphrase of a sealed keystore. */
  passphrase?: string
  /** Default: a managed tor on the real Tor network. */
  tor?: TorChoice
  /** Name written into our contact card. */
  displayName?: string
  /** Bootstrap watchdog: restart tor after this long without progress. Default 120 s. */
  bootstrapStallMs?: number
  logger?: Logger
}

/** Events of a {@link Burrow} node. */
export interface BurrowEvents {
  'tor:bootstrap': [BootstrapProgress]
  'tor:ready': []
  /** Tor died or its control connection broke; it is being restarted. */
  'tor:lost': [{ reason: string }]
  /** Our onion service passed its self-check: peers can reach us. */
  'onion:reachable': [{ address: OnionAddress; ms: number }]
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
  'group:ephemeral': [{ groupId: string; peerId: string; data: Uint8Array }]
}

/** A peer on our allow-list, with its live state. */
export interface PeerStatus extends PeerRecord {
  connected: boolean
}

/** What `status()` reports. */
export interface NodeStatus {
  state: 'stopped' | 'starting' | 'running' | 'stopping'
  peerId: string
  onion: OnionAddress
  identityKey: string
  tor: { state: string; bootstrap: number; pid?: number }
  reachable: boolean
  peers: { total: number; connected: number }
  groups: number
  operations: number
}

/**
 * A Burrow node: its own tor, an onion service with client authorization,
 * libp2p over onion connections to allow-listed peers only, signed logs in
 * SQLite replicated by `/burrow/sync/1`, and MLS-encrypted groups.
 *
 * ```ts
 * await Burrow.init('/path/to/data')
 * const node = await Burrow.open({ dataDir: '/path/to/data' })
 * node.on('group:message', (m) => console.log(m.text))
 * await node.start()
 * ```
 */
export class Burrow extends EventEmitter<BurrowEvents> {
  readonly keys: NodeKeys
  readonly paths: NodePaths
  readonly peerId: string
  readonly #options: BurrowOptions
  readonly #log: Logger
  readonly #db: Database
  readonly #logs: LogStore
  readonly #table: AddressTable
  readonly #groups: GroupManager
  readonly #naming: Naming
  #state: NodeStatus['state'] = 'stopped'
  #tor: Tor | undefined
  #onion: OnionService | undefined
  #clientAuth: OnionClientAuth | undefined
  #net: BurrowLibp2p | undefined
  #sync: SyncManager | undefined
  #connector: PeerConnector | undefined
  #reachable = false
  #processing: Promise<void> = Promise.resolve()
  #processAgain = false
  readonly #detach: (() => void)[] = []

  private constructor(options: BurrowOptions, keys: NodeKeys, db: Database) {
    super()
    this.#options = options
    this.#log = options.logger ?? silentLogger
    this.keys = keys
    this.paths = nodePaths(options.dataDir)
    this.peerId = peerIdOfIdentityKey(keys.identity.publicKey)
    this.#db = db
    this.#logs = new LogStore(db)
    this.#table = new AddressTable(new PeerStore(db), this.peerId)
    this.#naming = {
      self: toHex(keys.identity.publicKey),
      nameOf: (identityKeyHex) => {
        const peerId = this.#table.peerIdOf(identityKeyHex)
        return peerId === undefined ? undefined : this.#table.get(peerId)?.displayName
      },
    }
    this.#groups = new GroupManager({
      db,
      logs: this.#logs,
      identity: { seed: keys.identity.seed, publicKey: keys.identity.publicKey },
      logger: this.#log,
    })
  }

  /**
   * Creates a node in `dataDir`: a new identity (optionally sealed with a
   * passphrase) and an empty database. Refuses to overwrite an existing node.
   */
  static async init(dataDir: string, options: { passphrase?: string } = {}): Promise<{ peerId: string; onion: OnionAddress }> {
    if (await keystoreExists(dataDir)) throw new NodeExistsError(dataDir)
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o700)
    const keys = await initKeystore(dataDir, options.passphrase !== undefined ? { passphrase: options.passphrase } : {})
    openDatabase(nodePaths(dataDir).database).close()
    return { peerId: peerIdOfIdentityKey(keys.identity.publicKey), onion: keys.onionAddress }
  }

  /** Opens an existing node (keys and database) without starting anything. */
  static async open(options: BurrowOptions): Promise<Burrow> {
    if (!existsSync(options.dataDir) || !(await keystoreExists(options.dataDir))) throw new NodeNotFoundError(options.dataDir)
    const keys = await openKeystore(options.dataDir, options.passphrase !== undefined ? { passphrase: options.passphrase } : {})
    const db = openDatabase(nodePaths(options.dataDir).database)
    return new Burrow(options, keys, db)
  }

  get onionAddress(): OnionAddress {
    return this.keys.onionAddress
  }

  get state(): NodeStatus['state'] {
    return this.#state
  }

  /** Our contact card: one line to give to the people we want to talk to. */
  contactCard(): string {
    return encodeContactCard(createContactCard(this.keys, this.#options.displayName), this.keys)
  }

  /** Our contact card as a QR code for a terminal. */
  contactCardQr(): string {
    return contactCardQr(this.contactCard())
  }

  /**
   * Starts tor (or attaches to it), libp2p behind our onion service, the
   * onion service itself (resolves only once it passed its self-check), sync
   * and reconnection to every allow-listed peer.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'stopped') throw new NodeStateError(`cannot start a node that is ${this.#state}`)
    this.#state = 'starting'
    try {
      await this.#startTor(signal)
      await this.#startNet()
      // Protocols are served before the onion is published: a peer that
      // reaches us at once must find them (else its sync stream is refused).
      await this.#startSync()
      await this.#publish(signal)
      this.#connector!.start()
      this.#state = 'running'
      void this.#processPending()
    } catch (err) {
      await this.#shutdown()
      this.#state = 'stopped'
      throw err
    }
  }

  /** Stops everything this node started and closes its database. The object cannot be started again. */
  async stop(): Promise<void> {
    if (this.#state === 'stopping') return
    this.#state = 'stopping'
    await this.#shutdown()
    await this.#processing.catch(() => {})
    this.#db.close()
    this.#state = 'stopped'
  }

  // ---- peers -------------------------------------------------------------

  /**
   * Adds a peer from its contact card. When the node runs, this resolves once
   * our onion service was re-published with the peer's client-auth key (it can
   * reach us) and our key for its onion is registered (we can reach it, once
   * it has added us too).
   */
  async addPeer(card: string): Promise<PeerRecord> {
    const record = this.#table.add(decodeContactCard(card))
    if (this.#state === 'running') await this.#authorize(record)
    return record
  }

  /** Removes a peer (by PeerId, .onion or display name): its connections close and it can no longer reach us. */
  async removePeer(what: string): Promise<PeerRecord> {
    const record = this.#table.remove(what)
    if (this.#state === 'running') await this.#revoke(record)
    return record
  }

  /** The allow-list, most recently seen first, with connection state. */
  peers(): PeerStatus[] {
    const connected = new Set(this.#net?.libp2p.getConnections().map((c) => c.remotePeer.toString()) ?? [])
    return this.#table.list().map((p) => ({ ...p, connected: connected.has(p.peerId) }))
  }

  // ---- groups ------------------------------------------------------------

  /** Creates a group we own. `name` is a local label, never sent anywhere. */
  async createGroup(name?: string): Promise<GroupSummary> {
    return this.#summary(await this.#groups.create(name !== undefined ? { name } : {}))
  }

  /** Our groups, with members named from the allow-list. */
  groups(): GroupSummary[] {
    return this.#groups.list().map((g) => this.#summary(g))
  }

  /** A group by id (hex), unique id prefix, or local name. Throws `GROUP_NOT_FOUND` / `GROUP_AMBIGUOUS`. */
  group(what: string): GroupSummary {
    return this.#summary(this.#resolveGroup(what))
  }

  /**
   * Invites an allow-listed peer into a group we own: fetches a fresh key
   * package from it over its onion connection, commits the add, and the
   * Welcome travels in our log.
   */
  async invite(groupWhat: string, peerWhat: string, signal?: AbortSignal): Promise<GroupSummary> {
    const group = this.#resolveGroup(groupWhat)
    const peer = this.#table.resolve(peerWhat)
    const libp2p = this.#requireNet()
    await this.#dialForRequest(peer, signal)
    const response = await request(libp2p, peerIdFromString(peer.peerId), KEY_PACKAGE_PROTOCOL, encodeCanonical([group.id]), {
      maxResponseBytes: MAX_KEY_PACKAGE_BYTES,
      ...(signal ? { signal } : {}),
    })
    const info = await this.#groups.invite(group.id, peer.identityKey, parseKeyPackageResponse(response))
    this.#sync?.share(group.id)
    return this.#summary(info)
  }

  /** Removes a member (peer name, PeerId, .onion or identity key hex) from a group we own: it cannot read anything sent afterwards. */
  async removeMember(groupWhat: string, memberWhat: string): Promise<GroupSummary> {
    const group = this.#resolveGroup(groupWhat)
    const wanted = memberWhat.trim().toLowerCase()
    const byKey = group.members.find((m) => toHex(m) === wanted)
    const identityKey = byKey ?? this.#table.resolve(memberWhat).identityKey
    const info = await this.#groups.remove(group.id, identityKey)
    return this.#summary(info)
  }

  /** Rotates our key material in a group (the owner commits; a member proposes and the owner commits). */
  async rotateKeys(groupWhat: string): Promise<void> {
    await this.#groups.rotate(this.#resolveGroup(groupWhat).id)
  }

  /** Leaves a group we do not own (a proposal the owner commits). */
  async leave(groupWhat: string): Promise<void> {
    await this.#groups.leave(this.#resolveGroup(groupWhat).id)
  }

  /** Encrypts and sends a message to a group. Returns it as it appears in our local view. */
  async send(groupWhat: string, data: Uint8Array | string): Promise<MessageView> {
    const group = this.#resolveGroup(groupWhat)
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    return messageView(await this.#groups.send(group.id, bytes), this.#naming)
  }

  /** Decrypted messages of a group from our local view (never replicated), oldest first. */
  messages(groupWhat: string, options: { afterId?: number; limit?: number } = {}): MessageView[] {
    return this.#groups.messages(this.#resolveGroup(groupWhat).id, options).map((m) => messageView(m, this.#naming))
  }

  /** Sends a short message to the currently connected members of a group; never stored. Returns how many peers got it. */
  async sendEphemeral(groupWhat: string, data: Uint8Array): Promise<number> {
    return (await this.#sync?.sendEphemeral(this.#resolveGroup(groupWhat).id, data)) ?? 0
  }

  status(): NodeStatus {
    const peers = this.peers()
    const tor = this.#tor
    return {
      state: this.#state,
      peerId: this.peerId,
      onion: this.onionAddress,
      identityKey: toHex(this.keys.identity.publicKey),
      tor: {
        state: tor?.state ?? 'idle',
        bootstrap: tor?.bootstrapProgress.progress ?? 0,
        ...(tor?.pid !== undefined ? { pid: tor.pid } : {}),
      },
      reachable: this.#reachable,
      peers: { total: peers.length, connected: peers.filter((p) => p.connected).length },
      groups: this.#groups.list().length,
      operations: this.#logs.counts().operations,
    }
  }

  // ---- internals ---------------------------------------------------------

  #resolveGroup(what: string): GroupInfo {
    return resolveGroup(this.#groups.list(), what)
  }

  #summary(info: GroupInfo): GroupSummary {
    return groupSummary(info, this.#naming)
  }

  #requireNet(): Libp2p {
    if (this.#net === undefined || this.#state !== 'running') throw new NodeStateError('the node is not running')
    return this.#net.libp2p
  }

  #on<E extends EventEmitter, A extends unknown[]>(emitter: E, event: string, listener: (...args: A) => void): void {
    emitter.on(event, listener as (...args: unknown[]) => void)
    this.#detach.push(() => emitter.off(event, listener as (...args: unknown[]) => void))
  }

  async #startTor(signal?: AbortSignal): Promise<void> {
    const choice = this.#options.tor ?? { mode: 'managed' }
    const supervision = { bootstrap: { stallMs: this.#options.bootstrapStallMs ?? 120_000 }, logger: this.#log }
    if (choice.mode === 'attach') {
      this.#tor = Tor.attach({
        control: choice.control,
        ...(choice.cookieFile !== undefined ? { cookieFile: choice.cookieFile } : {}),
        ...(choice.password !== undefined ? { password: choice.password } : {}),
        ...supervision,
      })
    } else {
      const extra = [...(choice.testnet !== undefined ? clientTorrcLines(loadTestnet(choice.testnet).state) : []), ...(choice.extraTorrcLines ?? [])]
      this.#tor = Tor.managed({
        dataDir: this.paths.torDir,
        extraTorrcLines: extra,
        ...(choice.torPath !== undefined ? { torPath: choice.torPath } : {}),
        ...supervision,
      })
    }
    const tor = this.#tor
    this.#on(tor, 'bootstrap', (p: BootstrapProgress) => this.emit('tor:bootstrap', p))
    this.#on(tor, 'ready', () => this.emit('tor:ready'))
    this.#on(tor, 'lost', ({ reason }: { reason: string }) => {
      this.#reachable = false
      this.emit('tor:lost', { reason })
    })
    await tor.start(signal)
    this.#clientAuth = new OnionClientAuth(tor)
  }

  async #startNet(): Promise<void> {
    const tor = this.#tor!
    this.#net = await createBurrowLibp2p({
      identitySeed: this.keys.identity.seed,
      onionAddress: this.onionAddress,
      virtualPort: BURROW_VIRTUAL_PORT,
      listenPath: `${this.paths.dataDir}/onion.sock`,
      socks: () => tor.socksEndpoint,
      allowList: this.#table,
      logger: this.#log,
    })
    const libp2p = this.#net.libp2p
    await serveRequests(libp2p, KEY_PACKAGE_PROTOCOL, (peer, body) => this.#answerKeyPackage(peer, body), {
      maxRequestBytes: 1024,
      logger: this.#log,
    })
    const onConnect = (evt: CustomEvent<{ toString(): string }>): void => {
      const peerId = evt.detail.toString()
      const name = this.#table.get(peerId)?.displayName
      this.emit('peer:connected', name !== undefined ? { peerId, name } : { peerId })
    }
    const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
      const peerId = evt.detail.toString()
      const peer = this.#table.get(peerId)
      const reason = peer?.lastError?.code ?? 'connection closed'
      this.emit('peer:disconnected', peer?.displayName !== undefined ? { peerId, name: peer.displayName, reason } : { peerId, reason })
    }
    libp2p.addEventListener('peer:connect', onConnect)
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.#detach.push(() => {
      libp2p.removeEventListener('peer:connect', onConnect)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
    })
  }

  async #publish(signal?: AbortSignal): Promise<void> {
    const tor = this.#tor!
    const onion = new OnionService(tor, {
      seed: this.keys.onionServiceSeed,
      virtualPort: BURROW_VIRTUAL_PORT,
      target: { path: this.#net!.listenPath },
      ownClientAuth: this.keys.clientAuth,
      authorizedClients: this.#table.list().map((p) => p.clientAuthKey),
      logger: this.#log,
    })
    this.#onion = onion
    const started = Date.now()
    await onion.publish(signal)
    for (const peer of this.#table.list()) await this.#clientAuth!.add(peer.onion, this.keys.clientAuth.privateKey)
    await onion.selfCheck(signal ? { signal } : {})
    this.#reachable = true
    this.emit('onion:reachable', { address: onion.address, ms: Date.now() - started })
    this.#on(onion, 'published', () => {
      this.#reachable = true
    })
  }

  async #startSync(): Promise<void> {
    const libp2p = this.#net!.libp2p
    const table = this.#table
    const groups = this.#groups
    const identityOf = (peer: string): string | undefined => {
      const record = table.get(peer)
      return record === undefined ? undefined : toHex(record.identityKey)
    }
    const sync = new SyncManager({
      libp2p,
      store: this.#logs,
      table,
      logger: this.#log,
      policy: {
        sharedLogs: (peer) => {
          const id = identityOf(peer)
          return id === undefined ? [] : groups.sharedLogs(id)
        },
        mayShare: (peer, logId) => {
          const id = identityOf(peer)
          return id !== undefined && groups.mayShare(id, logId)
        },
      },
    })
    this.#sync = sync
    await sync.start()
    this.#connector = new PeerConnector({
      libp2p,
      table,
      virtualPort: BURROW_VIRTUAL_PORT,
      logger: this.#log,
      onDialFailure: (peer, failure) => this.#afterDialFailure(peer, failure.code),
    })

    this.#on(sync, 'ingested', ({ peer, logId, stored }: { peer: string; logId: LogId; stored: number }) => {
      if (stored > 0) this.emit('sync:progress', { peerId: peer, logId: toHex(logId), stored })
      void this.#processPending()
    })
    this.#on(sync, 'caught-up', ({ peer, logId }: { peer: string; logId: LogId }) => this.emit('sync:caught-up', { peerId: peer, logId: toHex(logId) }))
    this.#on(sync, 'ephemeral', ({ peer, logId, data }: { peer: string; logId: LogId; data: Uint8Array }) =>
      this.emit('group:ephemeral', { groupId: toHex(logId), peerId: peer, data }),
    )
    this.#on(groups, 'appended', (ops: Parameters<SyncManager['offer']>[0]) => sync.offer(ops))
    this.#on(groups, 'message', (m: GroupMessage) => this.emit('group:message', messageView(m, this.#naming)))
    this.#on(groups, 'changed', ({ groupId }: { groupId: Uint8Array }) => {
      sync.share(groupId)
      const info = groups.get(groupId)
      if (info !== undefined) this.emit('group:changed', this.#summary(info))
    })
    this.#on(groups, 'joined', (info: GroupInfo) => {
      sync.share(info.id)
      this.emit('group:changed', this.#summary(info))
    })
  }

  async #authorize(peer: PeerRecord): Promise<void> {
    await this.#onion?.setAuthorizedClients(this.#table.list().map((p) => p.clientAuthKey))
    await this.#clientAuth?.add(peer.onion, this.keys.clientAuth.privateKey)
    this.#connector?.dialSoon(peer.peerId)
  }

  async #revoke(peer: PeerRecord): Promise<void> {
    await Promise.resolve(this.#net?.libp2p.hangUp(peerIdFromString(peer.peerId))).catch(() => {})
    await this.#clientAuth?.remove(peer.onion)
    await this.#onion?.setAuthorizedClients(this.#table.list().map((p) => p.clientAuthKey))
  }

  /** A dial that hung or could not introduce itself may be using a stale descriptor: ask tor for a fresh one. */
  #afterDialFailure(peer: PeerRecord, code: string): void {
    if (!STALE_DESCRIPTOR_SIGNS.has(code) || this.#tor === undefined || !this.#tor.isReady) return
    this.#tor.refetchDescriptor(peer.onion).catch((err: unknown) => {
      this.#log.debug({ peer: peer.peerId, reason: err instanceof Error ? err.message : String(err) }, 'descriptor refetch failed')
    })
  }

  /**
   * Makes sure we are connected to `peer` before a request. Retries, within a
   * bound, the failures that clear up by themselves: a peer that has just
   * added us re-publishes its onion service, and our tor may still hold the
   * descriptor from before (client authorization refused).
   */
  async #dialForRequest(peer: PeerRecord, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + REQUEST_DIAL_BUDGET_MS
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#connector!.dial(peer, signal)
        return
      } catch (err) {
        const failure = dialFailure(err)
        this.#afterDialFailure(peer, failure.code)
        const transient = TRANSIENT_DIAL_FAILURES.has(failure.code)
        if (!transient || Date.now() > deadline || signal?.aborted === true) {
          const hint = failure.code.startsWith('onion-client-auth') ? ' (has this peer added our contact card?)' : ''
          throw new PeerUnavailableError(`cannot reach ${peer.displayName ?? peer.peerId}: ${failure.message}${hint}`, { cause: err })
        }
        await sleep(Math.min(1_000 * 2 ** attempt, 5_000), signal)
      }
    }
  }

  async #answerKeyPackage(peer: string, body: Uint8Array): Promise<Uint8Array> {
    const record = this.#table.get(peer)
    if (record === undefined) return encodeCanonical([0, 'PEER_NOT_ALLOWED'])
    let groupId: Uint8Array
    try {
      const value = decodeCanonical(body)
      if (!Array.isArray(value) || value.length !== 1 || !(value[0] instanceof Uint8Array) || value[0].length !== 32) throw new Error('shape')
      groupId = value[0]
    } catch {
      return encodeCanonical([0, 'MALFORMED_REQUEST'])
    }
    const keyPackage = await this.#groups.createKeyPackage(groupId, record.identityKey)
    this.#sync?.share(groupId)
    return encodeCanonical([1, keyPackage])
  }

  /** Runs group processing after ingests, one pass at a time; a request during a pass causes exactly one more pass. */
  #processPending(): Promise<void> {
    if (this.#processAgain) return this.#processing
    this.#processAgain = true
    this.#processing = this.#processing.then(async () => {
      this.#processAgain = false
      try {
        await this.#groups.processPending()
      } catch (err) {
        this.#log.error({ reason: err instanceof Error ? err.message : String(err) }, 'group processing failed')
      }
    })
    return this.#processing
  }

  async #shutdown(): Promise<void> {
    this.#tor?.stopSupervising()
    for (const detach of this.#detach.splice(0)) detach()
    this.#connector?.stop()
    await this.#sync?.stop().catch(() => {})
    await this.#onion?.remove().catch(() => {})
    await this.#clientAuth?.close().catch(() => {})
    await Promise.resolve(this.#net?.libp2p.stop()).catch(() => {})
    await this.#tor?.stop().catch(() => {})
    this.#reachable = false
  }
}

function parseKeyPackageResponse(bytes: Uint8Array): Uint8Array {
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (cause) {
    throw new PeerUnavailableError('the peer answered the key-package request with malformed data', { cause })
  }
  if (Array.isArray(value) && value.length === 2 && value[0] === 1 && value[1] instanceof Uint8Array) return value[1]
  if (Array.isArray(value) && value.length === 2 && value[0] === 0 && typeof value[1] === 'string') {
    throw new PeerUnavailableError(`the peer refused to give a key package (${value[1].slice(0, 40)})`)
  }
  throw new BurrowError('PEER_UNAVAILABLE', 'the peer answered the key-package request with an unexpected message')
}
