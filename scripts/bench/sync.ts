/**
 * `npm run bench -- sync [--profile live]`: log replication over onion
 * services on a private Tor network, next to raw onion streams over the same
 * tor processes.
 *
 * Node A (its own process) holds the data and publishes the onion service;
 * node B (this process) dials it, so sync data flows service → client, the
 * same direction as the raw baseline. The last part moves a 100 MB file
 * (sync-file.ts; fast profile only).
 */
import { randomBytes } from 'node:crypto'
import type { ContactCard } from '../../src/keys/index.js'
import { toHex } from '../../src/log/index.js'
import { clientTorrcLines } from '../../src/testnet/index.js'
import { startNetStack, until, type NetStack } from '../../test/helpers/net-stack.js'
import { cpuLoad, machineBusy, processCpuSeconds } from './cpu.js'
import { streamThroughput } from './libp2p-raw.js'
import { rawRoundTrips, rawThroughput } from './onion-raw.js'
import { PeerProcess } from './peer-process.js'
import { percentile, spread, type BenchReport, type BenchRow } from './report.js'
import { fileTopics, fileTransfers } from './sync-file.js'
import { benchProfile, benchTestnet } from './testnet.js'
import type { CircuitSummary } from './tor-circuits.js'

const DIAL_RUNS = 5
/**
 * Paired rounds (catch-up, raw stream, libp2p stream, raw stream under load).
 * On the live profile each transfer of ~12 MB takes 20–35 s, so fewer rounds
 * there (the suite then runs about 12 minutes).
 */
const CATCH_UP_RUNS = { fast: 15, live: 6 } as const
const CATCH_UP_OPS = 10_000
const PAYLOAD_BYTES = 1024
/**
 * Latencies are sampled over several circuits, fresh for each: one circuit's
 * round trip can sit at 16 ms or at 96 ms for all its samples (both seen in
 * single-circuit runs on 29 November 2026), so a single one says little.
 */
const LATENCY_CIRCUITS = 4
const LATENCY_SAMPLES_PER_CIRCUIT = 50

function connectedTo(x: NetStack, peerId: string): boolean {
  return x.net.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')
}

async function disconnect(b: NetStack, peerId: string): Promise<void> {
  for (const c of b.net.libp2p.getConnections()) await c.close().catch(() => c.abort(new Error('bench reset')))
  await until(() => !connectedTo(b, peerId), 30_000, 'the connection to close')
}

/** Resolves once B has stored `count` new operations from `peerId`, with the time (hrtime) it first stored any. */
function storedCount(b: NetStack, peerId: string, count: number): Promise<bigint> {
  return new Promise<bigint>((resolve, reject) => {
    let total = 0
    let firstAt: bigint | undefined
    const timer = setTimeout(() => {
      b.sync.off('ingested', on)
      reject(new Error(`catch-up stored ${total} of ${count} operations within 300 s`))
    }, 300_000)
    const on = ({ peer, stored }: { peer: string; stored: number }): void => {
      if (peer !== peerId) return
      firstAt ??= process.hrtime.bigint()
      if ((total += stored) < count) return
      clearTimeout(timer)
      b.sync.off('ingested', on)
      resolve(firstAt)
    }
    b.sync.on('ingested', on)
  })
}

/** Dials A from B and resolves when A has answered B's `have` for the topic: one full sync round. */
async function dialAndSync(b: NetStack, peerId: string, topic: Uint8Array): Promise<number> {
  const caughtUp = new Promise<void>((resolve) => {
    const on = ({ peer, logId }: { peer: string; logId: Uint8Array }): void => {
      if (peer === peerId && toHex(logId) === toHex(topic)) {
        b.sync.off('caught-up', on)
        resolve()
      }
    }
    b.sync.on('caught-up', on)
  })
  const started = process.hrtime.bigint()
  await b.connector.dial(b.table.get(peerId)!)
  await Promise.race([caughtUp, new Promise((_, reject) => setTimeout(() => reject(new Error('no sync round within 120 s')), 120_000))])
  return Number(process.hrtime.bigint() - started) / 1e6
}

