/**
 * Per-message cost of group messages as group size grows (issue 21 part 2):
 * CPU time per 100-byte message sent and received through Burrow's group
 * layer (GroupManager over a real SQLite file: MLS, the signed operation,
 * the local view and the ratchet state persisted in one transaction per
 * message) at 2, 100 and 1,000 members, against ts-mls alone
 * (createApplicationMessage / processPrivateMessage on an in-memory state,
 * no encoding, no persistence: the strongest baseline), with ts-mls's
 * default crypto provider and with Burrow's ciphersuite (its Ed25519
 * replaced, suite.ts), and Burrow's in-memory MlsGroup wrapper, at the same
 * sizes and in the same run.
 *
 * A group of N members is one owner's state after one add-commit of N-1
 * members and three key rotations (so the retained past epochs are all
 * there), and the state of one member joined from its Welcome that
 * processed them; the other members exist as leaves, and as authors of one
 * operation each in the group's log. Building the 1,000-member one costs ~20 s of
 * CPU, so the two states are cached in bench-results/fixtures/ (0600, random
 * identities made for the bench only).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createApplicationMessage, defaultCryptoProvider, emptyPskIndex, getCiphersuiteFromName, getCiphersuiteImpl, processPrivateMessage } from 'ts-mls'
import type { CiphersuiteImpl, ClientState, PrivateMessage } from 'ts-mls'
import { GroupCore } from '../../src/group/core.js'
import { GroupManager } from '../../src/group/manager.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { cipherSuite, clientConfig, MLS_CIPHERSUITE } from '../../src/group/mls/suite.js'
import { RosterAuthService } from '../../src/group/mls/credential.js'
import { createGroup, createKeyPackage, joinFromWelcome, KEY_RETENTION, MlsGroup, type MlsIdentity } from '../../src/group/mls/index.js'
import { GroupRoster } from '../../src/group/roster.js'
import { silentLogger } from '../../src/logging.js'
import { createOperation, fromHex, seedSigner, toHex, type Operation } from '../../src/log/index.js'
import { LogStore, openDatabase, type Database } from '../../src/store/index.js'
import { type BenchReport, type BenchRow } from './report.js'

const SIZES = [2, 100, 1000] as const
const PAYLOAD = new Uint8Array(100).fill(0x42)
/** Messages per measurement at most, and the CPU budget that ends one earlier (the slow sizes). */
const MAX_MESSAGES = 1000
const BUDGET_CPU_MS = 8000
const MIN_MESSAGES = 5
/**
 * Messages sent (and received) before each measurement, at every layer alike: a rate per core is
 * that of a warm path; with 5, the first few hundred measured messages still paid for compiling it.
 */
const WARMUP = 200
/** Messages received one pass each (live traffic), at most. */
const SINGLE_PASSES = 200
const FIXTURE_DIR = join('bench-results', 'fixtures')
const FIXTURE_VERSION = 2
/** Owner's key rotations after the add, so the retained past epochs are all present. */
const ROTATIONS = KEY_RETENTION.retainKeysForEpochs + 1
const TARGETS = { cpuMsAt1000: 5, encryptPerSecondAt2: 2000, decryptPerSecondAt2: 3000, addMsAt1000: 300, joinMsAt1000: 2000 }

const accept = (): boolean => true

interface Fixture {
  readonly owner: { identity: MlsIdentity; state: Uint8Array }
  readonly member: { identity: MlsIdentity; state: Uint8Array }
}

