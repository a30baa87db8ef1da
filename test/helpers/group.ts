// Fixtures for the group-*.test.ts files: members with their own SQLite
// files, and "sync" as copying operations between their log stores.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { GroupManager, MlsGroup, type GroupManagerOptions, type MlsIdentity } from '../../src/group/index.js'
import { createOperation, seedSigner, toHex, type LogId, type Operation } from '../../src/log/index.js'
import { GroupStore, LogStore, openDatabase, type Database, type IngestResult } from '../../src/store/index.js'

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A random Ed25519 identity. */
export function newIdentity(): MlsIdentity {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

/** A node of the tests: identity, database file, log store and group manager. */
export class Member {
  readonly name: string
  readonly identity: MlsIdentity
  readonly path: string
  db!: Database
  logs!: LogStore
  manager!: GroupManager

  constructor(name: string, identity: MlsIdentity = newIdentity(), dir = mkdtempSync(join(tmpdir(), `burrow-group-${name}-`))) {
    this.name = name
    this.identity = identity
    this.path = join(dir, 'burrow.db')
    this.open()
  }

  /** Identity key. */
  get key(): Uint8Array {
    return this.identity.publicKey
  }

  /** Identity key in hex (how the sync policy names peers). */
  get hex(): string {
    return toHex(this.identity.publicKey)
  }

  /** Closes the database and opens a new manager over the same file (a restart). */
  restart(): void {
    this.close()
    this.open()
  }

  close(): void {
    this.manager.removeAllListeners()
    this.db.close()
  }

  /** Plaintexts of the local view, oldest first. */
  texts(groupId: Uint8Array): string[] {
    return this.manager.messages(groupId, { limit: 1000 }).map((m) => str(m.plaintext))
  }

  /** Opens the database and a new manager over it (after {@link close}). */
  open(): void {
    this.db = openDatabase(this.path)
    this.logs = new LogStore(this.db)
    this.manager = new GroupManager({ db: this.db, logs: this.logs, identity: this.identity })
  }

  /** Replaces the manager by a new one over the same database, with other options (a clock, limits). */
  remanage(options: Partial<GroupManagerOptions>): GroupManager {
    this.manager.removeAllListeners()
    this.manager = new GroupManager({ db: this.db, logs: this.logs, identity: this.identity, ...options })
    return this.manager
  }
}

/** A clock the test moves by hand (ms since the Unix epoch). */
export function manualClock(start = Date.UTC(2026, 11, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => void (t += ms) }
}

/** Every stored operation of log id `logId` in `store`, per author in seq order. */
export function allOperations(store: LogStore, logId: LogId): Operation[] {
  const out: Operation[] = []
  for (const author of store.heights(logId).keys()) out.push(...store.operationsAfter(Buffer.from(author, 'hex'), logId, -1, 100_000))
  return out
}

/** Operations of `author`'s log `logId` with seq above `afterSeq`. */
export function operationsOf(member: Member, author: Member, logId: LogId, afterSeq = -1): Operation[] {
  return member.logs.operationsAfter(author.key, logId, afterSeq, 100_000)
}

/** Copies `ops` into `to`'s store (the sync protocol's job); fails on anything the store refuses. */
export function ingestInto(to: Member, ops: readonly Operation[]): IngestResult {
  const result = to.logs.ingest(ops)
  if (result.rejected.length > 0) throw new Error(`store refused ${result.rejected.length} operations: ${result.rejected[0]?.error.code}`)
  return result
}

/** Copies what `from` stores of group `logId` (every author's log, or only `author`'s) into `to`. */
export function deliver(from: Member, to: Member, logId: LogId, author?: Member): IngestResult {
  const ops = author === undefined ? allOperations(from.logs, logId) : operationsOf(from, author, logId)
  return ingestInto(to, ops)
}

/**
 * Full-mesh sync of group `logId` among `members`, each then processing,
 * repeated until nothing new is stored (at most `rounds` times).
 */
export async function syncAll(members: readonly Member[], logId: LogId, rounds = 6): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    let stored = 0
    for (const from of members) for (const to of members) if (from !== to) stored += deliver(from, to, logId).stored
    for (const m of members) await m.manager.processPending()
    if (stored === 0) return
  }
  throw new Error(`sync did not settle in ${rounds} rounds`)
}