export async function run(): Promise<BenchReport> {
  const { testnet } = await benchTestnet()
  const torLines = clientTorrcLines(testnet.state)
  const topic = randomBytes(32)
  const files = fileTopics()
  const a = PeerProcess.spawn()
  let b: NetStack | undefined
  try {
    const [aInfo, bStack] = await Promise.all([
      a.call<{ card: ContactCard; peerId: string }>({ op: 'start', name: 'bench-a', topic, torLines, moreTopics: [...files.files, files.chat] }),
      startNetStack('bench-b', [topic, ...files.files, files.chat], { torLines }),
    ])
    b = bStack
    b.connector.stop()
    await a.call({ op: 'append', count: 100, payloadBytes: 100 })
    await a.call({ op: 'allow', card: b.card })
    await b.allow(aInfo.card)
    const aPeer = b.table.get(aInfo.peerId)!

    // Dial → first sync round complete. The first run also fetches A's descriptor.
    const dialMs: number[] = []
    for (let i = 0; i < DIAL_RUNS; i++) {
      if (i > 0) await disconnect(b, aInfo.peerId)
      dialMs.push(await dialAndSync(b, aInfo.peerId, topic))
    }

    // Catch-up of 10,000 × 1 KiB over one onion connection, paired in each
    // run with a raw stream of the same size over the same two tor processes
    // (A's service → B). Every connection builds fresh circuits, whose
    // throughput varies widely (single raw runs from 2.6 to 6.9 MB/s were seen
    // with the machine under 20 % busy): hence many pairs, and the raw stream
    // goes first in every other pair so that neither side always meets a
    // machine still busy from the other.
    // A catch-up counts the operations' encoded bytes (signed header of ~209
    // bytes and payload), as A reports them for each round; every raw stream
    // carries as many as the first round's, from a source set up once.
    const opBytes: number[] = []
    let sourceAddress: string | undefined
    const rawStream = async (): ReturnType<typeof rawThroughput> => {
      sourceAddress ??= await a.call<string>({ op: 'raw', mode: 'source', bytes: opBytes[0]! })
      return rawThroughput(b!.tor, sourceAddress, opBytes[0]!)
    }
    const catchUp: number[] = []
    const raw: number[] = []
    // The same bytes over a plain libp2p stream on a fresh Burrow connection:
    // what the connection's layers (Noise, yamux, the stream's negotiation)
    // take from a raw stream, apart from what sync takes.
    const stream: number[] = []
    const streamFirstByteMs: number[] = []
    // Raw streams while another process burns the CPU share the receiver had
    // just used for its catch-up: what a raw stream loses to that much CPU
    // taken from the machine the tor processes share.
    const rawUnderLoad: number[] = []
    const replayedShare: number[] = []
    const receiverCpuUsPerOp: number[] = []
    const senderCpuUsPerOp: number[] = []
    // How much of a catch-up passes before anything is stored: the stream's
    // negotiation, our `have`, and the first frame (128 KiB) through a circuit still in slow start.
    const firstOpsMs: number[] = []
    // The raw stream's counterpart: from the open stream to its first byte (its source writes as soon as it is connected).
    const rawFirstByteMs: number[] = []
    const catchUpBusy: number[] = []
    const rawMachineBusy: number[] = []
    // Tor's congestion state of the circuit that carried each transfer, seen from A (the sender).
    const catchUpCircuits: (CircuitSummary | null)[] = []
    const rawCircuits: (CircuitSummary | null)[] = []
    const streamCircuits: (CircuitSummary | null)[] = []
    const markCircuits = (): Promise<void> => a.call({ op: 'circuits', action: 'mark' })
    const circuitOf = (): Promise<CircuitSummary | null> => a.call({ op: 'circuits', action: 'busiest' })
    const measureRaw = async (): Promise<void> => {
      const busy = machineBusy()
      await markCircuits()
      const stream = await rawStream()
      raw.push(stream.bytesPerSecond)
      rawFirstByteMs.push(stream.firstByteMs)
      rawMachineBusy.push(busy())
      rawCircuits.push(await circuitOf())
    }
    // On a connection of its own, closed again before anything is appended or
    // caught up; from a source set up once, like the raw streams'.
    let streamSource: Promise<unknown> | undefined
    const measureStream = async (): Promise<void> => {
      await (streamSource ??= a.call({ op: 'stream-source', bytes: opBytes[0]! }))
      await disconnect(b!, aInfo.peerId)
      await markCircuits()
      const connection = await b!.connector.dial(aPeer)
      const result = await streamThroughput(connection, opBytes[0]!, process.hrtime.bigint())
      stream.push(result.bytesPerSecond)
      streamFirstByteMs.push(result.firstByteMs)
      streamCircuits.push(await circuitOf())
      await disconnect(b!, aInfo.peerId)
    }
    for (let i = 0; i < CATCH_UP_RUNS[benchProfile()]; i++) {
      await disconnect(b, aInfo.peerId)
      if (i % 2 === 1) await measureStream()
      opBytes.push(await a.call<number>({ op: 'append', count: CATCH_UP_OPS, payloadBytes: PAYLOAD_BYTES }))
      if (i % 2 === 1) await measureRaw()
      const stored = storedCount(b, aInfo.peerId, CATCH_UP_OPS)
      await markCircuits()
      await b.connector.dial(aPeer)
      // Timed from the open connection, like the raw stream.
      const started = process.hrtime.bigint()
      const busy = machineBusy()
      const cpu = process.cpuUsage()
      const senderCpu = processCpuSeconds(a.pid!)
      const firstStoredAt = await stored
      senderCpuUsPerOp.push(((processCpuSeconds(a.pid!) - senderCpu) * 1e6) / CATCH_UP_OPS)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      firstOpsMs.push(Math.max(0, Number(firstStoredAt - started) / 1e6))
      const receiverCpu = process.cpuUsage(cpu)
      const receiverCpuUs = receiverCpu.user + receiverCpu.system
      catchUp.push(opBytes.at(-1)! / seconds)
      receiverCpuUsPerOp.push(receiverCpuUs / CATCH_UP_OPS)
      catchUpBusy.push(busy())
      catchUpCircuits.push(await circuitOf())
      const load = cpuLoad(receiverCpuUs / (seconds * 1e6))
      rawUnderLoad.push((await rawStream().finally(() => replayedShare.push(load.stop()))).bytesPerSecond)
      if (i % 2 === 0) {
        await measureRaw()
        await measureStream()
      }
    }

    // Live push (A appends one operation, B has it stored, over a connection
    // that has done its first sync round) and raw round trips, alternating
    // per circuit so that both meet the machine in the same state.
    const echoAddress = await a.call<string>({ op: 'raw', mode: 'echo', bytes: 0 })
    const pushMs: number[] = []
    const rttMs: number[] = []
    const pushCircuitP50: number[] = []
    const rttCircuitP50: number[] = []
    for (let c = 0; c < LATENCY_CIRCUITS; c++) {
      await disconnect(b, aInfo.peerId)
      await dialAndSync(b, aInfo.peerId, topic)
      const circuitPush: number[] = []
      for (let i = 0; i < LATENCY_SAMPLES_PER_CIRCUIT; i++) {
        const stack = b
        const stored = new Promise<void>((resolve) => {
          const on = ({ peer }: { peer: string }): void => {
            if (peer !== aInfo.peerId) return
            stack.sync.off('ingested', on)
            resolve()
          }
          stack.sync.on('ingested', on)
        })
        const started = process.hrtime.bigint()
        await a.call({ op: 'append', count: 1, payloadBytes: 100 })
        await Promise.race([stored, new Promise((_, reject) => setTimeout(() => reject(new Error('live push lost')), 30_000))])
        circuitPush.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
      // Each call dials with a fresh isolation key: a circuit of its own.
      const circuitRtt = await rawRoundTrips(b.tor, echoAddress, LATENCY_SAMPLES_PER_CIRCUIT)
      pushMs.push(...circuitPush)
      rttMs.push(...circuitRtt)
      pushCircuitP50.push(spread(circuitPush).value)
      rttCircuitP50.push(spread(circuitRtt).value)
    }
    const rtt = [...rttMs].sort((x, y) => x - y)
    const perCircuit = (xs: number[]): string => `p50 per circuit: ${xs.map((x) => x.toFixed(1)).join(', ')} ms`

    // A 100 MB file next to a raw stream of the same bytes, with chat messages
    // meanwhile; on the fast profile only: on the live one its three pairs of
    // 105 MB at 0.35–0.67 MB/s would take about half an hour.
    let fileSource: Promise<string> | undefined
    const filePart = benchProfile() === 'live' ? { rows: [], extra: {} } : await fileTransfers({
      a,
      aPeerId: aInfo.peerId,
      b,
      topics: files,
      dial: async () => void (await b!.connector.dial(aPeer)),
      disconnect: () => disconnect(b!, aInfo.peerId),
      raw: async (bytes) => rawThroughput(b!.tor, await (fileSource ??= a.call<string>({ op: 'raw', mode: 'source', bytes })), bytes),
    })

    const push = [...pushMs].sort((x, y) => x - y)
    const seen = (xs: (CircuitSummary | null)[], pick: (c: CircuitSummary) => number): number[] => xs.flatMap((c) => (c === null ? [] : [pick(c)]))
    const sync = spread(catchUp)
    const rawSpread = spread(raw)
    const rows: BenchRow[] = [
      { metric: 'dial → first sync round complete', ...spread(dialMs), unit: 'ms', note: `first (cold descriptor) ${Math.round(dialMs[0]!)} ms` },
      { metric: `catch-up ${CATCH_UP_OPS.toLocaleString('en-US')} × 1 KiB, one onion connection`, ...spread(catchUp.map((x) => x / 1e6)), unit: 'MB/s', note: `${(opBytes[0]! / 1e6).toFixed(2)} MB of operations (headers and payloads) per run` },
      { metric: 'raw onion stream, same tors, same direction, paired', ...spread(raw.map((x) => x / 1e6)), unit: 'MB/s' },
      { metric: 'ratio sync / raw throughput (medians)', value: sync.value / rawSpread.value, unit: '', note: 'target ≥ 0.8' },
      { metric: 'ratio sync / raw within each pair', ...spread(catchUp.map((x, i) => x / raw[i]!)), unit: '', note: 'median of the pairs' },
      { metric: 'libp2p stream, fresh Burrow connection, same bytes', ...spread(stream.map((x) => x / 1e6)), unit: 'MB/s', note: 'Noise + yamux, no sync; timed from the open connection' },
      { metric: 'ratio libp2p stream / raw (medians)', value: spread(stream).value / rawSpread.value, unit: '', note: "what the connection's layers take" },
      { metric: 'ratio sync / libp2p stream (medians)', value: sync.value / spread(stream).value, unit: '', note: 'what sync itself takes' },
      { metric: 'catch-up: connection open → first operations stored', ...spread(firstOpsMs), unit: 'ms', note: 'inside the catch-up time' },
      { metric: 'raw stream: stream open → first byte', ...spread(rawFirstByteMs), unit: 'ms', note: 'inside the raw stream time' },
      { metric: 'libp2p stream: connection open → first byte', ...spread(streamFirstByteMs), unit: 'ms', note: 'inside the libp2p stream time' },
      { metric: "raw onion stream under the receiver's CPU load", ...spread(rawUnderLoad.map((x) => x / 1e6)), unit: 'MB/s', note: `another process busy ${(spread(replayedShare.filter(Number.isFinite)).value * 100).toFixed(0)} % of a core, as the receiver was` },
      { metric: 'ratio sync / raw under that load (medians)', value: sync.value / spread(rawUnderLoad).value, unit: '', note: 'what is left once the CPU is the same' },
      { metric: 'receiver CPU during catch-up, per operation', ...spread(receiverCpuUsPerOp), unit: 'µs', note: 'all its threads: Noise, yamux, decode, verify, store' },
      { metric: 'sender CPU during catch-up, per operation', ...spread(senderCpuUsPerOp), unit: 'µs', note: 'all its threads: store reads, encoding, Noise, yamux' },
      { metric: 'machine CPU busy during catch-up', ...spread(catchUpBusy.map((x) => x * 100)), unit: '%', note: 'all cores, every process' },
      { metric: 'machine CPU busy during raw stream', ...spread(rawMachineBusy.map((x) => x * 100)), unit: '%', note: 'all cores, every process' },
      { metric: "tor's congestion window, catch-up circuit", ...spread(seen(catchUpCircuits, (c) => c.cwndCells)), unit: 'cells', note: 'median per run, at the sender; 498 bytes each' },
      { metric: "tor's congestion window, raw stream circuit", ...spread(seen(rawCircuits, (c) => c.cwndCells)), unit: 'cells' },
      { metric: "tor's congestion window, libp2p stream circuit", ...spread(seen(streamCircuits, (c) => c.cwndCells)), unit: 'cells' },
      { metric: "tor's minimum RTT, catch-up circuit", ...spread(seen(catchUpCircuits, (c) => c.minRttMs)), unit: 'ms', note: 'the base of its queue estimate' },
      { metric: "tor's minimum RTT, raw stream circuit", ...spread(seen(rawCircuits, (c) => c.minRttMs)), unit: 'ms' },
      { metric: "tor's smoothed RTT, catch-up / raw / libp2p stream circuits", value: spread(seen(catchUpCircuits, (c) => c.rttMs)).value, unit: 'ms', note: `raw ${spread(seen(rawCircuits, (c) => c.rttMs)).value} ms, libp2p stream ${spread(seen(streamCircuits, (c) => c.rttMs)).value} ms (medians)` },
      { metric: 'live push p50 (append → stored at peer)', value: percentile(push, 50), unit: 'ms', runs: push.length, note: `${LATENCY_CIRCUITS} connections; ${perCircuit(pushCircuitP50)}` },
      { metric: 'live push p95', value: percentile(push, 95), unit: 'ms', runs: push.length },
      { metric: 'raw onion round trip p50', value: percentile(rtt, 50), unit: 'ms', runs: rtt.length, note: `${LATENCY_CIRCUITS} circuits; ${perCircuit(rttCircuitP50)}` },
      { metric: 'raw onion round trip p95', value: percentile(rtt, 95), unit: 'ms', runs: rtt.length },
      ...filePart.rows,
    ]
    return { name: 'sync', rows, extra: { ...filePart.extra, dialMs, catchUpBytesPerSecond: catchUp, rawBytesPerSecond: raw, streamBytesPerSecond: stream, streamFirstByteMs, streamCircuits, rawUnderLoadBytesPerSecond: rawUnderLoad, replayedCpuShare: replayedShare, firstOpsMs, rawFirstByteMs, receiverCpuUsPerOp, senderCpuUsPerOp, catchUpBusy, rawMachineBusy, catchUpCircuits, rawCircuits, pushMs, rttMs, pushCircuitP50, rttCircuitP50 } }
  } finally {
    await Promise.allSettled([a.stop(), b?.stop()])
  }
}