function identityOf(seed: Uint8Array): MlsIdentity {
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

/** Builds (or reads from the cache) an owner's and a joined member's state of a group of `members`. */
async function fixture(members: number): Promise<Fixture> {
  const path = join(FIXTURE_DIR, `group-${members}-v${FIXTURE_VERSION}.json`)
  if (existsSync(path)) {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>
    return {
      owner: { identity: identityOf(fromHex(raw.ownerSeed!)), state: fromHex(raw.ownerState!) },
      member: { identity: identityOf(fromHex(raw.memberSeed!)), state: fromHex(raw.memberState!) },
    }
  }
  process.stderr.write(`building a ${members}-member group (cached in ${FIXTURE_DIR})…\n`)
  const ownerIdentity = identityOf(ed25519.utils.randomSecretKey())
  const owner = await createGroup(new TextEncoder().encode(`bench-messages-${members}`), ownerIdentity, accept)
  const invitees = []
  for (let i = 0; i < members - 1; i++) {
    const identity = identityOf(ed25519.utils.randomSecretKey())
    invitees.push({ identity, kp: await createKeyPackage(identity) })
  }
  const added = await owner.addMembers(invitees.map((i) => i.kp.publicPackage))
  const joiner = invitees[0]!
  let member = await joinFromWelcome(added.welcome, joiner.kp, joiner.identity, accept)
  let ownerGroup = added.group
  // Rotations fill the owner's path in the tree and the retained past epochs, as in a group in use.
  for (let i = 0; i < ROTATIONS; i++) {
    const rotated = await ownerGroup.commitPending()
    ownerGroup = rotated.group
    member = (await member.process(rotated.commit)).group
  }
  const out: Fixture = {
    owner: { identity: ownerIdentity, state: ownerGroup.encodeState() },
    member: { identity: joiner.identity, state: member.encodeState() },
  }
  mkdirSync(FIXTURE_DIR, { recursive: true, mode: 0o700 })
  chmodSync(FIXTURE_DIR, 0o700)
  const json = {
    ownerSeed: toHex(out.owner.identity.seed),
    ownerState: toHex(out.owner.state),
    memberSeed: toHex(out.member.identity.seed),
    memberState: toHex(out.member.state),
  }
  writeFileSync(path, JSON.stringify(json), { mode: 0o600 })
  return out
}

/** CPU time (user + system, all threads) of `fn`, in ms, and its wall time. */
async function cpuOf(fn: () => Promise<unknown>): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  await fn()
  const used = process.cpuUsage(cpu)
  return { cpuMs: (used.user + used.system) / 1000, wallMs: Number(process.hrtime.bigint() - start) / 1e6 }
}

/** Calls `step` until MAX_MESSAGES calls or BUDGET_CPU_MS of CPU (at least MIN_MESSAGES); returns the count. */
async function budgeted(step: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage()
  let n = 0
  while (n < MAX_MESSAGES) {
    await step()
    n++
    const used = process.cpuUsage(cpu)
    if (n >= MIN_MESSAGES && (used.user + used.system) / 1000 > BUDGET_CPU_MS) break
  }
  return n
}

interface Node {
  readonly db: Database
  readonly logs: LogStore
  readonly manager: GroupManager
}

/** A node over a fresh database holding the group state `state` of `identity` (`owner` is the group's owner). */
function nodeWith(dir: string, name: string, identity: MlsIdentity, state: Uint8Array, owner: Uint8Array): Node {
  const db = openDatabase(join(dir, `${name}.db`))
  const logs = new LogStore(db)
  const roster = new GroupRoster()
  const mls = MlsGroup.decodeState(state, identity, roster.accepts)
  const core = new GroupCore({ db, logs, identity, signer: seedSigner(identity.seed), logger: silentLogger, now: Date.now, invitationTtlMs: 60_000 })
  core.adopt({ mls, roster, owner })
  return { db, logs, manager: new GroupManager({ db, logs, identity }) }
}

/**
 * One operation by each of `count` other authors in the group's log, as a
 * group where everyone spoke once has: per-message work that walks the
 * log's authors shows up. Tagged with epoch 0, before either node joined,
 * so the receiver passes over them without decrypting.
 */
function otherAuthorsOps(groupId: Uint8Array, count: number): Operation[] {
  return Array.from({ length: count }, () =>
    createOperation({ signer: seedSigner(ed25519.utils.randomSecretKey()), logId: groupId, seq: 0, backlink: null, payload: PAYLOAD, extensions: { epoch: 0 } }),
  )
}

interface Sample {
  readonly messages: number
  readonly cpuMs: number
  readonly wallMs: number
}

