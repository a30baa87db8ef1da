/**
 * `npm run bench -- sync`: log replication over onion services on a private
 * Tor network, next to raw onion streams over the same tor processes.
 *
 * Node A holds the data and publishes the onion service; node B dials it
 * (only B's connector runs), so sync data flows service → client, the same
 * direction as the raw baseline.
 */
import { randomBytes } from 'node:crypto'
import { toHex, type Operation } from '../../src/log/index.js'
import { clientTorrcLines } from '../../src/testnet/index.js'
import { startNetStack, until, type NetStack } from '../../test/helpers/net-stack.js'
import { rawOnion, rawRoundTrips, rawThroughput } from './onion-raw.js'
import { percentile, spread, type BenchReport, type BenchRow } from './report.js'
import { benchTestnet } from './testnet.js'

const DIAL_RUNS = 5
const CATCH_UP_RUNS = 3
const CATCH_UP_OPS = 10_000
const PAYLOAD_BYTES = 1024
const LATENCY_SAMPLES = 200
const RAW_RUNS = 3

function connected(x: NetStack, y: NetStack): boolean {
  return x.net.libp2p.getConnections().some((c) => c.remotePeer.toString() === y.peerId && c.status === 'open')
}

async function disconnect(a: NetStack, b: NetStack): Promise<void> {
  for (const c of b.net.libp2p.getConnections()) await c.close().catch(() => c.abort(new Error('bench reset')))
  await until(() => !connected(a, b) && !connected(b, a), 30_000, 'the connection to close')
}

/** Dials A from B and resolves when A has answered B's `have` for the topic: one full sync round. */
async function dialAndSync(a: NetStack, b: NetStack, topic: Uint8Array): Promise<number> {
  const caughtUp = new Promise<void>((resolve) => {
    const on = ({ peer, logId }: { peer: string; logId: Uint8Array }): void => {
      if (peer === a.peerId && toHex(logId) === toHex(topic)) {
        b.sync.off('caught-up', on)
        resolve()
      }
    }
    b.sync.on('caught-up', on)
  })
  const started = process.hrtime.bigint()
  await b.connector.dial(b.table.get(a.peerId)!)
  await Promise.race([caughtUp, new Promise((_, reject) => setTimeout(() => reject(new Error('no sync round within 120 s')), 120_000))])
  return Number(process.hrtime.bigint() - started) / 1e6
}

export async function run(): Promise<BenchReport> {
  const { testnet } = await benchTestnet()
  const torLines = clientTorrcLines(testnet.state)
  const topic = randomBytes(32)
  const [a, b] = await Promise.all([startNetStack('bench-a', [topic], { torLines }), startNetStack('bench-b', [topic], { torLines })])
  try {
    a.connector.stop()
    b.connector.stop()
    a.append(topic, 100)
    await a.allow(b)
    await b.allow(a)

    // Dial → first sync round complete. The first run also fetches A's descriptor.
    const dialMs: number[] = []
    for (let i = 0; i < DIAL_RUNS; i++) {
      if (i > 0) await disconnect(a, b)
      dialMs.push(await dialAndSync(a, b, topic))
    }

    // Catch-up of 10,000 × 1 KiB over one onion connection.
    const catchUp: number[] = []
    let bytesPerRun = 0
    for (let i = 0; i < CATCH_UP_RUNS; i++) {
      await disconnect(a, b)
      const ops = a.append(topic, CATCH_UP_OPS, PAYLOAD_BYTES)
      bytesPerRun = ops.reduce((n, op) => n + op.headerBytes.length + (op.payload?.length ?? 0), 0)
      const target = b.logs.counts().operations + CATCH_UP_OPS
      const started = process.hrtime.bigint()
      await b.connector.dial(b.table.get(a.peerId)!)
      await until(() => b.logs.counts().operations >= target, 300_000, 'the catch-up')
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      catchUp.push(bytesPerRun / seconds)
    }

    // Live push: A appends one operation, B has it stored.
    const pushMs: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      let op: Operation | undefined
      const stored = new Promise<void>((resolve) => {
        const on = ({ operations }: { operations: Operation[] }): void => {
          if (op !== undefined && operations.some((o) => toHex(o.hash) === toHex(op!.hash))) {
            b.sync.off('ingested', on)
            resolve()
          }
        }
        b.sync.on('ingested', on)
      })
      const started = process.hrtime.bigint()
      op = a.append(topic, 1, 100)[0]
      await Promise.race([stored, new Promise((_, reject) => setTimeout(() => reject(new Error('live push lost')), 30_000))])
      pushMs.push(Number(process.hrtime.bigint() - started) / 1e6)
    }

    // Raw baselines over the same two tor processes.
    const rawBytes = bytesPerRun
    const source = await rawOnion(a.tor, 'source', rawBytes)
    const raw: number[] = []
    for (let i = 0; i < RAW_RUNS; i++) raw.push(await rawThroughput(b.tor, source.address, rawBytes))
    await source.close()
    const echo = await rawOnion(a.tor, 'echo')
    const rtt = (await rawRoundTrips(b.tor, echo.address, LATENCY_SAMPLES)).sort((x, y) => x - y)
    await echo.close()

    const push = [...pushMs].sort((x, y) => x - y)
    const sync = spread(catchUp)
    const rawSpread = spread(raw)
    const dialSpread = spread(dialMs)
    const rows: BenchRow[] = [
      { metric: 'dial → first sync round complete', ...dialSpread, unit: 'ms', note: `first (cold descriptor) ${Math.round(dialMs[0]!)} ms` },
      { metric: `catch-up ${CATCH_UP_OPS.toLocaleString('en-US')} × 1 KiB, one onion connection`, ...spread(catchUp.map((x) => x / 1e6)), unit: 'MB/s', note: `${(bytesPerRun / 1e6).toFixed(1)} MB per run` },
      { metric: 'raw onion stream, same tors, same direction', ...spread(raw.map((x) => x / 1e6)), unit: 'MB/s' },
      { metric: 'ratio sync / raw throughput', value: sync.value / rawSpread.value, unit: '', note: 'target ≥ 0.8' },
      { metric: 'live push p50 (append → stored at peer)', value: percentile(push, 50), unit: 'ms', runs: push.length },
      { metric: 'live push p95', value: percentile(push, 95), unit: 'ms', runs: push.length },
      { metric: 'raw onion round trip p50', value: percentile(rtt, 50), unit: 'ms', runs: rtt.length },
      { metric: 'raw onion round trip p95', value: percentile(rtt, 95), unit: 'ms', runs: rtt.length },
    ]
    return { name: 'sync', rows, extra: { dialMs, catchUpBytesPerSecond: catchUp, rawBytesPerSecond: raw, pushMs, rttMs: rtt } }
  } finally {
    await Promise.allSettled([a.stop(), b.stop()])
  }
}