/** The key-package exchange done by direct calls: `invitee` makes a package for `owner`, who invites with it. */
export async function invite(owner: Member, invitee: Member, groupId: Uint8Array): Promise<void> {
  const pkg = await invitee.manager.createKeyPackage(groupId, owner.key, owner.manager.ownershipNonce(groupId))
  await owner.manager.invite(groupId, invitee.key, pkg)
}

/** A copy of `m`'s MLS state as stored: what a malicious client holding its own keys can use freely. */
export function stateCopy(m: Member, groupId: Uint8Array): MlsGroup {
  const row = m.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }
  return MlsGroup.decodeState(new Uint8Array(row.state), m.identity, () => true, new GroupStore(m.db).ratchets(groupId))
}

/** Appends a validly signed operation with arbitrary content to `m`'s own log, as a hostile client can. */
export function appendRaw(m: Member, groupId: Uint8Array, payload: Uint8Array, extensions: Record<string, number> = {}): Operation {
  const tip = m.logs.heights(groupId).get(m.hex)
  const previous = tip === undefined ? undefined : m.logs.operationsAfter(m.key, groupId, tip - 1, 1)[0]
  const op = createOperation({
    signer: seedSigner(m.identity.seed),
    logId: groupId,
    seq: tip === undefined ? 0 : tip + 1,
    backlink: previous?.hash ?? null,
    payload,
    extensions,
  })
  m.logs.append(op)
  return op
}

/** A plaintext that cannot occur by chance in any file. */
export function uniqueText(label: string): string {
  return `${label}:${randomBytes(12).toString('hex')}`
}

/** Settings a crash-test child reads from a JSON file. */
export interface SenderConfig {
  readonly dbPath: string
  readonly seed: string
  readonly groupId: string
  readonly prefix: string
  readonly maxMessages: number
}

/**
 * Entry point of the crash test's child process: opens the member's database
 * and sends `<prefix><n>` in a loop (numbering on from what its log already
 * holds), printing `sent <n>` after each send is committed.
 */
export async function runSender(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as SenderConfig
  const seed = new Uint8Array(Buffer.from(config.seed, 'hex'))
  const identity = { seed, publicKey: ed25519.getPublicKey(seed) }
  const db = openDatabase(config.dbPath)
  const logs = new LogStore(db)
  const manager = new GroupManager({ db, logs, identity })
  const groupId = new Uint8Array(Buffer.from(config.groupId, 'hex'))
  // Numbers only need to be unique: continue from the log's height.
  const start = (logs.heights(groupId).get(toHex(identity.publicKey)) ?? -1) + 1
  process.stdout.write('ready\n')
  for (let n = start; n < start + config.maxMessages; n++) {
    await manager.send(groupId, text(`${config.prefix}${n}`))
    process.stdout.write(`sent ${n}\n`)
  }
  db.close()
}

/** Settings of the receiving crash-test child, read from a JSON file. */
export interface ReceiverConfig {
  readonly dbPath: string
  readonly seed: string
}

/**
 * Entry point of the receiver crash test's child process: opens the
 * member's database and processes every stored operation once, printing
 * `ready` before and `done <decrypted>` after; then waits (at most a minute)
 * for the parent's SIGKILL, which it expects in any case.
 */
export async function runReceiver(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as ReceiverConfig
  const seed = new Uint8Array(Buffer.from(config.seed, 'hex'))
  const db = openDatabase(config.dbPath)
  const manager = new GroupManager({ db, logs: new LogStore(db), identity: { seed, publicKey: ed25519.getPublicKey(seed) } })
  process.stdout.write('ready\n')
  const started = performance.now()
  const summary = await manager.processPending()
  process.stdout.write(`done ${summary.messages} ${Math.ceil(performance.now() - started)}\n`)
  db.close()
  await new Promise((resolve) => setTimeout(resolve, 60_000))
}
