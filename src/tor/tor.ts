import { EventEmitter } from 'node:events'
import type { Logger } from '../logging.js'
import { silentLogger } from '../logging.js'
import { AbortError, BurrowError } from '../errors.js'
import { backoffDelay, sleep } from '../util/async.js'
import { isLoopbackIp } from '../util/net.js'
import { splitArgs, TorControl, type AuthOptions, type ControlEndpoint } from './control/index.js'
import type { SocksEndpoint } from './socks.js'
import { waitForBootstrap, type BootstrapLimits, type BootstrapProgress } from './bootstrap.js'
import { isTorError, TorError } from './errors.js'
import type { LaunchedTor, TorExit, TorLauncher } from './launcher.js'
import { serviceIdOf, type OnionAddress } from './onion-address.js'
import { ManagedTorLauncher, type ManagedTorOptions } from './managed.js'
import { AttachedTorLauncher, type AttachedTorOptions } from './attached.js'
import { NetworkWatch } from './network-watch.js'

/** Lifecycle of a {@link Tor}. */
export type TorState = 'idle' | 'starting' | 'ready' | 'recovering' | 'stopping' | 'stopped' | 'failed'

/** Events a {@link Tor} emits. */
export interface TorEvents {
  /** Bootstrap moved on (0–100 %). Emitted during the first start and every restart. */
  bootstrap: [BootstrapProgress]
  /** Bootstrapped to 100 % with a circuit established. */
  ready: []
  /** The watchdog saw no bootstrap progress for `stallMs`; tor is restarted. */
  stalled: [TorError]
  /** The tor process exited, or the control connection was lost, while Burrow still needed it. */
  lost: [{ reason: string; exit?: TorExit }]
  /** A new attempt follows after `delayMs`. */
  restarting: [{ attempt: number; delayMs: number; reason: string }]
  /** Supervision gave up; the Tor object is unusable. */
  failed: [Error]
  /** Tor cannot reach the network: its circuits and relay connections fail, or get no answer, none succeeding (see {@link NetworkWatch}). */
  offline: []
  /** Tor reaches the network again after `offline`. */
  online: [{ offlineMs: number }]
}

/** Runs on every transition to ready, with the new control connection: how onion services are re-created after a restart. */
export type ReadyHook = (control: TorControl) => Promise<void>

/** Supervision settings shared by managed and attached tor. */
export interface SupervisionOptions {
  /** Bootstrap watchdog and overall limit. Defaults: stall 120 s, timeout 600 s. */
  bootstrap?: Partial<BootstrapLimits>
  /** Attempts in a row before giving up (the first start included). Default 6. */
  maxAttempts?: number
  /** Backoff between attempts: base and cap. Defaults 1 s and 30 s. */
  backoffBaseMs?: number
  backoffMaxMs?: number
  logger?: Logger
}

interface Session {
  launched: LaunchedTor
  control?: TorControl
  socks?: SocksEndpoint
  network?: NetworkWatch
}

const REFETCH_INTERVAL_MS = 10_000
/** Tor runs at most one NEWNYM per 10 s (`MAX_SIGNEWNYM_RATE`) and delays the next. */
const NEWNYM_INTERVAL_MS = 10_000

// Errors that another attempt cannot fix.
function isFatal(err: unknown): boolean {
  return isTorError(err, 'TOR_NOT_FOUND', 'TOR_AUTH_FAILED', 'TOR_SOCKET_PATH_UNUSABLE', 'TORRC_INVALID') || err instanceof AbortError
}

function describe(err: unknown): string {
  return err instanceof BurrowError ? `${err.code}: ${err.message.split('\n')[0]}` : String(err)
}

/**
 * Burrow's tor: started (or attached to), bootstrapped, watched, and brought
 * back after a crash. One long-lived control connection per tor process.
 *
 * Use {@link Tor.managed} to have Burrow run its own tor, or {@link Tor.attach}
 * for a tor the user already runs.
 */
