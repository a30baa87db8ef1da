import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { silentLogger, type Logger } from '../logging.js'
import { sleep } from '../util/async.js'
import { freeLoopbackPort } from '../util/net.js'
import { TestnetError } from './errors.js'
import { createAuthorityKeys, createRelayIdentity } from './keys.js'
import { LinkControl, linkControlSocketPath, spawnLinkEmulator } from './link-control.js'
import { findExecutable, isAlive, isLinkEmulatorOf, isTorOf, spawnDetachedTor, terminateLinkEmulator, terminateTors, torLogTail } from './process.js'
import { LIVE_LINKS, type LinkProfile, type TestnetProfileName } from './profile.js'
import { fetchConsensusRouters, waitUntilReady } from './readiness.js'
import { readState, stateFile, writeState, type TestnetNode, type TestnetState } from './state.js'
import { clientTorrcLines, dirAuthorityLine, nodeTorrc } from './torrc.js'

/** Options of {@link startTestnet}. */
export interface TestnetOptions {
  /** Directory of the network (created 0700); holds `state.json`, `join.torrc` and one folder per tor under `nodes/`. */
  dir: string
  /** Directory authorities (also relays); default 3. */
  authorities?: number
  /** Non-exit relays besides the authorities; default 3. */
  relays?: number
  /**
   * `fast` (default): bare loopback. `live`: every OR and directory
   * connection passes a link emulator shaped like the live Tor network
   * ({@link LIVE_LINKS}); drop and stall links through {@link Testnet.links}.
   */
  profile?: TestnetProfileName
  /** Live profile: link parameters other than {@link LIVE_LINKS} (for experiments and calibration). */
  links?: LinkProfile
  /** The tor binary; default `tor` on PATH, else `/usr/sbin/tor`. */
  torPath?: string
  /** Bound on the whole bring-up; default 120 000 ms. */
  readyTimeoutMs?: number
  /**
   * When set, every tor exits on its own once this process is gone (tor polls
   * it). A test run passes its own PID so a killed runner leaks no network;
   * the CLI leaves it unset so the network outlives `up`.
   */
  ownerPid?: number
  logger?: Logger
  /** Human-readable progress lines (the CLI prints them). */
  onProgress?: (msg: string) => void
}

/** Status of a network as seen from its `state.json` and `/proc`. */
export interface TestnetStatus {
  /** True when a state file exists and every recorded tor is alive. */
  running: boolean
  nodes: { nickname: string; pid: number; alive: boolean }[]
  /** Routers in the consensus an authority serves now; absent when none answered. */
  consensusRelays?: number
  /** Absent when there is no network. */
  profile?: TestnetProfileName
  /** Live profile: the link emulator process. */
  emulator?: { pid: number; alive: boolean }
}

/** Fewer relay-type tors than this and clients stay at 95 % ("No available nodes"). */
const MIN_RELAY_TYPE_NODES = 4
const DEFAULT_READY_TIMEOUT_MS = 120_000
const RESTART_TIMEOUT_MS = 60_000

/** A running private Tor network on 127.0.0.1. Obtain one from {@link startTestnet} or {@link loadTestnet}. */
export class Testnet {
  /** The recorded state; node PIDs change when a relay is restarted. */
  readonly state: TestnetState
  /** Absolute directory of the network. */
  readonly dir: string

  /** Wraps a state read from or about to be written to `state.json`. */
  constructor(state: TestnetState) {
    this.state = state
    this.dir = state.dir
  }

  /** One `DirAuthority` line per authority, for any torrc that joins this network. */
  get dirAuthorityLines(): string[] {
    return [...this.state.dirAuthorityLines]
  }

  /** File with the torrc lines a client needs to join (see {@link clientTorrcLines}). */
  get joinFile(): string {
    return this.state.joinFile
  }

  /** How the network's links behave. */
  get profile(): TestnetProfileName {
    return this.state.profile
  }

  /** Drops, stalls and restores links (live profile only; throws `TESTNET_LINK_CONTROL` on the fast one). */
  get links(): LinkControl {
    return new LinkControl(this.state)
  }

  /** Stops every tor of the network (see {@link stopTestnet}). */
  stop(): Promise<void> {
    return stopTestnet(this.dir)
  }
}

/**
 * Creates keys and torrcs, starts the authorities and relays as detached
 * processes (they outlive the caller; `state.json` records their PIDs) and
 * waits until clients can bootstrap against the network. On any failure it
 * stops what it started and throws {@link TestnetError}.
 *
 * Ports come from {@link freeLoopbackPort} and are released before tor binds
 * them; a racing process could take one, which shows as `TESTNET_START_FAILED`.
 */
