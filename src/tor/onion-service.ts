import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { AbortError, TimeoutError } from '../errors.js'
import { sleep } from '../util/async.js'
import { isLoopbackIp } from '../util/net.js'
import { type HsDescEvent, type TorControl } from './control/index.js'
import { isTorError, TorCommandError, TorError } from './errors.js'
import { assertOnionTargetPath } from './socket-path.js'
import { serviceIdOf, type OnionAddress } from './onion-address.js'
import { clientAuthPrivateKeyBase64, clientAuthPublicKeyBase32, onionAddressFromSeed, type ClientAuthKeyPair } from './onion-keys.js'
import { MAX_CLIENTS_PER_ONION, onionShardAddress, onionShardKeyBlob } from './onion-shards.js'
import { dialOnion } from './socks.js'
import { SocksReplyError } from './socks-errors.js'
import type { Tor } from './tor.js'

/** The longest one self-check dial may wait for tor's answer. */
const MAX_SELF_CHECK_ATTEMPT_MS = 30_000

/** Options of an {@link OnionService}. */
export interface OnionServiceOptions {
  /** 32-byte Ed25519 seed: the same seed always gives the same `.onion`. Kept in memory only. */
  seed: Uint8Array
  /**
   * Which of the seed's onion services this is: 0 (default) the seed's own
   * address, 1 to 3 the shards derived from it (`onion-shards.ts`), which
   * carry more clients than one descriptor holds.
   */
  shard?: number
  /** The port peers dial on the `.onion`. */
  virtualPort: number
  /**
   * Where tor forwards the service's connections: a unix socket in a folder
   * only this user can enter (what Burrow uses: no other local user can
   * connect to it, bypassing tor and client authorization), or a loopback
   * TCP port (any local user can connect to that).
   */
  target: { path: string } | { host: string; port: number }
  /**
   * Our own client-auth key pair. When set, client authorization is on: only
   * holders of a listed key (ours, for the self-check, and `authorizedClients`)
   * can even fetch the descriptor.
   */
  ownClientAuth?: ClientAuthKeyPair
  /** X25519 public keys of the clients allowed in (ClientAuthV3); with `ownClientAuth`, at most {@link MAX_CLIENTS_PER_ONION} in all. */
  authorizedClients?: readonly Uint8Array[]
  /** Tor's proof-of-work defence against introduction floods. Default on. */
  powDefenses?: boolean
  /** How long to wait for the descriptor uploads. Default 120 s. */
  publishTimeoutMs?: number
  logger?: Logger
}

/** Events of an {@link OnionService}. */
export interface OnionServiceEvents {
  /** Descriptors uploaded (after the first publication and every re-publication). */
  published: [{ uploads: number; ms: number }]
  /** Re-publication after a tor restart failed; the service stays down until the next restart or an explicit publish. */
  error: [Error]
}

/** Result of a self-check. */
export interface SelfCheckResult {
  attempts: number
  ms: number
}

/**
 * A v3 onion service with a persistent key, owned by Burrow's control
 * connection (so tor drops it if Burrow goes away) and re-created by a ready
 * hook after every tor restart.
 */
export class OnionService extends EventEmitter<OnionServiceEvents> {
  /** The service's `.onion` address, known before publication. */
  readonly address: OnionAddress
  readonly #tor: Tor
  readonly #options: OnionServiceOptions
  readonly #log: Logger
  /** The target as ADD_ONION takes it: `unix:/path` or `127.0.0.1:port`. */
  readonly #target: string
  #authorized: Uint8Array[]
  #published = false
  /** Set before ADD_ONION goes out: from then on tor may hold the service and our own client-auth key. */
  #onTor = false
  readonly #removeHooks: (() => void)[] = []
  /** The publication in progress: publications run one after another (two ADD_ONIONs of one key would collide). */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(tor: Tor, options: OnionServiceOptions) {
    super()
    this.#target = onionTarget(options.target)
    this.#tor = tor
    this.#options = options
    this.#log = options.logger ?? silentLogger
    this.#authorized = this.#checkedClients(options.authorizedClients ?? [])
    this.address = onionShardAddress(onionAddressFromSeed(options.seed), options.shard ?? 0)
  }