/** Burrow's group layer: the owner sends, the member receives (processPending over the stored operations). */
async function burrowPerMessage(fx: Fixture, groupId: Uint8Array, members: number): Promise<{ send: Sample; receive: Sample; receiveAlone: Sample }> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-messages-'))
  const sender = nodeWith(dir, 'owner', fx.owner.identity, fx.owner.state, fx.owner.identity.publicKey)
  const receiver = nodeWith(dir, 'member', fx.member.identity, fx.member.state, fx.owner.identity.publicKey)
  try {
    const others = otherAuthorsOps(groupId, members - 2)
    sender.logs.ingest(others)
    receiver.logs.ingest(others)
    const deliver = (afterSeq: number): number => {
      const ops = sender.logs.operationsAfter(fx.owner.identity.publicKey, groupId, afterSeq, 100_000)
      receiver.logs.ingest(ops)
      return ops.at(-1)?.header.seq ?? afterSeq
    }
    for (let i = 0; i < WARMUP; i++) await sender.manager.send(groupId, PAYLOAD)
    const delivered = deliver(-1)
    await receiver.manager.processPending()
    let messages = 0
    const send = await cpuOf(async () => {
      messages = await budgeted(async () => void (await sender.manager.send(groupId, PAYLOAD)))
    })
    deliver(delivered)
    const receive = await cpuOf(async () => {
      const summary = await receiver.manager.processPending()
      if (summary.messages !== messages || receiver.manager.rejected(groupId).length > 0) throw new Error(`receiver decrypted ${summary.messages} of ${messages}`)
    })
    // As in live traffic: each message arrives by itself and is processed in a pass of its own.
    let seq = deliver(-1)
    const passes = Math.min(messages, SINGLE_PASSES)
    const single = { cpuMs: 0, wallMs: 0 }
    for (let i = 0; i < passes; i++) {
      await sender.manager.send(groupId, PAYLOAD)
      seq = deliver(seq)
      const pass = await cpuOf(async () => {
        const summary = await receiver.manager.processPending()
        if (summary.messages !== 1) throw new Error(`receiver decrypted ${summary.messages} messages in a pass, expected 1`)
      })
      single.cpuMs += pass.cpuMs
      single.wallMs += pass.wallMs
    }
    return { send: { messages, ...send }, receive: { messages, ...receive }, receiveAlone: { messages: passes, ...single } }
  } finally {
    sender.db.close()
    receiver.db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Adding one member to the group, and that member joining from its Welcome,
 * through Burrow's whole path: the owner's `invite` (commit, Welcome, the
 * group's setting again, signed operations and the new state in one
 * transaction) and the newcomer's `processPending` over the owner's log
 * (Welcome found, joined, state stored). The same two steps on MlsGroup in
 * memory beside them. CPU ms of this process. Before its first add, the
 * owner's node loads the group from its store, as a node does when it starts
 * (timed apart); after the join, it adds another member (the second add of
 * the process, timed apart: the first pays the JIT of the path).
 */
async function commitAndJoin(fx: Fixture, groupId: Uint8Array): Promise<{ mlsAdd: number; mlsJoin: number; burrowLoad: number; burrowAdd: number; burrowAddAgain: number; burrowJoin: number; welcomeBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-join-'))
  try {
    const inMemory = MlsGroup.decodeState(fx.owner.state, fx.owner.identity, accept)
    const probe = identityOf(ed25519.utils.randomSecretKey())
    const probePackage = await createKeyPackage(probe)
    let added: Awaited<ReturnType<MlsGroup['addMembers']>> | undefined
    const mlsAdd = await cpuOf(async () => void (added = await inMemory.addMembers([probePackage.publicPackage])))
    const mlsJoin = await cpuOf(async () => void (await joinFromWelcome(added!.welcome, probePackage, probe, accept)))

    const owner = nodeWith(dir, 'owner', fx.owner.identity, fx.owner.state, fx.owner.identity.publicKey)
    const newcomerIdentity = identityOf(ed25519.utils.randomSecretKey())
    const db = openDatabase(join(dir, 'newcomer.db'))
    const logs = new LogStore(db)
    const pair = await createKeyPackage(newcomerIdentity)
    // As createKeyPackage does for an invitation (the fixture's group id does not derive from the owner's key, which that call checks).
    new GroupCore({ db, logs, identity: newcomerIdentity, signer: seedSigner(newcomerIdentity.seed), logger: silentLogger, now: Date.now, invitationTtlMs: 60_000 }).addInvitation(groupId, fx.owner.identity.publicKey, pair)
    const newcomer = new GroupManager({ db, logs, identity: newcomerIdentity })
    try {
      // A node loads a group's state on the first action on it after a start: timed apart from the add.
      // Here that action is a file begun and discarded (nothing is sent).
      const burrowLoad = await cpuOf(async () => owner.manager.beginFile(groupId).discard())
      const burrowAdd = await cpuOf(async () => void (await owner.manager.invite(groupId, newcomerIdentity.publicKey, pair.publicPackage)))
      const ops = owner.logs.operationsAfter(fx.owner.identity.publicKey, groupId, -1, 100_000)
      logs.ingest(ops)
      const burrowJoin = await cpuOf(async () => {
        await newcomer.processPending()
        if (newcomer.get(groupId)?.active !== true) throw new Error('the newcomer did not join')
      })
      const another = identityOf(ed25519.utils.randomSecretKey())
      const anotherPackage = await createKeyPackage(another)
      const burrowAddAgain = await cpuOf(async () => void (await owner.manager.invite(groupId, another.publicKey, anotherPackage.publicPackage)))
      return {
        mlsAdd: mlsAdd.cpuMs,
        mlsJoin: mlsJoin.cpuMs,
        burrowLoad: burrowLoad.cpuMs,
        burrowAdd: burrowAdd.cpuMs,
        burrowAddAgain: burrowAddAgain.cpuMs,
        burrowJoin: burrowJoin.cpuMs,
        welcomeBytes: added!.welcome.length,
      }
    } finally {
      owner.db.close()
      db.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Burrow's MlsGroup in memory (no persistence): encrypt, then process in order. */
async function wrapperPerMessage(fx: Fixture): Promise<{ send: Sample; receive: Sample }> {
  let sender = MlsGroup.decodeState(fx.owner.state, fx.owner.identity, accept)
  let receiver = MlsGroup.decodeState(fx.member.state, fx.member.identity, accept)
  const wire: Uint8Array[] = []
  for (let i = 0; i < WARMUP; i++) {
    const sent = await sender.encrypt(PAYLOAD)
    sender = sent.group
    receiver = (await receiver.process(sent.message)).group
  }
  let messages = 0
  const send = await cpuOf(async () => {
    messages = await budgeted(async () => {
      const sent = await sender.encrypt(PAYLOAD)
      sender = sent.group
      wire.push(sent.message)
    })
  })
  const receive = await cpuOf(async () => {
    for (const m of wire) receiver = (await receiver.process(m)).group
  })
  return { send: { messages, ...send }, receive: { messages, ...receive } }
}

/** A stored state as ts-mls's own ClientState (the signature key put back). */
function clientStateOf(state: Uint8Array, identity: MlsIdentity): ClientState {
  const stored = decodeStoredGroup(state)
  return { ...stored.state, signaturePrivateKey: identity.seed.slice(), clientConfig: clientConfig(new RosterAuthService(accept)) }
}

/** ts-mls alone: createApplicationMessage, then processPrivateMessage in order, on in-memory states, with the ciphersuite implementation `cs`. */
async function tsMlsPerMessage(fx: Fixture, cs: CiphersuiteImpl): Promise<{ send: Sample; receive: Sample }> {
  let sender = clientStateOf(fx.owner.state, fx.owner.identity)
  let receiver = clientStateOf(fx.member.state, fx.member.identity)
  const wire: PrivateMessage[] = []
  const encrypt = async (): Promise<PrivateMessage> => {
    const { newState, privateMessage } = await createApplicationMessage(sender, PAYLOAD, cs)
    sender = newState
    return privateMessage
  }
  const decrypt = async (pm: PrivateMessage): Promise<void> => {
    const result = await processPrivateMessage(receiver, pm, emptyPskIndex, cs)
    if (result.kind !== 'applicationMessage') throw new Error('expected an application message')
    receiver = result.newState
  }
  for (let i = 0; i < WARMUP; i++) await decrypt(await encrypt())
  let messages = 0
  const send = await cpuOf(async () => {
    messages = await budgeted(async () => void wire.push(await encrypt()))
  })
  const receive = await cpuOf(async () => {
    for (const pm of wire) await decrypt(pm)
  })
  return { send: { messages, ...send }, receive: { messages, ...receive } }
}

const WAY_NAMES = { send: 'send', receive: 'receive', receiveAlone: 'receive one per pass' } as const

function rows(layer: string, members: number, result: { send: Sample; receive: Sample; receiveAlone?: Sample }): BenchRow[] {
  const ways = result.receiveAlone === undefined ? (['send', 'receive'] as const) : (['send', 'receive', 'receiveAlone'] as const)
  return ways.flatMap((way) => {
    const s = result[way]!
    const cpuMs = s.cpuMs / s.messages
    return [
      { metric: `${layer}: ${WAY_NAMES[way]} CPU per message at ${members} members`, value: cpuMs, unit: 'ms', note: `${s.messages} messages of 100 B; wall ${(s.wallMs / s.messages).toFixed(2)} ms each` },
      { metric: `${layer}: ${WAY_NAMES[way]} rate at ${members} members`, value: 1000 / cpuMs, unit: 'msgs per CPU-s', note: `wall ${(s.messages / (s.wallMs / 1000)).toFixed(0)} msgs/s` },
    ]
  })
}

/** Runs the suite and returns its figures (the dispatcher prints and stores them). */
export async function runGroupMessagesBench(): Promise<BenchReport> {
  const out: BenchRow[] = []
  const burrow: Record<number, { send: Sample; receive: Sample; receiveAlone: Sample }> = {}
  const joins: Record<number, Awaited<ReturnType<typeof commitAndJoin>>> = {}
  const defaultSuite = await getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE), defaultCryptoProvider)
  for (const members of SIZES) {
    const fx = await fixture(members)
    const groupId = MlsGroup.decodeState(fx.owner.state, fx.owner.identity, accept).groupId
    out.push(...rows('ts-mls alone, its default provider', members, await tsMlsPerMessage(fx, defaultSuite)))
    out.push(...rows("ts-mls alone, Burrow's suite (native primitives)", members, await tsMlsPerMessage(fx, await cipherSuite())))
    out.push(...rows('MlsGroup in memory', members, await wrapperPerMessage(fx)))
    burrow[members] = await burrowPerMessage(fx, groupId, members)
    out.push(...rows('Burrow GroupManager', members, burrow[members]))
    if (members > 2) {
      const j = (joins[members] = await commitAndJoin(fx, groupId))
      out.push(
        { metric: `MlsGroup in memory: add one member at ${members} members`, value: j.mlsAdd, unit: 'ms CPU', note: `Welcome ${j.welcomeBytes} B` },
        { metric: `MlsGroup in memory: join from the Welcome at ${members + 1} members`, value: j.mlsJoin, unit: 'ms CPU' },
        { metric: `Burrow GroupManager: load the group's stored state at ${members} members`, value: j.burrowLoad, unit: 'ms CPU', note: 'decoding it: a node does it on the first action on the group after it starts' },
        { metric: `Burrow GroupManager: add one member (invite) at ${members} members`, value: j.burrowAdd, unit: 'ms CPU', note: 'the first add of the process, group loaded: commit, Welcome, setting, operations and state in one transaction' },
        { metric: `Burrow GroupManager: add another member (invite) at ${members + 1} members`, value: j.burrowAddAgain, unit: 'ms CPU', note: 'the second add of the process' },
        { metric: `Burrow GroupManager: join from the Welcome at ${members + 1} members`, value: j.burrowJoin, unit: 'ms CPU', note: 'processPending over the owner\'s log' },
      )
    }
  }
  const perMessage = (s: Sample): number => s.cpuMs / s.messages
  const verdict = {
    sendAt1000: perMessage(burrow[1000]!.send) <= TARGETS.cpuMsAt1000,
    receiveAt1000: Math.max(perMessage(burrow[1000]!.receive), perMessage(burrow[1000]!.receiveAlone)) <= TARGETS.cpuMsAt1000,
    encryptAt2: 1000 / perMessage(burrow[2]!.send) >= TARGETS.encryptPerSecondAt2,
    decryptAt2: 1000 / perMessage(burrow[2]!.receive) >= TARGETS.decryptPerSecondAt2,
    addAt1000: joins[1000]!.burrowAdd <= TARGETS.addMsAt1000,
    joinAt1000: joins[1000]!.burrowJoin <= TARGETS.joinMsAt1000,
  }
  return { name: 'group-messages', rows: out, extra: { targets: TARGETS, met: verdict } }
}

/** Entry point the bench dispatcher (scripts/bench.ts) calls. */
export { runGroupMessagesBench as run }
