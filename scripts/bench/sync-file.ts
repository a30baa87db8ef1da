/**
 * The file part of `npm run bench -- sync`: a 100 MB file over one onion
 * connection, next to a raw onion stream of the same bytes, with the
 * receiver's CPU per MiB and the delay of chat messages written meanwhile.
 *
 * A file travels as its own log of 256 KiB chunks (group/file-upload.ts); what
 * sync moves is those operations, so the sender here appends 400 of them
 * (random payloads in place of sealed chunks: sealing happens before the
 * transfer, and a receiver stores chunks without opening them).
 */
import { randomBytes } from 'node:crypto'
import { toHex } from '../../src/log/index.js'
import type { NetStack } from '../../test/helpers/net-stack.js'
import { until } from '../../test/helpers/net-stack.js'
import { machineBusy } from './cpu.js'
import { rawThroughput } from './onion-raw.js'
import type { PeerProcess } from './peer-process.js'
import { percentile, spread, type BenchRow } from './report.js'

export const FILE_RUNS = 3
const CHUNK = 256 * 1024
const CHUNKS = 400
/** How often a chat message is written during a transfer. */
const MESSAGE_EVERY_MS = 250

/** The logs the file part needs shared from the start: one fresh file log per run, and a chat log. */
export function fileTopics(): { files: Uint8Array[]; chat: Uint8Array } {
  return { files: Array.from({ length: FILE_RUNS }, () => randomBytes(32)), chat: randomBytes(32) }
}

export interface FileParts {
  a: PeerProcess
  aPeerId: string
  b: NetStack
  topics: ReturnType<typeof fileTopics>
  /** Opens a fresh connection from B to A (the existing ones closed first). */
  dial(): Promise<void>
  disconnect(): Promise<void>
  /** A raw onion stream of `bytes` from A's tor to B's, reusing one source. */
  raw(bytes: number): ReturnType<typeof rawThroughput>
}

const step = (what: string): void => void process.stderr.write(`[sync file] ${what}\n`)

export async function fileTransfers(p: FileParts): Promise<{ rows: BenchRow[]; extra: Record<string, unknown> }> {
  const { a, b, topics } = p
  const file: number[] = []
  const raw: number[] = []
  const cpuMsPerMiB: number[] = []
  const busy: number[] = []
  const delays: number[] = []
  const aheadS: number[] = []
  // One message first (seq 0), so that the chat log's heights are known on every connection.
  await a.call({ op: 'append', count: 1, payloadBytes: 100, topic: topics.chat })
  let chatSeq = 0
  for (let run = 0; run < FILE_RUNS; run++) {
    const fileTopic = topics.files[run]!
    await p.disconnect()
    step(`run ${run + 1} of ${FILE_RUNS}: writing the file`)
    const bytes = await a.call<number>({ op: 'append', count: CHUNKS, payloadBytes: CHUNK, topic: fileTopic }, 600_000)
    const rawRun = async (): Promise<void> => {
      step(`run ${run + 1}: raw stream`)
      raw.push((await p.raw(bytes)).bytesPerSecond)
    }
    if (run % 2 === 0) await rawRun()
    step(`run ${run + 1}: file`)

    // The file log has one author, A.
    const held = (): number => ([...b.logs.heights(fileTopic).values()][0] ?? -1) + 1
    let fileBytes = 0
    const runAheadBytes: number[] = []
    const sentAt = new Map<number, { at: number; fileBytes: number }>()
    const onIngested = ({ logId, operations, stored }: { logId: Uint8Array; operations: { header: { seq: number } }[]; stored: number }): void => {
      if (toHex(logId) === toHex(fileTopic)) fileBytes += stored * CHUNK
      if (toHex(logId) !== toHex(topics.chat)) return
      for (const op of operations) {
        const sent = sentAt.get(op.header.seq)
        if (sent === undefined) continue
        sentAt.delete(op.header.seq)
        delays.push(Date.now() - sent.at)
        runAheadBytes.push(fileBytes - sent.fileBytes)
      }
    }
    b.sync.on('ingested', onIngested)
    const cpu = process.cpuUsage()
    const machine = machineBusy()
    await p.dial()
    const started = Date.now()
    while (held() < CHUNKS) {
      if (Date.now() - started > 600_000) throw new Error(`the file did not arrive within 600 s: ${held()} of ${CHUNKS} chunks`)
      const at = Date.now()
      sentAt.set(++chatSeq, { at, fileBytes })
      await a.call({ op: 'append', count: 1, payloadBytes: 100, topic: topics.chat })
      await new Promise((r) => setTimeout(r, Math.max(0, MESSAGE_EVERY_MS - (Date.now() - at))))
    }
    const seconds = (Date.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    busy.push(machine())
    await until(() => sentAt.size === 0, 30_000, 'the last chat messages').catch(() => {})
    b.sync.off('ingested', onIngested)
    const rate = bytes / seconds
    file.push(rate)
    cpuMsPerMiB.push((used.user + used.system) / 1000 / (bytes / 1024 ** 2))
    // File data that reached B between a message's append and its arrival, in seconds of this run's average rate.
    aheadS.push(...runAheadBytes.map((x) => x / rate))
    step(`run ${run + 1}: file at ${(rate / 1e6).toFixed(2)} MB/s`)
    if (run % 2 === 1) await rawRun()
  }
  const d = [...delays].sort((x, y) => x - y)
  const h = [...aheadS].sort((x, y) => x - y)
  const fileMedian = spread(file).value
  const rawMedian = spread(raw).value
  const rows: BenchRow[] = [
    { metric: `file ${((CHUNKS * CHUNK) / 1e6).toFixed(0)} MB (${CHUNKS} chunks of 256 KiB), one onion connection`, ...spread(file.map((x) => x / 1e6)), unit: 'MB/s', note: 'connection open → last chunk stored' },
    { metric: 'raw onion stream of the same bytes, same tors', ...spread(raw.map((x) => x / 1e6)), unit: 'MB/s' },
    { metric: 'ratio file / raw (medians)', value: fileMedian / rawMedian, unit: '', note: 'target ≥ 0.8' },
    { metric: 'receiver CPU during the file, per MiB', ...spread(cpuMsPerMiB), unit: 'ms', note: 'all its threads: Noise, yamux, decode, verify, hash, store' },
    { metric: 'machine CPU busy during the file', ...spread(busy.map((x) => x * 100)), unit: '%', note: 'all cores, every process' },
    { metric: `chat message delay during the file, median (one every ${MESSAGE_EVERY_MS} ms)`, value: percentile(d, 50), unit: 'ms', runs: d.length, note: 'append at the sender → stored at the receiver' },
    { metric: 'chat message delay during the file, p95', value: percentile(d, 95), unit: 'ms', runs: d.length },
    { metric: 'chat message delay during the file, worst', value: d.at(-1) ?? NaN, unit: 'ms', runs: d.length },
    { metric: 'file data ahead of a message, worst', value: h.at(-1) ?? NaN, unit: 's', note: `in seconds of the transfer's average rate (p95 ${percentile(h, 95).toFixed(2)} s)` },
  ]
  return { rows, extra: { fileBytesPerSecond: file, fileRawBytesPerSecond: raw, fileReceiverCpuMsPerMiB: cpuMsPerMiB, fileMessageDelayMs: delays, fileDataAheadS: aheadS } }
}
