/**
 * The link emulator's process: `node link-emulator-main.js <network dir>`.
 * Started detached by {@link spawnLinkEmulator}; reads the network's
 * `state.json`, owns every advertised port, takes {@link LinkRequest}s on
 * the network's `links.sock`, and exits on SIGTERM or once the network's
 * owner process is gone.
 */
import { chmodSync, rmSync, statSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { resolve } from 'node:path'
import { LinkEmulator } from './link-emulator.js'
import { linkControlSocketPath, MAX_LINK_REQUEST_BYTES, parseLinkRequest, type LinkReply, type LinkRequest } from './link-control.js'
import { isAlive } from './process.js'
import { emulatedPorts } from './profile.js'
import { readState, stateFile } from './state.js'

const OWNER_POLL_MS = 1_000

const dir = resolve(process.argv[2] ?? '')
const state = readState(dir)
if (state.links === undefined) throw new Error(`the network in ${dir} has no link profile`)

// Relays may be restarted (new PIDs): read them from state.json, again only when it changed.
let known: { mtimeMs: number; pids: Map<string, number> } = { mtimeMs: -1, pids: new Map() }
function relayPids(): ReadonlyMap<string, number> {
  const mtimeMs = statSync(stateFile(dir), { throwIfNoEntry: false })?.mtimeMs
  if (mtimeMs !== undefined && mtimeMs !== known.mtimeMs) {
    known = { mtimeMs, pids: new Map(readState(dir).nodes.filter((n) => n.pid > 0).map((n) => [n.nickname, n.pid])) }
  }
  return known.pids
}

const emulator = await LinkEmulator.start(emulatedPorts(state.nodes, state.links), { relayPids, accessDelayMs: state.links.accessDelayMs })
const startedAt = Date.now()

function answer(request: LinkRequest): LinkReply {
  switch (request.op) {
    case 'ping':
      return { ok: true }
    case 'stats': {
      const { user, system } = process.cpuUsage()
      return { ok: true, stats: { relays: emulator.stats(), cpuMicros: { user, system }, uptimeMs: Date.now() - startedAt } }
    }
    case 'restore':
      return { ok: true, connections: emulator.restore(request.target) }
    default:
      return { ok: true, connections: emulator.apply(request.op, request.target) }
  }
}

function serve(socket: Socket): void {
  socket.on('error', () => {})
  let buffered = ''
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    if (buffered.length > MAX_LINK_REQUEST_BYTES) {
      socket.end(`${JSON.stringify({ ok: false, error: 'request too long' })}\n`)
      return
    }
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
      let reply: LinkReply
      try {
        reply = answer(parseLinkRequest(line))
      } catch (err) {
        reply = { ok: false, error: err instanceof Error ? err.message : String(err) }
      }
      socket.write(`${JSON.stringify(reply)}\n`)
    }
  })
}

const socketPath = linkControlSocketPath(dir)
rmSync(socketPath, { force: true })
const control = createServer(serve)
await new Promise<void>((resolveListen, reject) => {
  control.once('error', reject)
  control.listen(socketPath, () => resolveListen())
})
chmodSync(socketPath, 0o600)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  control.close()
  rmSync(socketPath, { force: true })
  await emulator.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
const owner = state.ownerPid
if (owner !== undefined) {
  setInterval(() => {
    if (!isAlive(owner)) void stop()
  }, OWNER_POLL_MS).unref()
}
console.log(`link emulator for ${dir}: ${state.nodes.length} relays, pid ${process.pid}`)
