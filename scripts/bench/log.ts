/**
 * Log benchmark: hashing, raw Ed25519 verification (node:crypto, @noble, and
 * libsodium, which Burrow uses and the fastest verifier installed here), on
 * one core and, for libsodium, on every core at once; operation creation,
 * decoding alone, and realistic ingest (decode from bytes, validate against
 * the stored previous operation, store in batches in a file-backed WAL
 * database), on the main thread alone and with signatures checked ahead by a
 * `VerifierPool` as a sync session does. Target: ingest ≥ 70 % of
 * libsodium's raw verify rate. Ingest is also measured into a sealed
 * database (a node with a passphrase: ChaCha20-Poly1305 pages), in the same
 * rounds, to show what sealing costs.
 */
import { createHash, createPublicKey, verify as opensslVerify } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '@noble/hashes/blake3.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { VerifierPool, createOperation, decodeOperation, seedSigner, verifySignature, type Operation, type Signer } from '../../src/log/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { measureRate, spread, type BenchReport, type BenchRow } from './report.js'

const TARGET_RATIO = 0.7
const BATCH = 100
const INGEST_OPS = 6000
const AUTHORS = 4
const ROUNDS = 7

function chain(signer: Signer, logId: Uint8Array, count: number, payloadSize: number): Operation[] {
  const ops: Operation[] = []
  for (let seq = 0; seq < count; seq++) {
    const payload = new Uint8Array(payloadSize).fill(seq & 0xff)
    ops.push(createOperation({ signer, logId, seq, backlink: seq === 0 ? null : ops[seq - 1]!.hash, payload, extensions: { ts: 1_700_000_000_000 + seq } }))
  }
  return ops
}

interface WireOperation {
  readonly header: Uint8Array
  readonly payload: Uint8Array
}

/** INGEST_OPS operations from AUTHORS authors, as bytes off the wire. */
function wireOperations(payloadSize: number): WireOperation[] {
  const logId = new Uint8Array(32).fill(7)
  const chains = Array.from({ length: AUTHORS }, (_, a) => chain(seedSigner(new Uint8Array(32).fill(a + 1)), logId, INGEST_OPS / AUTHORS, payloadSize))
  // Interleave authors so consecutive ops in a batch hit different logs, as after a sync round.
  return chains[0]!.flatMap((_, i) => chains.map((c) => ({ header: c[i]!.headerBytes.slice(), payload: c[i]!.payload!.slice() })))
}

/** The database key of the sealed runs (any 32 bytes: the cost does not depend on the key). */
const SEAL_KEY = new Uint8Array(32).fill(0x42)

/**
 * CPU time (user + system, µs) of this process per operation in the last
 * {@link ingestRate} call of each kind: less disturbed by other load on the
 * machine than a rate, and what sealing adds (encryption is CPU work on this thread).
 */
const ingestCpu = { plain: [] as number[], sealed: [] as number[] }

/** Ops/s of decode + validate + store from wire bytes, in batches of BATCH, into a fresh database, sealed with `key` if given. */
function ingestRate(wire: readonly WireOperation[], key?: Uint8Array): number {
  return withStore(key, (store) => {
    const start = process.hrtime.bigint()
    const cpuStart = process.cpuUsage()
    for (let i = 0; i < wire.length; i += BATCH) {
      const batch = wire.slice(i, i + BATCH).map((w) => decodeOperation(w.header, w.payload))
      expectStored(store.ingest(batch).stored, batch.length)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpuStart)
    ingestCpu[key !== undefined ? 'sealed' : 'plain'].push((cpu.user + cpu.system) / wire.length)
    return wire.length / seconds
  })
}

/**
 * Batches decoded and handed to the pool ahead of the one being stored: a
 * sync session reads ahead by up to 8 frames (MAX_QUEUED_FRAMES) and starts
 * their verification as they arrive.
 */
const PIPELINE_DEPTH = 4