export class Tor extends EventEmitter<TorEvents> {
  readonly #launcher: TorLauncher
  readonly #limits: BootstrapLimits
  readonly #maxAttempts: number
  readonly #backoffBase: number
  readonly #backoffMax: number
  readonly #log: Logger
  readonly #hooks = new Set<ReadyHook>()
  readonly #purgeHooks = new Set<ReadyHook>()
  #lastNewnym = 0
  #state: TorState = 'idle'
  #session: Session | undefined
  #lifetime = new AbortController()
  #recovery: Promise<void> | undefined
  /** Set when shutdown has begun: a loss from then on is final. */
  #retiring = false
  #lastBootstrap: BootstrapProgress = { progress: 0, tag: '', summary: '' }
  readonly #lastRefetch = new Map<string, number>()

  constructor(launcher: TorLauncher, options: SupervisionOptions = {}) {
    super()
    this.#launcher = launcher
    this.#limits = { stallMs: options.bootstrap?.stallMs ?? 120_000, timeoutMs: options.bootstrap?.timeoutMs ?? 600_000 }
    this.#maxAttempts = options.maxAttempts ?? 6
    this.#backoffBase = options.backoffBaseMs ?? 1_000
    this.#backoffMax = options.backoffMaxMs ?? 30_000
    this.#log = options.logger ?? silentLogger
  }

  /** A tor that Burrow spawns and supervises itself. Throws `TOR_NOT_FOUND` if there is no tor binary. */
  static managed(options: ManagedTorOptions & SupervisionOptions): Tor {
    return new Tor(new ManagedTorLauncher(options), options)
  }

  /** A tor the user already runs, reached through its control port. */
  static attach(options: AttachedTorOptions & SupervisionOptions): Tor {
    return new Tor(new AttachedTorLauncher(options), options)
  }

  get state(): TorState {
    return this.#state
  }

  get isReady(): boolean {
    return this.#state === 'ready'
  }

  /** The latest bootstrap progress seen. */
  get bootstrapProgress(): BootstrapProgress {
    return this.#lastBootstrap
  }

  /** PID of the tor process, when Burrow runs it. */
  get pid(): number | undefined {
    return this.#session?.launched.pid
  }

