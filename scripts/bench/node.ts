/**
 * `npm run bench -- node`: whole-node figures on a private Tor network.
 *
 * - node start → own onion reachable (fresh nodes);
 * - group message latency: publish at one member → decrypted at another,
 *   next to the raw onion round trip between two tors of the same network;
 * - memory: RSS of a node process (`burrow start`) and of its tor, holding
 *   100,000 stored operations with 10 connected peers.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { encodeContactCard, decodeContactCard } from '../../src/keys/index.js'
import { Burrow, nodePaths, type MessageView } from '../../src/node/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { clientTorrcLines, type Testnet } from '../../src/testnet/index.js'
import { Tor } from '../../src/tor/index.js'
import { TestAuthor } from '../../test/helpers/logs.js'
import { startNetStack, until, type NetStack } from '../../test/helpers/net-stack.js'
import { rawOnion, rawRoundTrips } from './onion-raw.js'
import { percentile, spread, type BenchReport, type BenchRow } from './report.js'
import { benchTestnet } from './testnet.js'

const START_RUNS = 5
const LATENCY_SAMPLES = 100
const STORED_OPS = 100_000
const PEERS = 10
const run$ = promisify(execFile)

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return kb * 1024
}

/** Fresh nodes started one after another: start → tor bootstrapped, ADD_ONION → self-check passed, start → reachable. */
async function startToReachable(testnet: Testnet, root: string): Promise<{ bootstrapped: number[]; published: number[]; reachable: number[] }> {
  const out = { bootstrapped: [] as number[], published: [] as number[], reachable: [] as number[] }
  for (let i = 0; i < START_RUNS; i++) {
    const dataDir = join(root, `start-${i}`)
    await Burrow.init(dataDir)
    const node = await Burrow.open({ dataDir, tor: { mode: 'managed', testnet: testnet.dir } })
    const started = process.hrtime.bigint()
    const since = (): number => Number(process.hrtime.bigint() - started) / 1e6
    node.once('tor:ready', () => out.bootstrapped.push(since()))
    node.once('onion:reachable', ({ ms }) => out.published.push(ms))
    await node.start()
    out.reachable.push(since())
    await node.stop()
  }
  return out
}

async function groupLatency(testnet: Testnet, root: string): Promise<number[]> {
  const nodes: Burrow[] = []
  try {
    for (const name of ['alice', 'bob']) {
      const dataDir = join(root, name)
      await Burrow.init(dataDir)
      nodes.push(await Burrow.open({ dataDir, displayName: name, tor: { mode: 'managed', testnet: testnet.dir } }))
    }
    const [alice, bob] = nodes as [Burrow, Burrow]
    await Promise.all(nodes.map((n) => n.start()))
    await alice.addPeer(bob.contactCard())
    await bob.addPeer(alice.contactCard())
    const group = await alice.createGroup()
    await alice.invite(group.id, 'bob')
    await until(() => bob.groups().some((g) => g.id === group.id), 120_000, 'bob to join')
    const samples: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const text = `ping ${i} ${randomBytes(4).toString('hex')}`
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('group message lost')), 30_000)
        const on = (m: MessageView): void => {
          if (m.text !== text) return
          clearTimeout(timer)
          bob.off('group:message', on)
          resolve()
        }
        bob.on('group:message', on)
      })
      const started = process.hrtime.bigint()
      await alice.send(group.id, text)
      await arrived
      samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
    return samples
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  }
}

async function rawRtt(testnet: Testnet, root: string): Promise<number[]> {
  const lines = clientTorrcLines(testnet.state)
  const tors = [Tor.managed({ dataDir: join(root, 'rtt-a'), extraTorrcLines: lines }), Tor.managed({ dataDir: join(root, 'rtt-b'), extraTorrcLines: lines })]
  try {
    await Promise.all(tors.map((t) => t.start()))
    const echo = await rawOnion(tors[0]!, 'echo')
    const rtts = await rawRoundTrips(tors[1]!, echo.address, LATENCY_SAMPLES)
    await echo.close()
    return rtts
  } finally {
    await Promise.allSettled(tors.map((t) => t.stop()))
  }
}