  /** The ServiceID tor uses for this service (the address without `.onion`). */
  get serviceId(): string {
    return serviceIdOf(this.address)
  }

  get isPublished(): boolean {
    return this.#published
  }

  /**
   * Publishes the service and waits until tor has uploaded its descriptors to
   * every hidden-service directory it tried. After this, the service is also
   * re-published automatically whenever tor restarts.
   */
  async publish(signal?: AbortSignal): Promise<void> {
    await this.#serially(() => this.#publishOn(this.#tor.control, signal))
    if (this.#removeHooks.length > 0) return
    this.#removeHooks.push(
      this.#tor.onReady(async (control) => {
        try {
          await this.#serially(() => this.#publishOn(control))
        } catch (err) {
          this.emit('error', err instanceof Error ? err : new Error(String(err)))
          throw err
        }
      }),
      // NEWNYM drops our own key for our onion too: without it the self-check cannot read our descriptor.
      this.#tor.onClientAuthPurged(async (control) => {
        const own = this.#options.ownClientAuth
        if (own !== undefined && this.#onTor) await control.onionClientAuthAdd(this.serviceId, clientAuthPrivateKeyBase64(own.privateKey))
      }),
    )
  }

  /**
   * Replaces the list of authorized clients. Tor cannot change the clients of
   * a running service, so a published service is removed and published again
   * (a gap of about a second in reachability).
   */
  async setAuthorizedClients(keys: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
    this.#authorized = this.#checkedClients(keys)
    if (this.#published) await this.#serially(() => this.#publishOn(this.#tor.control, signal))
  }

  /**
   * Publishes a published service again (DEL_ONION + ADD_ONION): fresh
   * introduction points and descriptors, and tor's per-service limits on
   * rebuilding introduction circuits start over. What brings a service back
   * after an outage: tor on its own left one unreachable for more than 2
   * minutes after its links came back (docs/testnet.md).
   */
  async republish(signal?: AbortSignal): Promise<void> {
    if (this.#published) await this.#serially(() => this.#publishOn(this.#tor.control, signal))
  }

  /**
   * Dials our own `.onion` through our own tor, as a peer would, and succeeds
   * only when the connection opens. Retries, on a fresh circuit, failures tor
   * calls transient (descriptor not found yet, introduction or rendezvous
   * failure) and attempts that got no answer in time, bounded by `timeoutMs`
   * and `maxAttempts`. Attempt n may take `attemptTimeoutMs` × n, at most
   * 30 s: a first dial that hangs is usually stuck on a circuit a new one
   * avoids (live profile: after an outage, the first check hung for its
   * whole 30 s), while a slow network still gets long attempts.
   */
  async selfCheck(options: { timeoutMs?: number; attemptTimeoutMs?: number; maxAttempts?: number; signal?: AbortSignal } = {}): Promise<SelfCheckResult> {
    const timeoutMs = options.timeoutMs ?? 120_000
    const attemptTimeoutMs = options.attemptTimeoutMs ?? MAX_SELF_CHECK_ATTEMPT_MS
    const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
    const started = Date.now()
    const deadline = started + timeoutMs
    let lastError: unknown
    for (let attempt = 1; Date.now() < deadline && attempt <= maxAttempts; attempt++) {
      if (options.signal?.aborted) throw new AbortError('onion self-check')
      try {
        const socket = await dialOnion({
          proxy: this.#tor.socksEndpoint,
          address: this.address,
          port: this.#options.virtualPort,
          // A fresh circuit each attempt: a failed rendezvous must not be reused.
          isolation: `self-check-${randomBytes(8).toString('hex')}`,
          timeoutMs: Math.max(1_000, Math.min(attemptTimeoutMs * attempt, MAX_SELF_CHECK_ATTEMPT_MS, deadline - Date.now())),
          ...(options.signal ? { signal: options.signal } : {}),
        })
        socket.destroy()
        const ms = Date.now() - started
        this.#log.info({ attempts: attempt, ms }, 'onion service self-check passed')
        return { attempts: attempt, ms }
      } catch (err) {
        if (options.signal?.aborted) throw new AbortError('onion self-check')
        lastError = err
        const retryable = (err instanceof SocksReplyError && err.retryable) || err instanceof TimeoutError
        if (!retryable || attempt >= maxAttempts) break
        this.#log.debug({ attempt, reason: err instanceof SocksReplyError ? err.reason : 'timeout' }, 'self-check dial failed; retrying')
        // A quick refusal (no descriptor yet) waits a moment; an attempt that ran out its time has waited already.
        if (!(err instanceof TimeoutError)) await sleep(Math.min(1_000 * attempt, 4_000, Math.max(0, deadline - Date.now())), options.signal)
      }
    }
    throw new TorError('ONION_SELF_CHECK_FAILED', `our own onion service is not reachable through tor: ${lastError instanceof Error ? lastError.message : String(lastError)}`, { cause: lastError })
  }

  /**
   * Withdraws the service from tor (DEL_ONION) with our own client-auth key
   * for it, and stops re-publishing it. Also after a publication that failed
   * half-way: whatever reached tor is taken back. Idempotent.
   */
  async remove(): Promise<void> {
    for (const remove of this.#removeHooks.splice(0)) remove()
    this.#published = false
    if (!this.#onTor) return
    this.#onTor = false
    if (!this.#tor.isReady) return
    const control = this.#tor.control
    await control.delOnion(this.serviceId).catch(ignoreUnknownService)
    if (this.#options.ownClientAuth) await control.onionClientAuthRemove(this.serviceId).catch(ignoreUnknownService)
  }

  /**
   * A copy of `keys`, refused up front when they would not fit in one
   * descriptor: tor would fail the publication only in its log, and the
   * service would be unreachable after a 2-minute wait for uploads.
   *
   * @throws TorError `ONION_TOO_MANY_CLIENTS`
   */
  #checkedClients(keys: readonly Uint8Array[]): Uint8Array[] {
    const total = keys.length + (this.#options.ownClientAuth !== undefined ? 1 : 0)
    if (total > MAX_CLIENTS_PER_ONION) {
      throw new TorError(
        'ONION_TOO_MANY_CLIENTS',
        `an onion service can carry at most ${MAX_CLIENTS_PER_ONION} client authorization keys (ours included), ${total} were given: tor refuses a descriptor over 50,000 bytes`,
      )
    }
    return [...keys]
  }

  #serially(publication: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(publication, publication)
    this.#queue = next.catch(() => {})
    return next
  }

  async #publishOn(control: TorControl, signal?: AbortSignal): Promise<void> {
    const started = Date.now()
    const own = this.#options.ownClientAuth
    const clients = own ? [own.publicKey, ...this.#authorized] : this.#authorized
    if ('path' in this.#options.target) await assertTorRunsAsUs(control)
    // A service with this key may still exist on this connection (re-publication).
    await control.delOnion(this.serviceId).catch(ignoreUnknownService)
    const uploads = waitForUploads(control, this.serviceId, this.#options.publishTimeoutMs ?? 120_000, signal)
    this.#onTor = true
    try {
      const reply = await control.addOnion({
        key: onionShardKeyBlob(this.#options.seed, this.#options.shard ?? 0),
        ports: [{ virtualPort: this.#options.virtualPort, target: this.#target }],
        clientAuthV3: clients.map(clientAuthPublicKeyBase32),
        powDefenses: { enabled: this.#options.powDefenses ?? true },
      })
      if (reply.serviceId !== this.serviceId) {
        throw new TorError('ONION_PUBLISH_FAILED', 'tor published the service under an unexpected address')
      }
    } catch (err) {
      uploads.cancel()
      throw isTorError(err, 'ONION_PUBLISH_FAILED') ? err : new TorError('ONION_PUBLISH_FAILED', `tor refused the onion service: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    if (own) await control.onionClientAuthAdd(this.serviceId, clientAuthPrivateKeyBase64(own.privateKey))
    const count = await uploads.done
    this.#published = true
    const ms = Date.now() - started
    this.#log.info({ uploads: count, ms, clients: clients.length }, 'onion service published')
    this.emit('published', { uploads: count, ms })
  }
}

/**
 * The ADD_ONION target for `target`.
 *
 * @throws TorError `TOR_SOCKET_PATH_UNUSABLE` for a socket path tor cannot take, `ONION_TARGET_NOT_LOOPBACK` for a TCP target off loopback
 */
function onionTarget(target: OnionServiceOptions['target']): string {
  if ('path' in target) return `unix:${assertOnionTargetPath(target.path)}`
  if (!isLoopbackIp(target.host)) throw new TorError('ONION_TARGET_NOT_LOOPBACK')
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`
}

/**
 * A unix socket target lives in a folder only this user can enter, so a tor
 * running as another user (Debian's system tor runs as debian-tor) could
 * never connect to it: say so before publishing, rather than let the
 * self-check time out. Root (either side) is not checked.
 */
async function assertTorRunsAsUs(control: TorControl): Promise<void> {
  const uid = process.getuid?.()
  if (uid === undefined || uid === 0) return
  const torUid = Number((await control.getInfo(['process/uid']))['process/uid'])
  if (!Number.isInteger(torUid) || torUid < 0 || torUid === uid || torUid === 0) return
  throw new TorError(
    'ONION_PUBLISH_FAILED',
    `tor runs as uid ${torUid}, not as this user (uid ${uid}): it cannot reach the onion service's socket in this user's private folder. Run tor as this user, or let Burrow run its own tor`,
  )
}

function ignoreUnknownService(err: unknown): void {
  // 552 "Unknown Onion Service id" / "not found": nothing to remove.
  if (err instanceof TorCommandError && err.status === 552) return
  throw err
}

/** How long without a new UPLOAD before the set of uploads is considered complete. */
const UPLOAD_SETTLE_MS = 750

/**
 * Resolves when every `HS_DESC UPLOAD` for the service has been answered by
 * `UPLOADED` (or `FAILED`) and no new upload started for a short while. At
 * least one must succeed. Dialing after only the first UPLOADED failed with
 * 0xF0 (descriptor not found) in roughly 1 of 4 bring-ups of a fresh private
 * network; after all of them, in 0 of 20.
 */
function waitForUploads(control: TorControl, serviceId: string, timeoutMs: number, signal?: AbortSignal): { done: Promise<number>; cancel: () => void } {
  let cancel = (): void => {}
  const done = new Promise<number>((resolve, reject) => {
    const pending = new Map<string, number>()
    let uploaded = 0
    let failed = 0
    let settleTimer: NodeJS.Timeout | undefined
    const finish = (err?: Error): void => {
      clearTimeout(settleTimer)
      clearTimeout(overall)
      control.off('HS_DESC', onEvent)
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(uploaded)
    }
    const check = (): void => {
      clearTimeout(settleTimer)
      const outstanding = [...pending.values()].reduce((a, b) => a + b, 0)
      if (uploaded > 0 && outstanding === 0) settleTimer = setTimeout(() => finish(), UPLOAD_SETTLE_MS)
    }
    const onEvent = (ev: HsDescEvent): void => {
      if (ev.address !== serviceId) return
      if (ev.action === 'UPLOAD') {
        pending.set(ev.hsDir, (pending.get(ev.hsDir) ?? 0) + 1)
      } else if (ev.action === 'UPLOADED' || ev.action === 'FAILED') {
        const n = pending.get(ev.hsDir) ?? 0
        if (n > 0) pending.set(ev.hsDir, n - 1)
        if (ev.action === 'UPLOADED') uploaded++
        else failed++
      } else {
        return
      }
      check()
    }
    const onAbort = (): void => finish(new AbortError('onion publication'))
    const overall = setTimeout(() => {
      // Some directories never answering is normal on the real network: one upload is enough to be found.
      if (uploaded > 0) finish()
      else finish(new TorError('ONION_PUBLISH_FAILED', `no descriptor upload succeeded within ${timeoutMs} ms (${failed} failed)`))
    }, timeoutMs)
    cancel = () => finish(new AbortError('onion publication'))
    control.on('HS_DESC', onEvent)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
  done.catch(() => {})
  return { done, cancel }
}