  /** Where this tor's control port is and how to authenticate: enough for another controller to attach. Throws unless ready. */
  get controlAccess(): { control: ControlEndpoint; auth: AuthOptions } {
    const launched = this.#session?.launched
    if (this.#state !== 'ready' || launched === undefined) throw new TorError('TOR_NOT_RUNNING', 'tor control: tor is not running')
    return { control: launched.control, auth: launched.auth }
  }

  /** The live control connection. Throws `TOR_NOT_RUNNING` unless ready. */
  get control(): TorControl {
    const control = this.#session?.control
    if (this.#state !== 'ready' || control === undefined) throw new TorError('TOR_NOT_RUNNING', 'tor control: tor is not running')
    return control
  }

  /** Where tor's SOCKS listener is (a unix socket for a managed tor; a unix socket or loopback port otherwise). Throws `TOR_NOT_RUNNING` unless ready. */
  get socksEndpoint(): SocksEndpoint {
    const socks = this.#session?.socks
    if (this.#state !== 'ready' || socks === undefined) throw new TorError('TOR_NOT_RUNNING', 'tor SOCKS port: tor is not running')
    return socks
  }

  /**
   * Asks tor to fetch an onion service's descriptor afresh (HSFETCH). After a
   * peer's tor restarts or its service is re-published, our tor may still hold
   * the old descriptor and keep trying dead introduction points; a fresh
   * descriptor (newer revision) replaces it. At most once per 10 s per address.
   */
  async refetchDescriptor(address: OnionAddress): Promise<void> {
    const now = Date.now()
    if ((this.#lastRefetch.get(address) ?? 0) > now - REFETCH_INTERVAL_MS) return
    this.#lastRefetch.set(address, now)
    await this.control.command(`HSFETCH ${serviceIdOf(address)}`)
  }

  /** True while tor fails to reach the Tor network (between `offline` and `online`). */
  get offline(): boolean {
    return this.#session?.network?.offline ?? false
  }

  /**
   * After a sleep or a network outage: wakes tor if it went dormant (`SIGNAL
   * ACTIVE`) and makes it start afresh (`SIGNAL NEWNYM`): new circuits for new
   * streams, and its onion-service client state purged — cached descriptors
   * and the introduction points it marked failed. Without the purge, tor
   * keeps refusing a peer's intro points it could not reach during an outage
   * for up to 2 minutes (`HS_CACHE_CLIENT_INTRO_STATE_MAX_AGE`; measured in
   * docs/testnet.md).
   *
   * NEWNYM also drops every client-auth key added without `Permanent`
   * (tor's `hs_client_purge_state`): the hooks of {@link onClientAuthPurged}
   * add them again (seen on the live profile: after a wake, every dial to a
   * peer failed with `onion-client-auth-missing` until they did). Tor runs
   * at most one NEWNYM per 10 s and would delay a second one, purging the
   * keys after they were added again; so a second call within 10 s waits.
   *
   * On a tor the user runs (attach mode), only `ACTIVE` is sent: a NEWNYM
   * would also drop the client-auth keys of the user's other applications.
   */
  async freshStart(signal?: AbortSignal): Promise<void> {
    const wait = this.#lastNewnym + NEWNYM_INTERVAL_MS - Date.now()
    if (wait > 0) await sleep(wait, signal)
    const control = this.control
    await control.signal('ACTIVE')
    if (this.#session?.launched.owned !== true) return
    this.#lastNewnym = Date.now()
    await control.signal('NEWNYM')
    const results = await Promise.allSettled([...this.#purgeHooks].map((hook) => hook(control)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** Registers a hook run after {@link freshStart} made tor drop its client-auth keys (to add them again). Returns its removal. */
  onClientAuthPurged(hook: ReadyHook): () => void {
    this.#purgeHooks.add(hook)
    return () => this.#purgeHooks.delete(hook)
  }

  /** Registers a hook run at every later transition to ready (after a restart). Returns its removal. */
  onReady(hook: ReadyHook): () => void {
    this.#hooks.add(hook)
    return () => this.#hooks.delete(hook)
  }

  /**
   * Starts (or attaches to) tor and resolves once it is bootstrapped with a
   * circuit. A stalled bootstrap or an early crash is retried with backoff up
   * to `maxAttempts`; a missing binary or failed authentication is not.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'idle') throw new TorError('TOR_ALREADY_STARTED', `tor cannot start from state ${this.#state}`)
    this.#state = 'starting'
    const onAbort = (): void => this.#lifetime.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await this.#establishWithRetries(false)
    } catch (err) {
      this.#state = 'failed'
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Marks the start of a shutdown that still needs the control connection
   * (to take back onion services and keys) before {@link stop}: from now on a
   * tor that dies or hangs up is not restarted, and no `lost` is emitted.
   */
  stopSupervising(): void {
    this.#retiring = true
  }

  /** Stops supervision and, for a managed tor, the tor process. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#retiring = true
    this.#state = 'stopping'
    this.#lifetime.abort()
    await this.#recovery?.catch(() => {})
    await this.#teardown()
    this.#state = 'stopped'
  }

  async #establishWithRetries(afterLoss: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#establish(afterLoss)
        return
      } catch (err) {
        await this.#teardown()
        if (isTorError(err, 'TOR_BOOTSTRAP_STALLED')) this.emit('stalled', err)
        if (this.#lifetime.signal.aborted) throw new AbortError('tor start')
        if (isFatal(err)) throw err
        if (attempt + 1 >= this.#maxAttempts) throw new TorError('TOR_SUPERVISION_FAILED', `tor failed ${attempt + 1} times in a row; giving up`, { cause: err })
        const delayMs = backoffDelay(attempt, this.#backoffBase, this.#backoffMax)
        const reason = describe(err)
        this.#log.warn({ attempt: attempt + 1, delayMs, reason }, 'tor attempt failed; retrying')
        this.emit('restarting', { attempt: attempt + 1, delayMs, reason })
        await sleep(delayMs, this.#lifetime.signal)
      }
    }
  }

  async #establish(afterLoss: boolean): Promise<void> {
    const signal = this.#lifetime.signal
    const launched = await this.#launcher.launch(signal)
    const session: Session = { launched }
    this.#session = session
    this.#log.info({ pid: launched.pid, owned: launched.owned }, 'tor launched; connecting to its control port')

    const control = await TorControl.connect(launched.control, { logger: this.#log, signal })
    session.control = control
    await control.authenticate(launched.auth)
    if (launched.owned) await control.takeOwnership()
    // CIRC and ORCONN feed the NetworkWatch: a few lines per circuit, which tor builds a handful of a minute.
    await control.setEvents(['STATUS_CLIENT', 'HS_DESC', 'CIRC', 'ORCONN'])
    session.socks = launched.socks ?? (await socksListener(control))

    await waitForBootstrap(
      control,
      this.#limits,
      (p) => {
        this.#lastBootstrap = p
        this.emit('bootstrap', p)
      },
      signal,
    )
    if (this.#session !== session) throw new TorError('TOR_START_FAILED', 'tor session replaced during bootstrap')

    this.#watch(session)
    this.#state = 'ready'
    if (afterLoss) {
      const results = await Promise.allSettled([...this.#hooks].map((hook) => hook(control)))
      for (const r of results) {
        if (r.status === 'rejected') this.#log.warn({ reason: describe(r.reason) }, 'a ready hook failed after tor restart')
      }
    }
    this.#log.info({ pid: launched.pid }, 'tor ready')
    this.emit('ready')
  }

  #watch(session: Session): void {
    if (session.control !== undefined) {
      const network = new NetworkWatch(session.control)
      session.network = network
      network.on('offline', ({ reason }) => {
        this.#log.warn({ reason }, 'tor cannot reach the Tor network')
        this.emit('offline')
      })
      network.on('online', (e) => {
        this.#log.info(e, 'tor reaches the Tor network again')
        this.emit('online', e)
      })
    }
    const lost = (reason: string, exit?: TorExit): void => {
      if (this.#session !== session || this.#state !== 'ready') return
      if (this.#retiring) {
        // Shutting down: a restarted tor would only be killed again (and a user's Ctrl-C reads as a crash).
        this.#state = 'stopping'
        this.#log.debug({ reason }, 'tor gone while stopping; not recovering')
        return
      }
      this.#state = 'recovering'
      this.#log.warn({ reason, exit }, 'tor lost; recovering')
      this.emit('lost', exit === undefined ? { reason } : { reason, exit })
      this.#recovery = this.#teardown()
        .then(() => this.#establishWithRetries(true))
        .catch((err: unknown) => {
          if (this.#lifetime.signal.aborted) return
          this.#state = 'failed'
          this.#log.error({ reason: describe(err) }, 'tor supervision gave up')
          this.emit('failed', err instanceof Error ? err : new Error(String(err)))
        })
    }
    session.control?.once('close', (err?: Error) => lost(err ? `control connection lost: ${describe(err)}` : 'control connection closed'))
    void session.launched.exited.then((exit) => lost(`tor exited (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'})`, exit))
  }

  async #teardown(): Promise<void> {
    const session = this.#session
    this.#session = undefined
    if (session === undefined) return
    session.network?.close()
    await session.control?.close().catch(() => {})
    await session.launched.kill()
  }
}

/**
 * Reads the SOCKS listener of a tor Burrow did not configure from GETINFO;
 * refuses anything but a unix socket or loopback. Tor answers with quoted,
 * escaped entries:
 *
 * ```
 * 250-net/listeners/socks="127.0.0.1:9050" "unix:/run/tor/socks"
 * ```
 */
async function socksListener(control: TorControl): Promise<SocksEndpoint> {
  const info = await control.getInfo(['net/listeners/socks'])
  for (const { value } of splitArgs(info['net/listeners/socks'] ?? '')) {
    if (value.startsWith('unix:')) return { path: value.slice('unix:'.length) }
    const match = value.match(/^\[?([0-9a-fA-F:.]+)\]?:(\d+)$/)
    if (match?.[1] !== undefined && match[2] !== undefined && isLoopbackIp(match[1])) return { host: match[1], port: Number(match[2]) }
  }
  throw new TorError('TOR_START_FAILED', 'tor has no SOCKS listener on a unix socket or loopback; Burrow needs one (SocksPort unix:… or 127.0.0.1:…)')
}
