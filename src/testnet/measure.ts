import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import type { HsDescEvent, TorControl } from '../tor/control/index.js'
import { dialOnion } from '../tor/socks.js'
import { sleep } from '../util/async.js'
import { startClientTor, type ClientTor } from './client-tor.js'
import { TestnetError } from './errors.js'
import { LinkControl } from './link-control.js'
import type { TestnetState } from './state.js'

/** Raw onion figures of a test network, taken with two plain client tors and SOCKS (no Burrow code). */
export interface OnionFigures {
  /** Every 1-byte round trip, ms, in the order taken. */
  roundTripsMs: number[]
  /** Circuits the round trips were spread over (one per fresh onion). */
  circuits: number
  /** First dial to each freshly published onion, ms: SOCKS request to CONNECTED, retries included. */
  firstDialsMs: number[]
  /** Attempts each first dial needed (a just-published descriptor can be missing once). */
  firstDialAttempts: number[]
  /** ADD_ONION until every descriptor upload was answered, ms. */
  publishMs: number[]
  /** Both client tors started and bootstrapped, ms. */
  clientsReadyMs: number
  /** Live profile with a transfer asked for: a bulk transfer service → client and the link emulator's CPU. */
  transfer?: TransferFigures
}

/** A bulk transfer through one onion circuit and what it cost the link emulator. */
export interface TransferFigures {
  bytes: number
  seconds: number
  bytesPerSecond: number
  /** The emulator's CPU (user + system) per wall-clock second while the network idled, in cores (1 = one core busy). */
  emulatorCpuIdle?: number
  /** The same during the transfer. */
  emulatorCpuTransfer?: number
}

/** Options of {@link measureOnions}. */
export interface MeasureOptions {
  /** Scratch directory for the two client tors; removed afterwards. */
  workDir: string
  /** Fresh onions to publish and dial; default 3. */
  onions?: number
  /** Round trips on each onion's connection; default 20. */
  roundTripsPerOnion?: number
  /** Bytes to transfer service → client after the round trips; default 0 (none). */
  transferBytes?: number
  /** How long to sample the emulator's idle CPU before the transfer; default 10 s. */
  idleSampleMs?: number
  onProgress?: (msg: string) => void
}

const DIAL_ATTEMPT_TIMEOUT_MS = 30_000
const FIRST_DIAL_DEADLINE_MS = 90_000
const PUBLISH_TIMEOUT_MS = 90_000
/** How long without a new UPLOAD before a publication counts as complete. */
const UPLOAD_SETTLE_MS = 750
const VIRTUAL_PORT = 80
const MODE_ECHO = 0x65
const MODE_SOURCE = 0x73

/**
 * Measures what the network gives a plain tor client: publishes `onions`
 * fresh onion services one after another on one client tor, times the first
 * dial to each from another client tor through SOCKS, then times 1-byte round
 * trips on that connection (its own circuit). Optionally transfers
 * `transferBytes` through one more onion and, on the live profile, samples the
 * link emulator's CPU at idle and during the transfer.
 */
