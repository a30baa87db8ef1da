/**
 * `npm run bench -- scale`: a node as its store and its peers grow (issue 21),
 * on the private Tor network (fast profile).
 *
 * - memory: RSS of a `burrow start` process holding 100,000 operations with
 *   10 connected peers, split into V8's heap, memory outside it and the
 *   kernel's view, 5 s and 60 s after they connected, for the node run from
 *   the checkout (through tsx, as `bin/burrow.js` does there), built and
 *   started by its launcher executed as `burrow` (as an installed package
 *   runs), and built without the launcher's Node flags.
 * - million: 1,000,000 operations of 1,000 authors (100-byte payloads): the
 *   fixture's build, database size, `heights()` (every connection runs it),
 *   the node's start and RSS next to an empty node's in the same run, and a
 *   full catch-up to a new member over one onion connection, next to raw
 *   onion streams of the same bytes over the same tors before and after it.
 *
 * `BURROW_SCALE=memory` or `=million` runs one part; `BURROW_SCALE_PER_AUTHOR`
 * sets the operations per author of the second (default 1,000);
 * `BURROW_SCALE_VARIANTS` names the node runs of the first (default all);
 * `BURROW_SCALE_BASELINE=<git revision>` adds a first run of that revision's
 * sources, built the same way, as a same-run baseline.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { ContactCard } from '../../src/keys/index.js'
import { decodeContactCard, encodeContactCard } from '../../src/keys/index.js'
import { nodePaths } from '../../src/node/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { clientTorrcLines, type Testnet } from '../../src/testnet/index.js'
import { startNetStack, until, type NetStack } from '../../test/helpers/net-stack.js'
import { processCpuSeconds } from './cpu.js'
import { buildFixture, type FixtureBuild } from './fixture.js'
import { rawThroughput } from './onion-raw.js'
import { PeerProcess } from './peer-process.js'
import { spread, type BenchReport, type BenchRow } from './report.js'
import { benchTestnet } from './testnet.js'

const MEMORY_OPS = { authors: 10, perAuthor: 10_000 }
const MEMORY_PEERS = 10
/** Seconds after the peers connected at which the memory is read: just settled, and at rest. */
const MEMORY_READINGS_S = [5, 60] as const
/** `BURROW_SCALE_PER_AUTHOR` makes a smaller store, for quick experiments (the figures then say so). */
const MILLION = { authors: 1_000, perAuthor: Number(process.env.BURROW_SCALE_PER_AUTHOR ?? 1_000) }
const PAYLOAD_BYTES = 100
const HEIGHTS_CALLS = 20
const CATCH_UP_TIMEOUT_MS = 1_200_000
const run$ = promisify(execFile)
const PROBE = pathToFileURL(resolve('scripts/bench/memory-probe.mjs')).href

/**
 * How a measured node is run: from the checkout (through tsx) or built (from
 * the checkout or the baseline revision); through the launcher, executed as
 * `burrow` is (its shebang's Node flags apply), or as `node [flags] dist/cli/main.js`.
 */
interface Variant {
  readonly name: string
  readonly label: string
  readonly built: boolean
  /** Node flags, for a variant run without the launcher. */
  readonly nodeFlags?: readonly string[]
  readonly baseline?: true
}

const ALL_VARIANTS: readonly Variant[] = [
  { name: 'checkout', label: 'checkout, bin/burrow.js through tsx', built: false },
  { name: 'built', label: 'built, as installed: bin/burrow.js (--max-semi-space-size=4)', built: true },
  { name: 'built-default', label: "built, node dist/cli/main.js: Node's default semi-space", built: true, nodeFlags: [] },
]
const BASELINE = process.env.BURROW_SCALE_BASELINE
const VARIANTS = [
  ...(BASELINE === undefined ? [] : [{ name: 'baseline', label: `built at ${BASELINE}, node dist/cli/main.js`, built: true, nodeFlags: [], baseline: true } as const]),
  ...(process.env.BURROW_SCALE_VARIANTS === undefined ? ALL_VARIANTS : ALL_VARIANTS.filter((v) => process.env.BURROW_SCALE_VARIANTS!.split(',').includes(v.name))),
]

function rssOf(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
  return kb * 1024
}

const mb = (bytes: number): number => bytes / 1e6
const secondsSince = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e9

