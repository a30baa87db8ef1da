/**
 * Helpers of the fault tests (`faults-*.test.ts`): soak scaling, log
 * comparison, a steady appender, memory sampling, signalling only processes
 * this test process started, and the crash tests' child processes (their
 * entry points live here too, so this module must not import vitest).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ed25519 } from '@noble/curves/ed25519.js'
import { GroupManager } from '../../src/group/index.js'
import { bytesEqual, createOperation, fromHex, toHex, type LogId, type Operation, type Signer } from '../../src/log/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { prng, testLogId, testSigner } from '../fixtures/log-fixtures.js'
import { moduleEntry, runUntilKilled as runChild } from './child.js'
import { newIdentity, text } from './group.js'
import type { NetStack } from './net-stack.js'

// ---- soak scaling ------------------------------------------------------------

/** True under `scripts/soak.ts` (`BURROW_SOAK=1`): the fault tests run longer and more often. */
const SOAK = process.env.BURROW_SOAK === '1'

/** `normal` in `npm test`, `soak` in a soak run. */
export function bySoak<T>(normal: T, soak: T): T {
  return SOAK ? soak : normal
}

// ---- logs --------------------------------------------------------------------

/** Hex hashes of every stored operation of `logId` (all authors), sorted: two replicas agree iff these are equal. */
export function logHashes(store: Pick<LogStore, 'heights' | 'operationsAfter'>, logId: LogId): string[] {
  const out: string[] = []
  for (const author of store.heights(logId).keys()) {
    for (const op of store.operationsAfter(fromHex(author), logId, -1, Number.MAX_SAFE_INTEGER)) out.push(toHex(op.hash))
  }
  return out.sort()
}

/** A stack appending one operation to its own log of a topic at a steady rate. */
export interface Appender {
  /** Operations appended so far. */
  readonly appended: number
  /** Stops appending; returns how many were appended. */
  stop(): number
}

/** Appends one operation to `topic` every `everyMs` until stopped (and offers it to connected peers, like a node does). */
export function startAppending(stack: Pick<NetStack, 'append'>, topic: LogId, everyMs: number): Appender {
  let appended = 0
  const timer = setInterval(() => {
    stack.append(topic, 1)
    appended++
  }, everyMs)
  return {
    get appended() {
      return appended
    },
    stop() {
      clearInterval(timer)
      return appended
    },
  }
}

// ---- processes -----------------------------------------------------------------

/** Fields of `/proc/<pid>/status`, or undefined when the process is gone. */
function procStatus(pid: number): Map<string, string> | undefined {
  try {
    const lines = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
    return new Map(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]))
  } catch {
    return undefined
  }
}

/** Resident memory of a process in MB (VmRSS), or undefined when it is gone. */
export function vmRssMb(pid: number): number | undefined {
  const kb = procStatus(pid)?.get('VmRSS')?.match(/^(\d+) kB$/)?.[1]
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024)
}

/**
 * SIGKILLs `pid` only if it is a direct child of this process running
 * `command` (checked in /proc just before): never a process someone else started.
 */
export function killOwnChild(pid: number, command: string): void {
  const status = procStatus(pid)
  if (status?.get('PPid') !== String(process.pid) || status.get('Name') !== command) {
    throw new Error(`refusing to kill ${pid}: not a ${command} started by this process`)
  }
  process.kill(pid, 'SIGKILL')
}

/** This process's resident memory in MB, sampled at a fixed interval. */
export interface RssSampler {
  /** Samples so far, in MB, oldest first. */
  readonly samples: readonly number[]
  stop(): void
}

/** Samples `process.memoryUsage().rss` every `everyMs`. */
export function sampleRss(everyMs: number): RssSampler {
  const samples: number[] = []
  const take = (): void => {
    samples.push(Math.round(process.memoryUsage().rss / 1024 / 1024))
  }
  take()
  const timer = setInterval(take, everyMs)
  return { samples, stop: () => clearInterval(timer) }
}

// ---- crash tests: child processes ------------------------------------------------

const HELPER = fileURLToPath(import.meta.url)
/** A child that neither prints "ready" nor gets killed within this is a failure, not a hang. */
const CHILD_GUARD_MS = 60_000

/** Entry points a crash-test child can run (exported below). */
export type ChildEntry = 'runIngester' | 'runOwner'

/** Runs `entry(configPath)` of this module in a child and SIGKILLs it `delayMs` after it printed "ready"; resolves with its lines. */
export function runUntilKilled(entry: ChildEntry, configPath: string, delayMs: number): Promise<string[]> {
  return runChild(moduleEntry(HELPER, entry, configPath), delayMs, CHILD_GUARD_MS)
}

// ---- crash test (a): ingesting large batches ------------------------------------

/** The logs the ingest crash test writes: three authors, two topics each. */
export const INGEST_LOGS: readonly { readonly signer: Signer; readonly logId: LogId }[] = Array.from({ length: 6 }, (_, i) => ({
  signer: testSigner(11 + (i % 3)),
  logId: testLogId(60 + Math.floor(i / 3)),
}))

/** The payload the ingest child gives operation `seq` of log `index`: the parent checks every stored one against it. */
export function ingestPayload(index: number, seq: number): Uint8Array {
  const payload = new Uint8Array(120)
  new DataView(payload.buffer).setUint32(0, seq)
  return payload.fill(index, 4)
}