export async function measureOnions(state: TestnetState, opts: MeasureOptions): Promise<OnionFigures> {
  const onions = opts.onions ?? 3
  const roundTrips = opts.roundTripsPerOnion ?? 20
  const progress = opts.onProgress ?? (() => {})
  const server = createServer(serveMeasurement)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const target = (server.address() as { port: number }).port
  let tors: ClientTor[] = []
  try {
    const started = Date.now()
    progress('starting two client tors')
    tors = await Promise.all(['service', 'client'].map((name) => startClientTor(state, { dataDir: join(opts.workDir, name) })))
    const [service, client] = tors as [ClientTor, ClientTor]
    const figures: OnionFigures = { roundTripsMs: [], circuits: 0, firstDialsMs: [], firstDialAttempts: [], publishMs: [], clientsReadyMs: Date.now() - started }
    for (let i = 0; i < onions; i++) {
      const onion = await publishOnion(service.control, target)
      figures.publishMs.push(onion.publishMs)
      const dial = await firstDial(client, onion.serviceId)
      figures.firstDialsMs.push(dial.ms)
      figures.firstDialAttempts.push(dial.attempts)
      figures.roundTripsMs.push(...(await echoRoundTrips(dial.socket, roundTrips)))
      figures.circuits++
      progress(`onion ${i + 1}/${onions}: published in ${seconds(onion.publishMs)}, first dial ${seconds(dial.ms)} (${dial.attempts} attempt${dial.attempts === 1 ? '' : 's'})`)
      dial.socket.destroy()
      await service.control.delOnion(onion.serviceId)
    }
    if ((opts.transferBytes ?? 0) > 0) figures.transfer = await transfer(state, service, client, target, opts.transferBytes ?? 0, opts.idleSampleMs ?? 10_000, progress)
    return figures
  } finally {
    await Promise.all(tors.map((t) => t.stop()))
    server.close()
    rmSync(opts.workDir, { recursive: true, force: true })
  }
}

/** The local end of every measurement onion: the first byte picks echo, or a source of N bytes (8-byte length follows). */
function serveMeasurement(socket: Socket): void {
  socket.on('error', () => {})
  // Without it Nagle's algorithm meets delayed ACKs and adds ~40 ms to echoes.
  socket.setNoDelay(true)
  socket.once('readable', function pick(): void {
    const head = socket.read(1) as Buffer | null
    if (head === null) {
      socket.once('readable', pick)
      return
    }
    if (head[0] === MODE_ECHO) socket.pipe(socket)
    else if (head[0] === MODE_SOURCE) void sourceBytes(socket)
    else socket.destroy()
  })
}

async function sourceBytes(socket: Socket): Promise<void> {
  while (socket.readableLength < 8) {
    await once(socket, 'readable')
  }
  const total = Number((socket.read(8) as Buffer).readBigUInt64BE())
  const block = randomBytes(64 << 10)
  for (let sent = 0; sent < total && !socket.destroyed; ) {
    const n = Math.min(block.length, total - sent)
    sent += n
    if (!socket.write(block.subarray(0, n))) await once(socket, 'drain')
  }
  socket.end()
}

/**
 * Publishes an onion service with a new key on a client tor (virtual port
 * 80 → `127.0.0.1:targetPort`) and resolves once every descriptor upload was
 * answered, with how long that took from ADD_ONION.
 */
export async function publishOnion(control: TorControl, targetPort: number): Promise<{ serviceId: string; publishMs: number }> {
  const events: { ev: HsDescEvent; at: number }[] = []
  const onEvent = (ev: HsDescEvent): void => void events.push({ ev, at: Date.now() })
  control.on('HS_DESC', onEvent)
  try {
    await control.setEvents(['HS_DESC'])
    const started = Date.now()
    const { serviceId } = await control.addOnion({ key: 'NEW:ED25519-V3', ports: [{ virtualPort: VIRTUAL_PORT, target: `127.0.0.1:${targetPort}` }], flags: ['DiscardPK'] })
    const mine = (): { ev: HsDescEvent; at: number }[] => events.filter((e) => e.ev.address === serviceId)
    for (;;) {
      const seen = mine()
      const uploads = seen.filter((e) => e.ev.action === 'UPLOAD').length
      const answers = seen.filter((e) => e.ev.action === 'UPLOADED' || e.ev.action === 'FAILED')
      if (uploads > 0 && answers.length >= uploads && answers.some((e) => e.ev.action === 'UPLOADED')) {
        // Uploads for the next time period may follow: done once none has started for a moment.
        await sleep(UPLOAD_SETTLE_MS)
        if (mine().length === seen.length) return { serviceId, publishMs: (answers.at(-1)?.at ?? Date.now()) - started }
        continue
      }
      if (Date.now() - started > PUBLISH_TIMEOUT_MS) {
        throw new TestnetError('TESTNET_MEASURE_FAILED', `onion not published within ${PUBLISH_TIMEOUT_MS} ms (${uploads} uploads, ${answers.length} answered)`)
      }
      await sleep(50)
    }
  } finally {
    control.off('HS_DESC', onEvent)
  }
}