/** What memory-probe.mjs reports. */
interface MemoryReport {
  memoryUsage: NodeJS.MemoryUsage
  heapSpaces: { name: string; size: number; used: number }[]
  rollup: Record<string, number>
}

/** A `burrow start` process, run from the checkout or from a build, with the memory probe loaded. */
class NodeProcess {
  readonly child: ChildProcess
  readonly dataDir: string
  readonly #probeFile: string
  #out = ''
  #err = ''

  /** `nodeFlags` undefined: `entry` is a launcher, executed (the probe then loads through NODE_OPTIONS). */
  constructor(dataDir: string, entry: string, testnet: Testnet, nodeFlags?: readonly string[]) {
    this.dataDir = dataDir
    this.#probeFile = join(dataDir, 'memory.json')
    const args = ['--data-dir', dataDir, '--testnet', testnet.dir, 'start']
    const env = { ...process.env, BURROW_MEMORY_PROBE: this.#probeFile }
    this.child = nodeFlags === undefined
      ? spawn(entry, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NODE_OPTIONS: `--import=${PROBE}` } })
      : spawn(process.execPath, [...nodeFlags, '--import', PROBE, entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    this.child.stdout?.on('data', (chunk: Buffer) => (this.#out += chunk.toString('utf8')))
    this.child.stderr?.on('data', (chunk: Buffer) => (this.#err = (this.#err + chunk.toString('utf8')).slice(-2_000)))
  }

  /** Seconds from spawn until `burrow start` says its onion is reachable. */
  async reachable(started: bigint): Promise<number> {
    await until(() => this.#out.includes('reachable at') || this.child.exitCode !== null, 240_000, 'the node to become reachable')
    if (this.child.exitCode !== null) throw new Error(`burrow start exited with ${this.child.exitCode}: ${this.#err}`)
    return secondsSince(started)
  }

  cli(...args: string[]): Promise<{ stdout: string }> {
    return cli(this.dataDir, ...args)
  }

  async memory(): Promise<MemoryReport & { rss: number }> {
    rmSync(this.#probeFile, { force: true })
    this.child.kill('SIGUSR2')
    await until(() => existsSync(this.#probeFile), 30_000, 'the memory probe')
    const report = JSON.parse(readFileSync(this.#probeFile, 'utf8')) as MemoryReport
    // The probe's own reading: a heap snapshot written after it would count in a later one.
    return { ...report, rss: report.rollup.Rss ?? rssOf(this.child.pid!) }
  }

  async stop(): Promise<void> {
    await this.cli('stop').catch(() => this.child.kill('SIGTERM'))
    const deadline = Date.now() + 10_000
    while (this.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }
}

function cli(dataDir: string, ...args: string[]): Promise<{ stdout: string }> {
  return run$(process.execPath, ['bin/burrow.js', '--data-dir', dataDir, '--json', ...args], { timeout: 120_000 })
}

/** A fresh node data dir, initialised; with `fixture`, its store holds those operations. */
async function dataDirWith(root: string, name: string, fixture?: { authors: number; perAuthor: number; logId: Uint8Array }): Promise<{ dataDir: string; build?: FixtureBuild }> {
  const dataDir = join(root, name)
  await cli(dataDir, 'init', '--no-passphrase', '--name', name)
  if (fixture === undefined) return { dataDir }
  const build = await buildFixture({ path: nodePaths(dataDir).database, payloadBytes: PAYLOAD_BYTES, ...fixture })
  return { dataDir, build }
}

/**
 * The sources compiled as `npm run build` does, laid out like the installed
 * package (dist/ beside tor/) in a folder of the checkout, so that
 * node_modules resolves; with `revision`, that revision's sources.
 */
async function buildDist(revision?: string): Promise<string> {
  const pkg = resolve('bench-results', revision === undefined ? 'scale-package' : 'scale-baseline')
  rmSync(pkg, { recursive: true, force: true })
  mkdirSync(pkg, { recursive: true })
  symlinkSync(resolve('tor'), join(pkg, 'tor'))
  mkdirSync(join(pkg, 'bin'))
  copyFileSync(resolve('bin', 'burrow.js'), join(pkg, 'bin', 'burrow.js'))
  chmodSync(join(pkg, 'bin', 'burrow.js'), 0o755)
  const outDir = join(pkg, 'dist')
  let project = 'tsconfig.build.json'
  if (revision !== undefined) {
    const sources = join(pkg, 'sources')
    mkdirSync(sources)
    await run$('sh', ['-c', `git archive "$0" src tsconfig.json tsconfig.build.json | tar -x -C "$1"`, revision, sources], { timeout: 60_000 })
    project = join(sources, 'tsconfig.build.json')
  }
  await run$(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', project, '--outDir', outDir], { timeout: 300_000 })
  return outDir
}

function memoryRows(label: string, m: MemoryReport & { rss: number }): BenchRow[] {
  const u = m.memoryUsage
  const anon = m.rollup.Anonymous ?? NaN
  return [
    { metric: `${label}: RSS`, value: mb(m.rss), unit: 'MB' },
    { metric: `${label}: V8 heap, total / used`, value: mb(u.heapTotal), unit: 'MB', note: `${mb(u.heapUsed).toFixed(1)} MB used; spaces (total MB): ${m.heapSpaces.filter((s) => s.size > 1e6).map((s) => `${s.name} ${mb(s.size).toFixed(1)}`).join(', ')}` },
    { metric: `${label}: external / array buffers`, value: mb(u.external), unit: 'MB', note: `${mb(u.arrayBuffers).toFixed(1)} MB of array buffers (inside external)` },
    { metric: `${label}: resident anonymous / file-backed`, value: mb(anon), unit: 'MB', note: `${mb(m.rss - anon).toFixed(1)} MB file-backed (code of node and native modules, mapped files)` },
  ]
}

/** RSS of nodes holding 100,000 operations with 10 connected peers, run from the checkout and built. */
async function memory(testnet: Testnet, root: string, dist: string): Promise<{ rows: BenchRow[]; extra: Record<string, unknown> }> {
  const baselineDist = BASELINE === undefined ? undefined : await buildDist(BASELINE)
  const torLines = clientTorrcLines(testnet.state)
  const logId = randomBytes(32)
  const stacks: NetStack[] = await Promise.all(Array.from({ length: MEMORY_PEERS }, (_, i) => startNetStack(`scale-peer-${i}`, [], { torLines })))
  const rows: BenchRow[] = []
  const extra: Record<string, unknown> = {}
  try {
    for (const variant of VARIANTS) {
      const { dataDir } = await dataDirWith(root, `memory-${variant.name}`, { ...MEMORY_OPS, logId })
      const entry = variant.nodeFlags === undefined
        ? join(variant.built ? dirname(dist) : resolve('.'), 'bin', 'burrow.js')
        : join(variant.baseline === true ? baselineDist! : dist, 'cli', 'main.js')
      const node = new NodeProcess(dataDir, entry, testnet, variant.nodeFlags)
      try {
        await node.reachable(process.hrtime.bigint())
        const card = (JSON.parse((await node.cli('card')).stdout) as { card: string }).card
        for (const stack of stacks) {
          await node.cli('peers', 'add', encodeContactCard(stack.card, stack.keys), '--yes')
          await stack.allow(decodeContactCard(card))
        }
        const connectedCount = async (): Promise<number> =>
          (JSON.parse((await node.cli('peers', 'list')).stdout) as { peers: { connected: boolean }[] }).peers.filter((p) => p.connected).length
        const deadline = Date.now() + 180_000
        let connected = 0
        while ((connected = await connectedCount()) < MEMORY_PEERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000))
        const status = JSON.parse((await node.cli('status')).stdout) as { tor: { pid?: number }; operations: number }
        let waited = 0
        for (const seconds of MEMORY_READINGS_S) {
          await new Promise((r) => setTimeout(r, (seconds - waited) * 1_000))
          waited = seconds
          const m = await node.memory()
          const label = `node (${variant.label}), ${(MEMORY_OPS.authors * MEMORY_OPS.perAuthor).toLocaleString('en-US')} operations, ${connected} peers connected, ${seconds} s after`
          rows.push(...memoryRows(label, m))
          extra[`memory-${variant.name}-${seconds}s`] = { ...m, connected, operations: status.operations }
        }
        if (status.tor.pid !== undefined) rows.push({ metric: `node (${variant.label}): its tor's RSS`, value: mb(rssOf(status.tor.pid)), unit: 'MB', note: 'not counted above' })
      } finally {
        await node.stop()
      }
    }
  } finally {
    await Promise.allSettled(stacks.map((s) => s.stop()))
    if (baselineDist !== undefined) rmSync(dirname(baselineDist), { recursive: true, force: true })
  }
  return { rows, extra }
}

/** Times `heights()` on a store just opened (the first call) and warm (median of the next calls). */
function heightsTimes(path: string, logId: Uint8Array): { firstMs: number; warmMs: number[]; authors: number } {
  const db = openDatabase(path)
  try {
    const store = new LogStore(db)
    let started = process.hrtime.bigint()
    const authors = store.heights(logId).size
    const firstMs = secondsSince(started) * 1e3
    const warmMs: number[] = []
    for (let i = 0; i < HEIGHTS_CALLS; i++) {
      started = process.hrtime.bigint()
      store.heights(logId)
      warmMs.push(secondsSince(started) * 1e3)
    }
    return { firstMs, warmMs, authors }
  } finally {
    db.close()
  }
}

/** Resolves with the seconds from now until `b` has stored `count` operations from `peer`; samples `pid`'s RSS meanwhile. */
function caughtUp(b: NetStack, peer: string, count: number, pid: number): Promise<{ seconds: number; senderRss: number; peakSenderRss: number }> {
  const started = process.hrtime.bigint()
  const senderRss = rssOf(pid)
  let peak = senderRss
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 1_000)
  return new Promise((resolvePromise, reject) => {
    let total = 0
    const finish = (error?: Error): void => {
      clearTimeout(timer)
      clearInterval(sampler)
      b.sync.off('ingested', on)
      if (error !== undefined) reject(error)
      else resolvePromise({ seconds: secondsSince(started), senderRss, peakSenderRss: peak })
    }
    const timer = setTimeout(() => finish(new Error(`catch-up stored ${total} of ${count} operations within ${CATCH_UP_TIMEOUT_MS / 1000} s`)), CATCH_UP_TIMEOUT_MS)
    const on = ({ peer: from, stored }: { peer: string; stored: number }): void => {
      if (from === peer && (total += stored) >= count) finish()
    }
    b.sync.on('ingested', on)
  })
}

/** A million operations: fixture, database size, heights(), node start and RSS, and a catch-up next to raw streams. */
async function million(testnet: Testnet, root: string, dist: string): Promise<{ rows: BenchRow[]; extra: Record<string, unknown> }> {
  const logId = randomBytes(32)
  const count = MILLION.authors * MILLION.perAuthor
  const label = `${count.toLocaleString('en-US')} operations of ${MILLION.authors.toLocaleString('en-US')} authors`
  const rows: BenchRow[] = []
  const { dataDir, build } = await dataDirWith(root, 'million', { ...MILLION, logId })
  const { dataDir: emptyDir } = await dataDirWith(root, 'empty')
  const database = nodePaths(dataDir).database
  rows.push({ metric: `fixture: ${label}, ${PAYLOAD_BYTES}-byte payloads, signed and stored`, value: build!.seconds, unit: 's', note: `${build!.signThreads} signing threads, one transaction; ${mb(build!.wireBytes).toFixed(0)} MB of headers and payloads` })
  rows.push({ metric: `database size, ${label}`, value: mb(statSync(database).size), unit: 'MB', note: `${(statSync(database).size / count).toFixed(0)} bytes per operation, indexes included` })

  const heights = heightsTimes(database, logId)
  rows.push({ metric: `heights(), ${label}, first call (read from SQLite)`, value: heights.firstMs, unit: 'ms', note: `${heights.authors} authors returned; a fresh connection` })
  rows.push({ metric: `heights(), ${label}, later calls (remembered by the store)`, ...spread(heights.warmMs), unit: 'ms', note: 'a copy of the remembered map' })

  // Node start (built), empty and holding the million, alternating so that both meet the machine alike.
  const entry = join(dist, 'cli', 'main.js')
  const starts: Record<'empty' | 'million', number[]> = { empty: [], million: [] }
  const rss: Record<'empty' | 'million', number[]> = { empty: [], million: [] }
  for (const which of ['empty', 'million', 'million', 'empty'] as const) {
    const node = new NodeProcess(which === 'empty' ? emptyDir : dataDir, entry, testnet, [])
    try {
      starts[which].push(await node.reachable(process.hrtime.bigint()))
      await node.cli('status')
      rss[which].push((await node.memory()).rss)
    } finally {
      await node.stop()
    }
  }
  rows.push({ metric: `node start → reachable (built), ${label}`, ...spread(starts.million), unit: 's', note: `empty node in the same run: ${starts.empty.map((s) => s.toFixed(1)).join(', ')} s` })
  rows.push({ metric: `node RSS after start and one status (built), ${label}`, ...spread(rss.million.map(mb)), unit: 'MB', note: `empty node: ${rss.empty.map((r) => mb(r).toFixed(0)).join(', ')} MB` })

  // Catch-up: A (its own process) holds a copy of the million and publishes; B (this process) is the new member.
  const senderDb = join(root, 'sender.db')
  copyFileSync(database, senderDb)
  const torLines = clientTorrcLines(testnet.state)
  const a = PeerProcess.spawn()
  let b: NetStack | undefined
  try {
    const [aInfo, bStack] = await Promise.all([
      a.call<{ card: ContactCard; peerId: string }>({ op: 'start', name: 'scale-a', topic: logId, torLines, database: senderDb }),
      startNetStack('scale-b', [logId], { torLines }),
    ])
    b = bStack
    b.connector.stop()
    await a.call({ op: 'allow', card: b.card })
    await b.allow(aInfo.card)
    const source = await a.call<string>({ op: 'raw', mode: 'source', bytes: build!.wireBytes })
    const raw: number[] = []
    const measureRaw = async (): Promise<void> => void raw.push((await rawThroughput(b!.tor, source, build!.wireBytes)).bytesPerSecond)
    await measureRaw()
    const senderCpu = processCpuSeconds(a.pid!)
    const cpu = process.cpuUsage()
    const done = caughtUp(b, aInfo.peerId, count, a.pid!)
    await b.connector.dial(b.table.get(aInfo.peerId)!)
    const { seconds, senderRss, peakSenderRss } = await done
    const receiverCpu = process.cpuUsage(cpu)
    const senderCpuUs = (processCpuSeconds(a.pid!) - senderCpu) * 1e6
    await measureRaw()
    const catchUp = build!.wireBytes / seconds
    const rawMean = (raw[0]! + raw[1]!) / 2
    rows.push({ metric: `catch-up of ${label} to a new member, one onion connection`, value: mb(catchUp), unit: 'MB/s', note: `${seconds.toFixed(1)} s, dial included; ${(count / seconds).toFixed(0)} ops/s` })
    rows.push({ metric: 'raw onion stream of the same bytes, same tors, before and after', value: mb(rawMean), unit: 'MB/s', note: raw.map((r) => mb(r).toFixed(2)).join(' and ') })
    rows.push({ metric: 'ratio catch-up / raw', value: catchUp / rawMean, unit: '', note: `target ≥ 0.8: ${catchUp / rawMean >= 0.8 ? 'met' : 'MISSED'} (one pair)` })
    rows.push({ metric: 'receiver CPU per operation during the catch-up', value: (receiverCpu.user + receiverCpu.system) / count, unit: 'µs', note: 'all its threads: Noise, yamux, decode, verify (VerifierPool), store' })
    rows.push({ metric: 'sender CPU per operation during the catch-up', value: senderCpuUs / count, unit: 'µs' })
    rows.push({ metric: 'sender RSS growth during the catch-up (peak − before)', value: mb(peakSenderRss - senderRss), unit: 'MB', note: `sampled every second; ${mb(senderRss).toFixed(0)} MB before, which holds the raw source's ${mb(build!.wireBytes).toFixed(0)} MB of bytes` })
    return { rows, extra: { fixture: build, heights, starts, rss, catchUpSeconds: seconds, rawBytesPerSecond: raw } }
  } finally {
    await Promise.allSettled([a.stop(), b?.stop()])
  }
}

export async function run(): Promise<BenchReport> {
  const { testnet } = await benchTestnet()
  const parts = (process.env.BURROW_SCALE ?? 'memory,million').split(',')
  const root = mkdtempSync(join(tmpdir(), 'burrow-bench-scale-'))
  const rows: BenchRow[] = []
  const extra: Record<string, unknown> = {}
  let dist: string | undefined
  try {
    dist = await buildDist()
    for (const [name, part] of [['memory', memory], ['million', million]] as const) {
      if (!parts.includes(name)) continue
      const result = await part(testnet, root, dist)
      rows.push(...result.rows)
      Object.assign(extra, result.extra)
    }
    return { name: 'scale', rows, extra }
  } finally {
    rmSync(root, { recursive: true, force: true })
    if (dist !== undefined) rmSync(dirname(dist), { recursive: true, force: true })
  }
}