export async function startTestnet(opts: TestnetOptions): Promise<Testnet> {
  const authorities = opts.authorities ?? 3
  const relays = opts.relays ?? 3
  if (!Number.isInteger(authorities) || !Number.isInteger(relays) || authorities < 1 || relays < 0) {
    throw new TestnetError('TESTNET_START_FAILED', 'need at least one authority and a non-negative number of relays')
  }
  if (authorities + relays < MIN_RELAY_TYPE_NODES) {
    throw new TestnetError('TESTNET_START_FAILED', `need at least ${MIN_RELAY_TYPE_NODES} authorities and relays together; with fewer, clients never bootstrap`)
  }
  const profile = opts.profile ?? 'fast'
  const logger = opts.logger ?? silentLogger
  const progress = (msg: string): void => {
    logger.info({ testnet: opts.dir }, msg)
    opts.onProgress?.(msg)
  }
  const deadline = Date.now() + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)
  const dir = resolve(opts.dir)
  const torPath = findExecutable('tor', opts.torPath, ['/usr/sbin/tor'])
  const controlSocket = profile === 'live' ? linkControlSocketPath(dir) : undefined
  prepareDir(dir)

  const nodes = await planNodes(dir, authorities, relays, profile)
  progress(`creating keys for ${authorities} authorities and ${relays} relays`)
  await Promise.all(nodes.map((n) => createKeys(torPath, n)))
  const dirAuthorityLines = nodes.flatMap((n) =>
    n.role === 'authority' && n.dirPort !== undefined && n.v3ident !== undefined ? [dirAuthorityLine({ ...n, dirPort: n.dirPort, v3ident: n.v3ident })] : [],
  )
  const state: TestnetState = { dir, createdAt: new Date().toISOString(), nodes, dirAuthorityLines, joinFile: join(dir, 'join.torrc'), torPath, profile }
  if (profile === 'live') state.links = opts.links ?? LIVE_LINKS
  if (opts.ownerPid !== undefined) state.ownerPid = opts.ownerPid
  for (const n of nodes) writeFileSync(torrcPath(n), nodeTorrc(n, dirAuthorityLines, opts.ownerPid), { mode: 0o600 })
  writeFileSync(state.joinFile, `${clientTorrcLines(state).join('\n')}\n`, { mode: 0o644 })
  writeState(state)

  try {
    if (controlSocket !== undefined) {
      // Before any tor: a tor that finds an advertised port closed backs off and slows the bring-up.
      progress('starting the link emulator')
      state.emulator = { pid: await spawnLinkEmulator(state, controlSocket), controlSocket }
      writeState(state)
    }
    progress(`starting ${nodes.length} tor processes`)
    for (const n of nodes) {
      n.pid = spawnDetachedTor(torPath, torrcPath(n), n.dataDir)
      // Recorded after every spawn so `down` finds whatever did start if we die here.
      writeState(state)
    }
    await waitUntilReady(state, { deadline, logger, progress })
  } catch (err) {
    await stopTestnet(dir)
    if (err instanceof TestnetError) throw err
    throw new TestnetError('TESTNET_START_FAILED', `test network did not start: ${String(err)}`, { cause: err })
  }
  progress('test network ready')
  return new Testnet(state)
}

/** Creates `dir` (0700) and clears what an earlier, stopped network left there; refuses if one still runs. */
function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (existsSync(stateFile(dir))) {
    const old = readState(dir)
    if (old.nodes.some((n) => isTorOf(n.pid, dir)) || (old.emulator !== undefined && isLinkEmulatorOf(old.emulator.pid, dir))) {
      throw new TestnetError('TESTNET_START_FAILED', `a test network is already running in ${dir}; stop it first`)
    }
    rmSync(stateFile(dir))
  }
  rmSync(join(dir, 'nodes'), { recursive: true, force: true })
  mkdirSync(join(dir, 'nodes'), { mode: 0o700 })
}

async function planNodes(dir: string, authorities: number, relays: number, profile: TestnetProfileName): Promise<TestnetNode[]> {
  const taken = new Set<number>()
  const port = async (): Promise<number> => {
    // The kernel rarely hands out the same ephemeral port twice in a row; the bound keeps this loop finite anyway.
    for (let attempt = 0; attempt < 20; attempt++) {
      const p = await freeLoopbackPort()
      if (!taken.has(p)) {
        taken.add(p)
        return p
      }
    }
    throw new TestnetError('TESTNET_START_FAILED', 'could not find distinct free ports on 127.0.0.1')
  }
  const nodes: TestnetNode[] = []
  for (let i = 1; i <= authorities + relays; i++) {
    const role = i <= authorities ? 'authority' : 'relay'
    const nickname = role === 'authority' ? `auth${i}` : `relay${i - authorities}`
    const dataDir = join(dir, 'nodes', nickname)
    mkdirSync(dataDir, { mode: 0o700 })
    const orPort = await port()
    const node: TestnetNode = { nickname, role, pid: 0, orPort, dataDir, fingerprint: '' }
    if (role === 'authority') node.dirPort = await port()
    if (profile === 'live') {
      node.internalOrPort = await port()
      if (role === 'authority') node.internalDirPort = await port()
    }
    nodes.push(node)
  }
  return nodes
}

