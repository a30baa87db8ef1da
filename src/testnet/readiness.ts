import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../logging.js'
import { sleep } from '../util/async.js'
import { microdescDigests, parseMicrodescConsensus, type ConsensusRouter } from './consensus.js'
import { CONSENSUS_PATH, fetchFromDirPort } from './dirport.js'
import { TestnetError } from './errors.js'
import { isAlive, signalTor, torLogTail } from './process.js'
import type { TestnetNode, TestnetState } from './state.js'

const POLL_MS = 500
const FETCH_TIMEOUT_MS = 5_000
/** How long after the full consensus a relay may lack microdescriptors before it is nudged. */
const HUP_AFTER_MS = 2_000
const HUP_REPEAT_MS = 5_000

/** Progress of a network towards readiness, computed from one consensus and the relays' caches. */
export interface ReadinessAssessment {
  /** Nodes the consensus does not list with the HSDir flag. */
  missingFromConsensus: string[]
  /** Nodes whose microdescriptor cache lacks some router of the consensus. */
  lackingMicrodescs: string[]
}

/**
 * Judges readiness: every node is in `routers` with HSDir, and every node's
 * cache (`cachedDigests(node)`) holds the microdescriptor of every listed
 * router. Without the second condition a client may pick a relay as its
 * directory guard that cannot yet serve it all onion keys, and stall at 95 %.
 */
export function assessReadiness(
  nodes: readonly TestnetNode[],
  routers: readonly ConsensusRouter[],
  cachedDigests: (node: TestnetNode) => ReadonlySet<string>,
): ReadinessAssessment {
  const hsdirs = new Set(routers.filter((r) => r.flags.includes('HSDir')).map((r) => r.fingerprint))
  const missingFromConsensus = nodes.filter((n) => !hsdirs.has(n.fingerprint)).map((n) => n.nickname)
  const wanted = routers.flatMap((r) => (r.microdescDigest === undefined ? [] : [r.microdescDigest]))
  const lackingMicrodescs =
    missingFromConsensus.length > 0
      ? []
      : nodes.filter((n) => {
          const have = cachedDigests(n)
          return !wanted.every((d) => have.has(d))
        }).map((n) => n.nickname)
  return { missingFromConsensus, lackingMicrodescs }
}

/** Digests of the microdescriptors a tor holds in its DataDirectory (main cache and journal). */
export function cachedMicrodescDigests(dataDir: string): Set<string> {
  const all = new Set<string>()
  for (const file of ['cached-microdescs', 'cached-microdescs.new']) {
    const path = join(dataDir, file)
    if (!existsSync(path)) continue
    for (const d of microdescDigests(readFileSync(path, 'utf8'))) all.add(d)
  }
  return all
}

/**
 * Fetches and parses the consensus from the first authority that serves one;
 * `undefined` if none does yet. Asks the port tor binds, past the link
 * emulator: this is our bookkeeping, not traffic of the network.
 */
export async function fetchConsensusRouters(nodes: readonly TestnetNode[]): Promise<ConsensusRouter[] | undefined> {
  for (const node of nodes) {
    const dirPort = node.internalDirPort ?? node.dirPort
    if (dirPort === undefined || !isAlive(node.pid)) continue
    const text = await fetchFromDirPort(dirPort, CONSENSUS_PATH, FETCH_TIMEOUT_MS)
    if (text !== undefined) return parseMicrodescConsensus(text)
  }
  return undefined
}

/** Options of {@link waitUntilReady}. */
export interface WaitReadyOptions {
  deadline: number
  logger: Logger
  progress: (msg: string) => void
}

/**
 * Waits until the network in `state` is ready for clients (see
 * {@link assessReadiness}), sending SIGHUP to relays that still lack
 * microdescriptors 2 s after the full consensus (that resets tor's download
 * back-off). Throws `TESTNET_START_FAILED` as soon as a tor exits and
 * `TESTNET_NOT_READY` at the deadline, each with the tail of the culprit's log.
 */
export async function waitUntilReady(state: TestnetState, opts: WaitReadyOptions): Promise<void> {
  let fullConsensusAt: number | undefined
  const lastHup = new Map<string, number>()
  let last: ReadinessAssessment | undefined
  for (;;) {
    const dead = state.nodes.find((n) => !isAlive(n.pid))
    if (dead !== undefined) {
      throw new TestnetError('TESTNET_START_FAILED', `tor ${dead.nickname} exited during start-up; its log ends:\n${torLogTail(dead.dataDir)}`)
    }
    const routers = await fetchConsensusRouters(state.nodes)
    const now = Date.now()
    if (routers !== undefined) {
      const assessment = assessReadiness(state.nodes, routers, (n) => cachedMicrodescDigests(n.dataDir))
      if (assessment.missingFromConsensus.length === 0) {
        if (fullConsensusAt === undefined) {
          fullConsensusAt = now
          opts.progress(`consensus lists all ${state.nodes.length} relays as HSDirs`)
        }
        if (assessment.lackingMicrodescs.length === 0) return
        if (now - fullConsensusAt >= HUP_AFTER_MS) nudge(state, assessment.lackingMicrodescs, lastHup, now, opts)
      }
      last = assessment
    }
    if (now >= opts.deadline) throw notReady(state, last)
    await sleep(Math.min(POLL_MS, Math.max(0, opts.deadline - now)))
  }
}

function nudge(state: TestnetState, nicknames: readonly string[], lastHup: Map<string, number>, now: number, opts: WaitReadyOptions): void {
  for (const nickname of nicknames) {
    if (now - (lastHup.get(nickname) ?? 0) < HUP_REPEAT_MS) continue
    const node = state.nodes.find((n) => n.nickname === nickname)
    if (node === undefined || !signalTor(node.pid, state.dir, 'SIGHUP')) continue
    lastHup.set(nickname, now)
    opts.logger.debug({ nickname }, 'testnet: SIGHUP to relay lacking microdescriptors')
    opts.progress(`${nickname} still lacks microdescriptors: sent SIGHUP`)
  }
}

function notReady(state: TestnetState, last: ReadinessAssessment | undefined): TestnetError {
  if (last === undefined) {
    const auth = state.nodes.find((n) => n.role === 'authority')
    const tail = auth === undefined ? '' : `; ${auth.nickname}'s log ends:\n${torLogTail(auth.dataDir)}`
    return new TestnetError('TESTNET_NOT_READY', `no authority served a consensus in time${tail}`)
  }
  const culprit = last.missingFromConsensus[0] ?? last.lackingMicrodescs[0]
  const node = state.nodes.find((n) => n.nickname === culprit)
  const what =
    last.missingFromConsensus.length > 0
      ? `consensus lacks HSDir entries for ${last.missingFromConsensus.join(', ')}`
      : `relays lacking microdescriptors: ${last.lackingMicrodescs.join(', ')}`
  const tail = node === undefined ? '' : `; ${node.nickname}'s log ends:\n${torLogTail(node.dataDir)}`
  return new TestnetError('TESTNET_NOT_READY', `test network not ready in time: ${what}${tail}`)
}