/** Settings of the ingest child, read from a JSON file. */
export interface IngestConfig {
  readonly dbPath: string
  /** Seeds the batch sizes of this run. */
  readonly seed: number
  /** Largest batch, in operations (one transaction each). */
  readonly maxBatch: number
  /** Already-stored operations per log re-sent in the first batch, as a reconnecting peer would. */
  readonly overlap: number
}

/**
 * Entry point of the ingest crash child: like a node catching up from a
 * peer, ingests batches of valid operations of {@link INGEST_LOGS} (each one
 * store transaction, logs interleaved, random sizes up to `maxBatch`), the
 * first batch re-sending what is already stored. Prints "ready", then
 * "batch <stored>" after each committed batch; exits 2 on any refusal.
 */
export function runIngester(configPath: string): void {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as IngestConfig
  const store = new LogStore(openDatabase(config.dbPath))
  const rand = prng(config.seed)
  const tips = INGEST_LOGS.map(({ signer, logId }) => {
    const height = store.heights(logId).get(toHex(signer.publicKey))
    return height === undefined ? undefined : store.operationsAfter(signer.publicKey, logId, height - 1, 1)[0]
  })
  let batch: Operation[] = INGEST_LOGS.flatMap(({ signer, logId }, i) => {
    const height = tips[i]?.header.seq ?? -1
    return store.operationsAfter(signer.publicKey, logId, height - config.overlap, config.overlap)
  })
  process.stdout.write('ready\n')
  // Bounded: the parent kills it long before.
  for (let round = 0; round < 10_000; round++) {
    const perLog = Math.max(1, Math.floor((rand() * config.maxBatch) / INGEST_LOGS.length))
    for (const i of INGEST_LOGS.keys()) {
      const { signer, logId } = INGEST_LOGS[i]!
      for (let k = 0; k < perLog; k++) {
        const tip = tips[i]
        const seq = tip === undefined ? 0 : tip.header.seq + 1
        const op = createOperation({ signer, logId, seq, backlink: tip?.hash ?? null, payload: ingestPayload(i, seq) })
        batch.push(op)
        tips[i] = op
      }
    }
    const result = store.ingest(batch)
    if (result.rejected.length > 0 || result.stored + result.duplicates !== batch.length) {
      process.stderr.write(`unexpected ingest result: stored ${result.stored}, duplicates ${result.duplicates}, rejected ${result.rejected.map((r) => r.error.code).join(',')}\n`)
      process.exit(2)
    }
    process.stdout.write(`batch ${result.stored}\n`)
    batch = []
  }
}

// ---- crash test (b): a group owner committing and sending ------------------------

/** Settings of the owner child, read from a JSON file. */
export interface OwnerConfig {
  readonly dbPath: string
  /** The owner's identity seed (hex). */
  readonly seed: string
  readonly groupId: string
  /** Identity key (hex) of the member that stays in the group and later checks everything decrypts. */
  readonly keep: string
  readonly prefix: string
}

/** What the owner child does at step `n`: a membership change, a key rotation, or (mostly) a message. */
function ownerStep(n: number): 'membership' | 'rotate' | 'send' {
  return n % 5 === 0 ? 'membership' : n % 5 === 1 ? 'rotate' : 'send'
}

/**
 * Entry point of the owner crash child: the group's owner commits and sends
 * in a loop through the group manager. Membership steps add a throwaway
 * member (its key package made in memory) or remove the one present; every
 * other member is kept. Prints "ready", then "<step kind> <n>" after each
 * step is committed. Messages are `<prefix><n>`, n numbered on from the
 * owner's log height, so texts are unique across restarts.
 */
export async function runOwner(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as OwnerConfig
  const seed = fromHex(config.seed)
  const identity = { seed, publicKey: ed25519.getPublicKey(seed) }
  const db = openDatabase(config.dbPath)
  const logs = new LogStore(db)
  const manager = new GroupManager({ db, logs, identity })
  const groupId = fromHex(config.groupId)
  const keep = fromHex(config.keep)
  const start = (logs.heights(groupId).get(toHex(identity.publicKey)) ?? -1) + 1
  process.stdout.write('ready\n')
  // Bounded: the parent kills it long before.
  for (let n = start; n < start + 100_000; n++) {
    const step = ownerStep(n)
    if (step === 'membership') {
      const extra = manager.members(groupId).find((m) => !bytesEqual(m, identity.publicKey) && !bytesEqual(m, keep))
      if (extra !== undefined) await manager.remove(groupId, extra)
      else await inviteThrowaway(manager, groupId, identity.publicKey)
    } else if (step === 'rotate') {
      await manager.rotate(groupId)
    } else {
      await manager.send(groupId, text(`${config.prefix}${n}`))
    }
    process.stdout.write(`${step} ${n}\n`)
  }
}

/** Invites a fresh member whose state lives only in memory (it never reads anything: it is there to be added and removed). */
async function inviteThrowaway(owner: GroupManager, groupId: Uint8Array, ownerKey: Uint8Array): Promise<void> {
  const db = openDatabase(':memory:')
  try {
    const identity = newIdentity()
    const invitee = new GroupManager({ db, logs: new LogStore(db), identity })
    await owner.invite(groupId, identity.publicKey, await invitee.createKeyPackage(groupId, ownerKey, owner.ownershipNonce(groupId)))
  } finally {
    db.close()
  }
}