async function createKeys(torPath: string, node: TestnetNode): Promise<void> {
  node.fingerprint = await createRelayIdentity(torPath, node.dataDir)
  if (node.role === 'authority' && node.dirPort !== undefined) node.v3ident = await createAuthorityKeys(torPath, node.dataDir, node.dirPort)
}

function torrcPath(node: Pick<TestnetNode, 'dataDir'>): string {
  return join(node.dataDir, 'torrc')
}

/** Opens the network recorded in `<dir>/state.json`; throws `TESTNET_NOT_FOUND` if there is none. */
export function loadTestnet(dir: string): Testnet {
  return new Testnet(readState(resolve(dir)))
}

/** Which recorded tors are alive, and how many routers the consensus lists right now. */
export async function testnetStatus(dir: string): Promise<TestnetStatus> {
  let state: TestnetState
  try {
    state = readState(resolve(dir))
  } catch (err) {
    if (err instanceof TestnetError && err.code === 'TESTNET_NOT_FOUND') return { running: false, nodes: [] }
    throw err
  }
  const nodes = state.nodes.map((n) => ({ nickname: n.nickname, pid: n.pid, alive: isTorOf(n.pid, state.dir) }))
  const routers = await fetchConsensusRouters(state.nodes.filter((n) => isTorOf(n.pid, state.dir)))
  const emulator = state.emulator === undefined ? undefined : { pid: state.emulator.pid, alive: isLinkEmulatorOf(state.emulator.pid, state.dir) }
  const status: TestnetStatus = { running: nodes.length > 0 && nodes.every((n) => n.alive) && emulator?.alive !== false, nodes, profile: state.profile }
  if (emulator !== undefined) status.emulator = emulator
  if (routers !== undefined) status.consensusRelays = routers.length
  return status
}

/**
 * Stops the network in `dir`: SIGTERM to each recorded PID that is still a
 * tor (or the link emulator) of this directory, a bounded wait, SIGKILL for
 * leftovers, then removes `state.json`. Does nothing when there is no state file. Data directories
 * (with the tors' logs) stay for inspection.
 */
export async function stopTestnet(dir: string): Promise<void> {
  const abs = resolve(dir)
  if (!existsSync(stateFile(abs))) return
  const state = readState(abs)
  await terminateTors(state.nodes.map((n) => n.pid), state.dir)
  if (state.emulator !== undefined) await terminateLinkEmulator(state.emulator.pid, state.dir)
  rmSync(stateFile(abs), { force: true })
}

function nodeOf(t: Testnet, nickname: string): TestnetNode {
  const node = t.state.nodes.find((n) => n.nickname === nickname)
  if (node === undefined) throw new TestnetError('TESTNET_NOT_FOUND', `no tor named ${nickname} in the test network at ${t.dir}`)
  return node
}

/** Stops one relay (or authority) of the network by PID, keeping its DataDirectory for {@link startRelay}. */
export async function stopRelay(t: Testnet, nickname: string): Promise<void> {
  const node = nodeOf(t, nickname)
  await terminateTors([node.pid], t.dir)
}

/**
 * Starts a stopped relay (or authority) again with its kept DataDirectory and
 * records the new PID in `state.json`. Resolves once its log reports
 * "Bootstrapped 100%"; a no-op if it is running.
 */
export async function startRelay(t: Testnet, nickname: string): Promise<void> {
  const node = nodeOf(t, nickname)
  if (isTorOf(node.pid, t.dir)) return
  const torPath = findExecutable('tor', t.state.torPath, ['/usr/sbin/tor'])
  const log = join(node.dataDir, 'notice.log')
  const offset = existsSync(log) ? statSync(log).size : 0
  node.pid = spawnDetachedTor(torPath, torrcPath(node), node.dataDir)
  writeState(t.state)
  const deadline = Date.now() + RESTART_TIMEOUT_MS
  for (;;) {
    if (!isAlive(node.pid)) {
      throw new TestnetError('TESTNET_START_FAILED', `tor ${nickname} exited on restart; its log ends:\n${torLogTail(node.dataDir)}`)
    }
    if (existsSync(log) && readFileSync(log).subarray(offset).toString('utf8').includes('Bootstrapped 100%')) return
    if (Date.now() >= deadline) {
      throw new TestnetError('TESTNET_NOT_READY', `tor ${nickname} did not bootstrap within ${RESTART_TIMEOUT_MS} ms of a restart; its log ends:\n${torLogTail(node.dataDir)}`)
    }
    await sleep(200)
  }
}