/**
 * Ops/s of the same ingest with signatures checked on `pool`'s workers,
 * PIPELINE_DEPTH batches ahead of the store, as a sync session does it.
 */
async function pooledIngestRate(wire: readonly WireOperation[], pool: VerifierPool): Promise<number> {
  return withStoreAsync(async (store) => {
    const start = process.hrtime.bigint()
    const ahead: { ops: Operation[]; verified: Promise<void> }[] = []
    const storeOldest = async (): Promise<void> => {
      const { ops, verified } = ahead.shift()!
      await verified
      expectStored(store.ingest(ops).stored, ops.length)
    }
    for (let i = 0; i < wire.length; i += BATCH) {
      const ops = wire.slice(i, i + BATCH).map((w) => decodeOperation(w.header, w.payload))
      ahead.push({ ops, verified: pool.verify(ops) })
      if (ahead.length > PIPELINE_DEPTH) await storeOldest()
    }
    while (ahead.length > 0) await storeOldest()
    return wire.length / (Number(process.hrtime.bigint() - start) / 1e9)
  })
}

function expectStored(stored: number, of: number): void {
  if (stored !== of) throw new Error(`ingest stored ${stored} of ${of}`)
}

function withStore<T>(key: Uint8Array | undefined, fn: (store: LogStore) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-'))
  const db = openDatabase(join(dir, 'bench.db'), key !== undefined ? { key } : {})
  try {
    return fn(new LogStore(db))
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function withStoreAsync<T>(fn: (store: LogStore) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-'))
  const db = openDatabase(join(dir, 'bench.db'))
  try {
    return await fn(new LogStore(db))
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * libsodium's raw verify rate with every core verifying at once: one worker
 * thread per core, each checking the same signature `iterations` times,
 * started together. Nothing else: the ceiling of any parallel ingest.
 */
async function parallelSodiumRate(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, iterations: number): Promise<number> {
  const source = `
    const { parentPort, workerData: w } = require('node:worker_threads')
    const sodium = require(w.sodiumPath)
    parentPort.once('message', () => {
      for (let i = 0; i < 200; i++) sodium.crypto_sign_verify_detached(w.signature, w.message, w.publicKey)
      for (let i = 0; i < w.iterations; i++) if (!sodium.crypto_sign_verify_detached(w.signature, w.message, w.publicKey)) throw new Error('bad signature')
      parentPort.postMessage('done')
    })`
  const sodiumPath = createRequire(import.meta.url).resolve('sodium-native')
  const workers = Array.from({ length: availableParallelism() }, () => new Worker(source, { eval: true, workerData: { sodiumPath, publicKey, message, signature, iterations } }))
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))))
    const start = process.hrtime.bigint()
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
      w.postMessage('go')
    })))
    return (workers.length * iterations) / (Number(process.hrtime.bigint() - start) / 1e9)
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/** Runs the suite. */
export async function run(): Promise<BenchReport> {
  const rows: BenchRow[] = []
  const hashRates: Record<string, number> = {}
  const repeat = (fn: () => number): number[] => Array.from({ length: ROUNDS }, fn)
  for (const size of [100, 1024]) {
    const data = new Uint8Array(size).fill(0x5a)
    const sha = spread(repeat(() => measureRate(() => createHash('sha256').update(data).digest(), 100_000)))
    const b3 = spread(repeat(() => measureRate(() => blake3(data), 20_000)))
    hashRates[`sha256-${size}`] = sha.value
    hashRates[`blake3-${size}`] = b3.value
    rows.push({ metric: `SHA-256 (node:crypto) ${size} B`, ...sha, unit: 'hashes/s' })
    rows.push({ metric: `BLAKE3 (@noble/hashes) ${size} B`, ...b3, unit: 'hashes/s' })
  }

  const signer = seedSigner(new Uint8Array(32).fill(9))
  const message = new Uint8Array(200).fill(1)
  const signature = signer.sign(message)
  // This machine is shared and noisy: raw verify and ingest are measured in
  // alternation, ROUNDS times, so a burst of foreign load hits both sides of
  // the ratio alike; each figure is the median of its rounds.
  const wire100 = wireOperations(100)
  const wire1k = wireOperations(1024)
  // The yardstick is libsodium, Burrow's verifier and the fastest installed
  // here; node:crypto and @noble are shown for comparison only.
  const opensslKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(signer.publicKey).toString('base64url') }, format: 'jwk' })
  const opensslRounds: number[] = []
  const sodiumRounds: number[] = []
  const ingest100Rounds: number[] = []
  const ingest1kRounds: number[] = []
  const sealed100Rounds: number[] = []
  const sealed1kRounds: number[] = []
  const decodeRounds: number[] = []
  const parallelSodiumRounds: number[] = []
  const pooled100Rounds: number[] = []
  const pooled1kRounds: number[] = []
  // The pool a sync manager makes (one worker per core but one on this machine), and one with a worker on every core.
  const pool = new VerifierPool()
  const widePool = new VerifierPool({ threads: availableParallelism() })
  const wide100Rounds: number[] = []
  const wide1kRounds: number[] = []
  let next = 0
  const decodeNext = (): void => {
    const w = wire100[next++ % wire100.length]!
    decodeOperation(w.header, w.payload)
  }
  for (let round = 0; round < ROUNDS; round++) {
    decodeRounds.push(measureRate(decodeNext, 50_000))
    opensslRounds.push(measureRate(() => opensslVerify(null, message, opensslKey, signature), 5000))
    sodiumRounds.push(measureRate(() => verifySignature(signer.publicKey, message, signature), 5000))
    parallelSodiumRounds.push(await parallelSodiumRate(signer.publicKey, message, signature, 5000))
    ingest100Rounds.push(ingestRate(wire100))
    pooled100Rounds.push(await pooledIngestRate(wire100, pool))
    wide100Rounds.push(await pooledIngestRate(wire100, widePool))
    pooled1kRounds.push(await pooledIngestRate(wire1k, pool))
    wide1kRounds.push(await pooledIngestRate(wire1k, widePool))
    sealed100Rounds.push(ingestRate(wire100, SEAL_KEY))
    ingest1kRounds.push(ingestRate(wire1k))
    sealed1kRounds.push(ingestRate(wire1k, SEAL_KEY))
  }
  const poolThreads = pool.running
  const wideThreads = widePool.running
  await pool.close()
  await widePool.close()
  // ingestCpu holds, per round, 100 B then 1 KiB: split them by size.
  const cpuOf = (kind: 'plain' | 'sealed', size: 0 | 1): number[] => ingestCpu[kind].filter((_, i) => i % 2 === size)
  const openssl = spread(opensslRounds)
  const sodium = spread(sodiumRounds)
  const noble = spread(repeat(() => measureRate(() => ed25519.verify(signature, message, signer.publicKey), 500, 50)))
  const i100 = spread(ingest100Rounds)
  const i1k = spread(ingest1kRounds)
  const ingest100 = i100.value
  const ingest1k = i1k.value
  const sodiumAll = spread(parallelSodiumRounds)
  const p100 = spread(pooled100Rounds)
  const p1k = spread(pooled1kRounds)
  const w100 = spread(wide100Rounds)
  const w1k = spread(wide1kRounds)
  rows.push({ metric: 'Ed25519 verify, node:crypto (cached KeyObject)', ...openssl, unit: 'verifies/s' })
  rows.push({ metric: 'Ed25519 verify, @noble/curves', ...noble, unit: 'verifies/s' })
  rows.push({ metric: "Ed25519 verify, libsodium (Burrow's verifySignature)", ...sodium, unit: 'verifies/s', note: 'one core' })
  rows.push({ metric: `Ed25519 verify, libsodium on all ${availableParallelism()} cores`, ...sodiumAll, unit: 'verifies/s', note: 'one worker thread per core, nothing else running in this process' })

  const logId = new Uint8Array(32).fill(3)
  const payload = new Uint8Array(100).fill(2)
  let seq = 0
  let backlink: Uint8Array | null = null
  const create = spread(
    repeat(() =>
      measureRate(() => {
        const op: Operation = createOperation({ signer, logId, seq, backlink, payload })
        seq++
        backlink = op.hash
      }, 5000),
    ),
  )
  rows.push({ metric: 'create + sign, 100 B payload', ...create, unit: 'ops/s' })

  const ratio100 = p100.value / sodium.value
  const ratio1k = p1k.value / sodium.value
  rows.push({ metric: 'decode only (decodeOperation), 100 B', ...spread(decodeRounds), unit: 'ops/s', note: 'header bytes + payload to an Operation: size limits, CBOR, canonical form, fields, header hash' })
  rows.push({ metric: 'ingest (decode+validate+store), 100 B', ...i100, unit: 'ops/s', note: `${INGEST_OPS} ops, ${AUTHORS} authors, batches of ${BATCH}, WAL, synchronous=FULL` })
  rows.push({ metric: 'ingest (decode+validate+store), 1 KiB', ...i1k, unit: 'ops/s', note: 'as above' })
  rows.push({ metric: 'ingest with a VerifierPool, 100 B', ...p100, unit: 'ops/s', note: `as above, signatures checked on ${poolThreads} worker thread(s), ${PIPELINE_DEPTH} batches ahead (the sync manager's pool)` })
  rows.push({ metric: 'ingest with a VerifierPool, 1 KiB', ...p1k, unit: 'ops/s', note: 'as above' })
  rows.push({ metric: 'ingest with a worker on every core, 100 B', ...w100, unit: 'ops/s', note: `as above, ${wideThreads} worker threads (the main thread shares a core with one)` })
  rows.push({ metric: 'ingest with a worker on every core, 1 KiB', ...w1k, unit: 'ops/s', note: 'as above' })
  const s100 = spread(sealed100Rounds)
  const s1k = spread(sealed1kRounds)
  rows.push({ metric: 'ingest into a sealed database, 100 B', ...s100, unit: 'ops/s', note: 'as above, database sealed (SQLite3 Multiple Ciphers, ChaCha20-Poly1305 pages), same rounds' })
  rows.push({ metric: 'ingest into a sealed database, 1 KiB', ...s1k, unit: 'ops/s', note: 'as above' })
  // Each round measures both back to back: the ratio of each round is less exposed to the machine's drifting load than a ratio of medians.
  const pairedRatio = (sealed: number[], plain: number[]): ReturnType<typeof spread> => spread(sealed.map((v, i) => v / plain[i]!))
  rows.push({ metric: 'seal cost: sealed / unsealed ingest, 100 B', ...pairedRatio(sealed100Rounds, ingest100Rounds), unit: '', note: 'median of the per-round ratios (1 = free)' })
  rows.push({ metric: 'seal cost: sealed / unsealed ingest, 1 KiB', ...pairedRatio(sealed1kRounds, ingest1kRounds), unit: '', note: 'as above' })
  for (const [label, size] of [['100 B', 0], ['1 KiB', 1]] as const) {
    rows.push({ metric: `ingest CPU per operation, unsealed, ${label}`, ...spread(cpuOf('plain', size)), unit: 'µs/op', note: 'user + system time of this process' })
    rows.push({ metric: `ingest CPU per operation, sealed, ${label}`, ...spread(cpuOf('sealed', size)), unit: 'µs/op', note: 'as above' })
    rows.push({ metric: `seal cost in CPU: sealed / unsealed, ${label}`, ...pairedRatio(cpuOf('sealed', size), cpuOf('plain', size)), unit: '', note: 'median of the per-round ratios (1 = free)' })
  }
  // Each round measures all of them back to back: the ratios of the medians, and the median of each round's ratio.
  const perRound = (ingest: number[], verify: number[]): { min: number; max: number; runs: number } => {
    const { min, max, runs } = spread(ingest.map((v, i) => v / verify[i]!))
    return { min, max, runs }
  }
  const perRoundNote = 'min and max: the ratio within each round'
  rows.push({ metric: 'ratio pooled ingest 100 B / libsodium verify, one core', value: ratio100, ...perRound(pooled100Rounds, sodiumRounds), unit: '', note: `target ≥ ${TARGET_RATIO}: ${ratio100 >= TARGET_RATIO ? 'met' : 'MISSED'}; ${perRoundNote}` })
  rows.push({ metric: 'ratio pooled ingest 1 KiB / libsodium verify, one core', value: ratio1k, ...perRound(pooled1kRounds, sodiumRounds), unit: '', note: `target ≥ ${TARGET_RATIO}: ${ratio1k >= TARGET_RATIO ? 'met' : 'MISSED'}; ${perRoundNote}` })
  rows.push({ metric: 'ratio pooled ingest 100 B / libsodium verify, all cores', value: p100.value / sodiumAll.value, ...perRound(pooled100Rounds, parallelSodiumRounds), unit: '', note: 'the same ingest against every core verifying and doing nothing else' })
  rows.push({ metric: 'ratio pooled ingest 1 KiB / libsodium verify, all cores', value: p1k.value / sodiumAll.value, ...perRound(pooled1kRounds, parallelSodiumRounds), unit: '', note: 'as above' })
  rows.push({ metric: 'ratio ingest with a worker on every core 100 B / libsodium verify, one core', value: w100.value / sodium.value, ...perRound(wide100Rounds, sodiumRounds), unit: '', note: 'not the default: the main thread shares a core with a worker' })
  rows.push({ metric: 'ratio ingest with a worker on every core 1 KiB / libsodium verify, one core', value: w1k.value / sodium.value, ...perRound(wide1kRounds, sodiumRounds), unit: '', note: 'as above' })
  rows.push({ metric: 'ratio ingest with a worker on every core 100 B / libsodium verify, all cores', value: w100.value / sodiumAll.value, ...perRound(wide100Rounds, parallelSodiumRounds), unit: '', note: 'as above' })
  rows.push({ metric: 'ratio ingest with a worker on every core 1 KiB / libsodium verify, all cores', value: w1k.value / sodiumAll.value, ...perRound(wide1kRounds, parallelSodiumRounds), unit: '', note: 'as above' })
  rows.push({ metric: 'ratio single-thread ingest 100 B / libsodium verify, one core', value: ingest100 / sodium.value, ...perRound(ingest100Rounds, sodiumRounds), unit: '', note: 'without the pool (before this change): how much decode and store add to a verify' })
  rows.push({ metric: 'ratio single-thread ingest 1 KiB / libsodium verify, one core', value: ingest1k / sodium.value, ...perRound(ingest1kRounds, sodiumRounds), unit: '', note: 'as above' })

  // Each ingested op hashes its header (~200 B) and payload once: what BLAKE3 would add per op.
  const headerRate = (alg: 'sha256' | 'blake3'): number => {
    const h = new Uint8Array(200).fill(1)
    return alg === 'sha256' ? measureRate(() => createHash('sha256').update(h).digest(), 50_000) : measureRate(() => blake3(h), 20_000)
  }
  const sha200 = headerRate('sha256')
  const b3200 = headerRate('blake3')
  for (const [size, measured] of [[100, ingest100], [1024, ingest1k]] as const) {
    const extra = 1 / b3200 - 1 / sha200 + 1 / hashRates[`blake3-${size}`]! - 1 / hashRates[`sha256-${size}`]!
    rows.push({ metric: `ingest ${size === 100 ? '100 B' : '1 KiB'} if hashing were BLAKE3 (estimate)`, value: 1 / (1 / measured + extra), unit: 'ops/s', note: 'measured ingest + measured hash-time difference' })
  }

  return {
    name: 'log',
    rows,
    extra: { target: { ratio: TARGET_RATIO, against: 'libsodium, one core', met: ratio100 >= TARGET_RATIO && ratio1k >= TARGET_RATIO } },
  }
}