/** A `burrow start` process holding 100,000 operations, with 10 connected peers; returns node and tor RSS. */
async function memory(testnet: Testnet, root: string): Promise<{ nodeRss: number; torRss: number; connected: number; operations: number }> {
  const dataDir = join(root, 'memory-node')
  const cli = (...args: string[]) => run$(process.execPath, ['bin/burrow.js', '--data-dir', dataDir, '--json', ...args], { timeout: 120_000 })
  await cli('init', '--no-passphrase', '--name', 'measured')
  // 100,000 operations of 10 authors, written before the node starts.
  const db = openDatabase(nodePaths(dataDir).database)
  const logs = new LogStore(db)
  const log = randomBytes(32)
  for (let a = 0; a < 10; a++) {
    const author = new TestAuthor()
    for (let done = 0; done < STORED_OPS / 10; done += 1_000) logs.ingest(author.many(log, 1_000, 100))
  }
  db.close()

  const child = spawn(process.execPath, ['bin/burrow.js', '--data-dir', dataDir, '--testnet', testnet.dir, 'start'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const stacks: NetStack[] = []
  try {
    // `burrow start` prints this line once its own onion passed the self-check (and the local API serves).
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    await until(() => out.includes('reachable at'), 180_000, 'the node to become reachable')
    const card = (JSON.parse((await cli('card')).stdout) as { card: string }).card
    const torLines = clientTorrcLines(testnet.state)
    stacks.push(...(await Promise.all(Array.from({ length: PEERS }, (_, i) => startNetStack(`mem-peer-${i}`, [], { torLines })))))
    for (const stack of stacks) {
      await cli('peers', 'add', encodeContactCard(stack.card, stack.keys))
      await stack.allow(decodeContactCard(card))
    }
    const connectedCount = async (): Promise<number> =>
      (JSON.parse((await cli('peers', 'list')).stdout) as { peers: { connected: boolean }[] }).peers.filter((p) => p.connected).length
    const deadline = Date.now() + 180_000
    let connected = 0
    while ((connected = await connectedCount()) < PEERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000))
    await new Promise((r) => setTimeout(r, 5_000)) // settle
    const status = JSON.parse((await cli('status')).stdout) as { tor: { pid?: number }; operations: number }
    return { nodeRss: rssOf(child.pid!), torRss: status.tor.pid !== undefined ? rssOf(status.tor.pid) : NaN, connected, operations: status.operations }
  } finally {
    await cli('stop').catch(() => child.kill('SIGTERM'))
    await new Promise((r) => setTimeout(r, 2_000))
    if (child.exitCode === null) child.kill('SIGKILL')
    await Promise.allSettled(stacks.map((s) => s.stop()))
  }
}

export async function run(): Promise<BenchReport> {
  const { testnet, upMs } = await benchTestnet()
  const root = mkdtempSync(join(tmpdir(), 'burrow-bench-node-'))
  try {
    const starts = await startToReachable(testnet, root)
    const latency = (await groupLatency(testnet, root)).sort((x, y) => x - y)
    const rtt = (await rawRtt(testnet, root)).sort((x, y) => x - y)
    const mem = await memory(testnet, root)
    const rows: BenchRow[] = [
      ...(upMs > 0 ? [{ metric: 'private Tor network up (3 authorities + 3 relays)', value: upMs, unit: 'ms', runs: 1 }] : []),
      { metric: 'node start → tor bootstrapped (100 %, circuit)', ...spread(starts.bootstrapped), unit: 'ms' },
      { metric: 'ADD_ONION → descriptors uploaded → self-check ok', ...spread(starts.published), unit: 'ms' },
      { metric: 'node start → own onion reachable (self-check passed)', ...spread(starts.reachable), unit: 'ms' },
      { metric: 'group message p50 (publish → decrypted at a member)', value: percentile(latency, 50), unit: 'ms', runs: latency.length },
      { metric: 'group message p95', value: percentile(latency, 95), unit: 'ms', runs: latency.length },
      { metric: 'raw onion round trip p50', value: percentile(rtt, 50), unit: 'ms', runs: rtt.length },
      { metric: 'raw onion round trip p95', value: percentile(rtt, 95), unit: 'ms', runs: rtt.length },
      { metric: `node RSS, ${STORED_OPS.toLocaleString('en-US')} operations, ${mem.connected} connected peers`, value: mem.nodeRss / 1e6, unit: 'MB', note: `${mem.operations} operations reported` },
      { metric: 'its tor RSS', value: mem.torRss / 1e6, unit: 'MB' },
    ]
    return { name: 'node', rows, extra: { start: starts, groupLatencyMs: latency, rttMs: rtt, memory: mem } }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
