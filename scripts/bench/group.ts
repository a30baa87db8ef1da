/**
 * MLS group benchmark (ts-mls, ciphersuite 1, Burrow's retention settings):
 * add-commit time at 10/50/100 members, joining from a Welcome at 100,
 * encrypt and decrypt rates for 100 B and 10 KB payloads, and the encoded
 * state size of one member at 2/10/50/100 members.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  createGroup,
  createKeyPackage,
  joinFromWelcome,
  KEY_RETENTION,
  type KeyPackagePair,
  type MlsGroup,
  type MlsIdentity,
} from '../../src/group/mls/index.js'
import { spread, type BenchReport, type BenchRow } from './report.js'

const ADD_SIZES = [10, 50, 100] as const
const STATE_SIZES = [2, 10, 50, 100] as const
const ADD_RUNS = 7
/** Rotations before measuring state size, so the retained past epochs are all present. */
/** Runs of each message-rate measurement. */
const MESSAGE_RUNS = 3
const ROTATIONS = KEY_RETENTION.retainKeysForEpochs + 1
const MESSAGE_COUNTS: Readonly<Record<number, number>> = { 100: 1000, 10_240: 300 }

const accept = (): boolean => true

function newIdentity(): MlsIdentity {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

async function keyPackages(count: number): Promise<{ identity: MlsIdentity; kp: KeyPackagePair }[]> {
  const out: { identity: MlsIdentity; kp: KeyPackagePair }[] = []
  for (let i = 0; i < count; i++) {
    const identity = newIdentity()
    out.push({ identity, kp: await createKeyPackage(identity) })
  }
  return out
}

/** An owner's group with `members` members in total, the others added in one commit. */
async function groupOf(members: number): Promise<{ owner: MlsGroup; welcome: Uint8Array | undefined; invitees: { identity: MlsIdentity; kp: KeyPackagePair }[] }> {
  const owner = await createGroup(new TextEncoder().encode(`bench-${members}`), newIdentity(), accept)
  if (members === 1) return { owner, welcome: undefined, invitees: [] }
  const invitees = await keyPackages(members - 1)
  const added = await owner.addMembers(invitees.map((i) => i.kp.publicPackage))
  return { owner: added.group, welcome: added.welcome, invitees }
}

async function millis(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Times for the owner of an N-member group to commit one more member (each run from the same state). */
async function addCommitMs(members: number): Promise<number[]> {
  const { owner } = await groupOf(members)
  const candidates = await keyPackages(ADD_RUNS + 1)
  await owner.addMembers([candidates[ADD_RUNS]!.kp.publicPackage]) // warm-up
  const times: number[] = []
  for (let i = 0; i < ADD_RUNS; i++) times.push(await millis(() => owner.addMembers([candidates[i]!.kp.publicPackage])))
  return times
}

/** Times to join an N-member group from its Welcome (5 joiners). */
async function joinMs(members: number): Promise<number[]> {
  const { welcome, invitees } = await groupOf(members)
  if (welcome === undefined) throw new Error('no welcome')
  const times: number[] = []
  for (const { identity, kp } of invitees.slice(0, 5)) times.push(await millis(() => joinFromWelcome(welcome, kp, identity, accept)))
  return times
}

/** Encrypt and decrypt rates between two members, each message decrypted once, in order. */
async function messageRates(payloadSize: number, count: number): Promise<{ encrypt: number; decrypt: number }> {
  const { owner, welcome, invitees } = await groupOf(2)
  const peer = invitees[0]!
  let receiver = await joinFromWelcome(welcome!, peer.kp, peer.identity, accept)
  let sender = owner
  const payload = new Uint8Array(payloadSize).fill(0x42)
  const wire: Uint8Array[] = []
  const encStart = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const sent = await sender.encrypt(payload)
    sender = sent.group
    wire.push(sent.message)
  }
  const encSeconds = Number(process.hrtime.bigint() - encStart) / 1e9
  const decStart = process.hrtime.bigint()
  for (const message of wire) receiver = (await receiver.process(message)).group
  const decSeconds = Number(process.hrtime.bigint() - decStart) / 1e9
  return { encrypt: count / encSeconds, decrypt: count / decSeconds }
}

/** Encoded state of the owner of an N-member group after enough rotations to fill the retention window. */
async function stateBytes(members: number): Promise<number> {
  let { owner } = await groupOf(members)
  for (let i = 0; i < ROTATIONS; i++) owner = (await owner.commitPending()).group
  return owner.encodeState().length
}

/** Runs the suite and returns its figures (the dispatcher prints and stores them). */
export async function runGroupBench(): Promise<BenchReport> {
  const rows: BenchRow[] = []
  for (const n of ADD_SIZES) rows.push({ metric: `add-commit at ${n} members`, ...spread(await addCommitMs(n)), unit: 'ms' })
  rows.push({ metric: 'join from Welcome at 100 members', ...spread(await joinMs(100)), unit: 'ms' })
  for (const [size, count] of Object.entries(MESSAGE_COUNTS)) {
    const label = Number(size) >= 1024 ? `${Number(size) / 1024} KB` : `${size} B`
    const runs = []
    for (let i = 0; i < MESSAGE_RUNS; i++) runs.push(await messageRates(Number(size), count))
    rows.push({ metric: `encrypt ${label}`, ...spread(runs.map((r) => r.encrypt)), unit: 'msgs/s', note: `${count} messages per run, 1 core` })
    rows.push({ metric: `decrypt ${label}`, ...spread(runs.map((r) => r.decrypt)), unit: 'msgs/s', note: `${count} messages per run, in order` })
  }
  for (const n of STATE_SIZES) {
    rows.push({
      metric: `state size at ${n} members`,
      value: await stateBytes(n),
      unit: 'bytes',
      note: `one member, ${KEY_RETENTION.retainKeysForEpochs} past epochs retained`,
    })
  }
  return { name: 'group', rows, extra: { keyRetention: KEY_RETENTION, ciphersuite: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' } }
}

/** Entry point the bench dispatcher (scripts/bench.ts) calls. */
export { runGroupBench as run }