/** Dials a fresh onion until it connects (a just-published descriptor may be missing once); times the whole. */
async function firstDial(client: ClientTor, serviceId: string): Promise<{ socket: Socket; ms: number; attempts: number }> {
  const started = performance.now()
  const deadline = Date.now() + FIRST_DIAL_DEADLINE_MS
  for (let attempts = 1; ; attempts++) {
    try {
      const socket = await dialOnion({ proxy: client.socks, address: serviceId, port: VIRTUAL_PORT, isolation: randomBytes(8).toString('hex'), timeoutMs: DIAL_ATTEMPT_TIMEOUT_MS })
      return { socket, ms: performance.now() - started, attempts }
    } catch (err) {
      if (Date.now() >= deadline) throw new TestnetError('TESTNET_MEASURE_FAILED', `first dial failed ${attempts} times in a row: ${String(err)}`, { cause: err })
      await sleep(1_000)
    }
  }
}

/** 1-byte round trips through the echo; each waits for the previous one's answer. */
async function echoRoundTrips(socket: Socket, samples: number): Promise<number[]> {
  socket.setNoDelay(true)
  socket.write(Uint8Array.of(MODE_ECHO))
  const reader = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const rtts: number[] = []
  for (let i = 0; i < samples; i++) {
    const t = performance.now()
    socket.write(Uint8Array.of(i & 0xff))
    const { done } = await reader.next()
    if (done === true) throw new TestnetError('TESTNET_MEASURE_FAILED', 'the echo connection closed during round trips')
    rtts.push(performance.now() - t)
  }
  return rtts
}

async function transfer(
  state: TestnetState,
  service: ClientTor,
  client: ClientTor,
  target: number,
  bytes: number,
  idleSampleMs: number,
  progress: (msg: string) => void,
): Promise<TransferFigures> {
  const links = state.emulator === undefined ? undefined : new LinkControl(state)
  const cpuSeconds = async (): Promise<number | undefined> => {
    if (links === undefined) return undefined
    const { cpuMicros } = await links.stats()
    return (cpuMicros.user + cpuMicros.system) / 1e6
  }
  let emulatorCpuIdle: number | undefined
  const onion = await publishOnion(service.control, target)
  const { socket } = await firstDial(client, onion.serviceId)
  try {
    if (links !== undefined) {
      progress(`sampling the link emulator's idle CPU for ${seconds(idleSampleMs)}`)
      const before = await cpuSeconds()
      await sleep(idleSampleMs)
      emulatorCpuIdle = ((await cpuSeconds())! - before!) / (idleSampleMs / 1000)
    }
    progress(`transferring ${(bytes / 1e6).toFixed(0)} MB service → client`)
    const cpuBefore = await cpuSeconds()
    const started = performance.now()
    const header = Buffer.alloc(9)
    header[0] = MODE_SOURCE
    header.writeBigUInt64BE(BigInt(bytes), 1)
    socket.write(header)
    let received = 0
    for await (const chunk of socket as AsyncIterable<Buffer>) received += chunk.length
    const secs = (performance.now() - started) / 1000
    if (received !== bytes) throw new TestnetError('TESTNET_MEASURE_FAILED', `the transfer delivered ${received} of ${bytes} bytes`)
    const figures: TransferFigures = { bytes, seconds: secs, bytesPerSecond: bytes / secs }
    const cpuAfter = await cpuSeconds()
    if (emulatorCpuIdle !== undefined) figures.emulatorCpuIdle = emulatorCpuIdle
    if (cpuBefore !== undefined && cpuAfter !== undefined) figures.emulatorCpuTransfer = (cpuAfter - cpuBefore) / secs
    return figures
  } finally {
    socket.destroy()
    await service.control.delOnion(onion.serviceId)
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** The `p`-th percentile (0–100) of `values` by nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}
