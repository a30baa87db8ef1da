import { setMaxListeners } from 'node:events'
import { chmodSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { BurrowError } from '../errors.js'
import { silentLogger, type Logger } from '../logging.js'
import { withTimeout } from '../util/async.js'
import { API_ERRORS, LocalApiError } from './errors.js'
import type { LocalApiNode, LocalApiNodeEvents } from './node.js'
import type { FileProgress, OutgoingFile } from '../node/index.js'
import {
  MAX_IN_FLIGHT_PER_CONNECTION,
  MAX_READ_RESULT_BYTES,
  MAX_REQUEST_LINE_BYTES,
  MAX_UPLOADS_PER_CONNECTION,
  READ_DEFAULT_LIMIT,
  TRANSFER_METHODS,
  type ApiErrorJson,
  type ApiRequest,
  type EventData,
  type EventName,
  type MessageJson,
  type MethodName,
  type MethodParams,
  type MethodResults,
} from './protocol.js'
import { LineSplitter } from './line-splitter.js'
import { clearStaleSocket } from './socket-file.js'
import { decodeBase64Strict, parseRequestLine } from './validate.js'
import { EVENT_DATA, EVENT_GROUP, fileJson, forkJson, groupJson, keepersJson, membersJson, messageJson, peerJson, pendingInviteJson, progressJson, statusJson } from './wire.js'

/** Options of {@link startLocalApi}. */
export interface LocalApiServerOptions {
  logger?: Logger
  /**
   * Runs after the answer to `stop` was written. Default: `node.stop()`. The
   * CLI passes its own shutdown so that the whole process exits.
   */
  onStop?: () => void | Promise<void>
  /** Bound on one call into the node (an invitation dials over Tor). Default 180 s. */
  callTimeoutMs?: number
}

/** A running local API. */
export interface LocalApiServer {
  /** The unix socket it listens on. */
  readonly path: string
  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void>
}

const DEFAULT_CALL_TIMEOUT_MS = 180_000
/** Connections at once: a local tool needs a handful; the bound keeps a runaway script from exhausting descriptors. */
const MAX_CONNECTIONS = 64
/** Unsent output a connection may pile up (a subscriber that stopped reading) before it is dropped. */
const MAX_BUFFERED_OUTPUT_BYTES = 32 * 1024 * 1024

/** What a method handler gets besides its params: its connection, and a signal that fires on timeout or disconnect. */
interface CallContext {
  conn: Connection
  signal: AbortSignal
}

type Handlers = { [M in MethodName]: (params: MethodParams[M], ctx: CallContext) => Promise<MethodResults[M]> | MethodResults[M] }

/**
 * Serves the local API of `node` on the unix socket `socketPath` (mode 0600,
 * never TCP). Refuses to start when another node answers on that path and
 * removes a stale socket file left by a node that died.
 */
export async function startLocalApi(node: LocalApiNode, socketPath: string, options: LocalApiServerOptions = {}): Promise<LocalApiServer> {
  await clearStaleSocket(socketPath)
  const api = new LocalApi(node, socketPath, options)
  await api.listen()
  return api
}

class LocalApi implements LocalApiServer {
  readonly path: string
  readonly node: LocalApiNode
  readonly log: Logger
  readonly callTimeoutMs: number
  readonly handlers: Handlers
  readonly #server: Server
  readonly #connections = new Set<Connection>()
  readonly #onStop: () => void | Promise<void>
  #stopRequested = false
  #closed: Promise<void> | undefined

  constructor(node: LocalApiNode, path: string, options: LocalApiServerOptions) {
    this.node = node
    this.path = path
    this.log = options.logger ?? silentLogger
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
    this.#onStop = options.onStop ?? (() => node.stop())
    this.handlers = this.#handlers()
    this.#server = createServer((socket) => {
      const conn = new Connection(this, socket)
      this.#connections.add(conn)
      socket.once('close', () => this.#connections.delete(conn))
    })
    this.#server.maxConnections = MAX_CONNECTIONS
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      // The socket file is created by bind(), synchronously inside listen(): the umask makes it 0600 from birth.
      const previous = process.umask(0o177)
      try {
        this.#server.listen({ path: this.path, exclusive: true }, () => {
          this.#server.off('error', reject)
          this.#server.on('error', (err) => this.log.error({ reason: err.message }, 'local API server error'))
          try {
            chmodSync(this.path, 0o600)
          } catch (err) {
            reject(err)
            return
          }
          this.log.info({ socket: this.path }, 'local API listening')
          resolve()
        })
      } finally {
        process.umask(previous)
      }
    })
  }

  requestStop(): void {
    if (this.#stopRequested) return
    this.#stopRequested = true
    Promise.resolve()
      .then(() => this.#onStop())
      .catch((err: unknown) => this.log.error({ reason: err instanceof Error ? err.message : String(err) }, 'stopping the node failed'))
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      for (const conn of this.#connections) conn.destroy()
    }).then(() => rmSync(this.path, { force: true }))
    return this.#closed
  }

  #handlers(): Handlers {
    const node = this.node
    return {
      status: () => statusJson(node.status()),
      card: () => ({ card: node.contactCard(), qr: node.contactCardQr(), fingerprint: node.status().fingerprint }),
      'peers.add': async (params) => ('card' in params ? peerJson(await node.addPeer(params.card)) : { peers: (await node.addPeers(params.cards)).map(peerJson) }),
      'peers.remove': async ({ peer }) => peerJson(await node.removePeer(peer)),
      'peers.list': () => ({ peers: node.peers().map(peerJson) }),
      'group.create': async ({ name, description }) => groupJson(await node.createGroup(name, description)),
      'group.rename': async ({ group, name, description }) =>
        groupJson(await node.renameGroup(group, name, description !== undefined ? { description } : {})),
      'group.invite': async ({ group, peer }, { signal }) => {
        // An invitee that is not connected: `queued` at once, so that the caller can say it waits (a `group:invite` event follows).
        const outcome = await node.invite(group, peer, { signal, reachFirst: false })
        return { state: outcome.state, group: groupJson(outcome.group), ...(outcome.invite !== undefined ? { invite: pendingInviteJson(outcome.invite) } : {}) }
      },
      'group.invite.cancel': ({ group, peer }) => pendingInviteJson(node.cancelInvite(group, peer)),
      'group.remove': async ({ group, peer }) => groupJson(await node.removeMember(group, peer)),
      'group.leave': async ({ group }) => groupJson(await node.leave(group)),
      'group.members': ({ group }) => {
        const info = node.group(group)
        return {
          group: info.id,
          members: membersJson(info),
          pending: node.invites.list(Buffer.from(info.id, 'hex')).map(pendingInviteJson),
          retentionMs: info.retentionMs,
        }
      },
      'group.list': () => ({ groups: node.groups().map(groupJson) }),
      'group.rotate': async ({ group }) => {
        const id = node.group(group).id
        const rotation = await node.rotateKeys(id)
        return { ...rotation, group: groupJson(node.group(id)) }
      },
      'group.ephemeral': async (params) => {
        const data = 'text' in params ? new TextEncoder().encode(params.text) : decodeBase64Strict(params.data)
        return { peers: await node.sendEphemeral(params.group, data) }
      },
      'forks.list': () => ({ forks: node.forks.list().map(forkJson) }),
      'forks.export': ({ id }) => node.forks.export(id),
      send: async (params) => {
        const data = 'text' in params ? params.text : decodeBase64Strict(params.data)
        return messageJson(await node.send(params.group, data))
      },
      read: ({ group, afterId, limit }) => {
        const page = node.messages(group, { ...(afterId !== undefined ? { afterId } : {}), limit: limit ?? READ_DEFAULT_LIMIT })
        const messages: MessageJson[] = []
        let bytes = 0
        for (const m of page) {
          const json = messageJson(m)
          bytes += json.data.length + (json.text?.length ?? 0) + 200
          // Always at least one message, so a reader makes progress even past one huge message.
          if (messages.length > 0 && bytes > MAX_READ_RESULT_BYTES) return { messages, more: true }
          messages.push(json)
        }
        return { messages, more: false }
      },
      subscribe: ({ events, group }, { conn }) => {
        conn.subscribe(events, group === undefined ? undefined : node.group(group).id)
        return { events }
      },
      stop: () => ({ stopping: true }),
      'group.keepers': ({ group }) => keepersJson(node.keepers(group)),
      'group.keeper.add': async ({ group, peer }) => keepersJson(await node.addKeeper(group, peer)),
      'group.keeper.remove': async ({ group, peer }) => keepersJson(await node.removeKeeper(group, peer)),
      'group.keepers.decide': async ({ group, decision }) => keepersJson(await node.decideKeepers(group, decision)),
      'kept.list': () => ({ kept: node.keptGroups().map((k) => ({ ...k })), orderers: node.keepingOrderers().map((o) => ({ ...o })) }),
      'kept.decide': async ({ peer, decision }) => ({ ...(await node.decideKeeping(peer, decision)) }),
      ...this.#fileHandlers(),
    }
  }

  /** Files, deletion and retention (node/content.ts). */
  #fileHandlers(): Pick<Handlers, 'file.send' | 'file.upload' | 'file.write' | 'file.finish' | 'file.list' | 'file.save' | 'delete' | 'group.retention'> {
    const content = this.node.content
    const progressTo = (conn: Connection, wanted: boolean | undefined): { onProgress?: (p: FileProgress) => void } =>
      wanted === true ? { onProgress: (p) => conn.push('file:progress', progressJson(p)) } : {}
    return {
      'file.send': async ({ group, path, progress, ...meta }, { conn, signal }) => messageJson(await content.sendFile(group, path, { ...meta, signal, ...progressTo(conn, progress) })),
      'file.upload': ({ group, ...meta }, { conn }) => ({ upload: conn.addUpload(content.beginFile(group, meta)) }),
      'file.write': ({ upload, data }, { conn }) => {
        const outgoing = conn.upload(upload)
        outgoing.write(decodeBase64Strict(data))
        return { bytes: outgoing.bytes }
      },
      'file.finish': async ({ upload }, { conn }) => messageJson(await conn.takeUpload(upload).finish()),
      'file.list': ({ group }) => ({ files: content.files(group).map(fileJson) }),
      'file.save': async ({ group, file, out, force, wait, progress }, { conn, signal }) => {
        const saved = await content.saveFile(group, file, { out, force, wait, signal, ...progressTo(conn, progress) })
        return { file: fileJson(saved.file), path: saved.path }
      },
      delete: async ({ group, entry }) => {
        const removed = await content.delete(group, entry)
        return { ...(removed.message !== undefined ? { message: messageJson(removed.message) } : {}), ...(removed.file !== undefined ? { file: fileJson(removed.file) } : {}) }
      },
      'group.retention': async ({ group, periodMs }) => groupJson(await content.setRetention(group, periodMs)),
    }
  }
}

/** One client connection: framing, limits, in-flight calls and its subscription. */
class Connection {
  readonly #api: LocalApi
  readonly #socket: Socket
  readonly #splitter = new LineSplitter(MAX_REQUEST_LINE_BYTES)
  readonly #aborter = new AbortController()
  #inFlight = 0
  #unsubscribe: (() => void)[] = []
  #closed = false
  /** Stream uploads of this connection (`file.upload`), discarded if it closes first. */
  readonly #uploads = new Map<number, OutgoingFile>()
  #nextUpload = 1

  constructor(api: LocalApi, socket: Socket) {
    this.#api = api
    this.#socket = socket
    // Each call in flight listens on the connection's signal.
    setMaxListeners(MAX_IN_FLIGHT_PER_CONNECTION + 4, this.#aborter.signal)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', () => {})
    socket.once('close', () => this.#cleanup())
  }

  destroy(): void {
    this.#cleanup()
    this.#socket.destroy()
  }

  /** Replaces this connection's subscription. */
  subscribe(events: readonly EventName[], groupId: string | undefined): void {
    for (const off of this.#unsubscribe.splice(0)) off()
    for (const event of events) this.#unsubscribe.push(this.#listen(event, groupId))
  }

  /** Pushes an event to this client outside its subscription (the progress of its own transfer). */
  push<E extends EventName>(event: E, data: EventData[E]): void {
    this.#write({ event, data })
  }

  /** Keeps an upload for this connection's later `file.write` and `file.finish`; returns its id. */
  addUpload(upload: OutgoingFile): number {
    if (this.#uploads.size >= MAX_UPLOADS_PER_CONNECTION) {
      upload.abort()
      throw new LocalApiError('API_TOO_MANY_REQUESTS', `a connection may hold ${MAX_UPLOADS_PER_CONNECTION} uploads at once`)
    }
    const id = this.#nextUpload++
    this.#uploads.set(id, upload)
    return id
  }

  upload(id: number): OutgoingFile {
    const upload = this.#uploads.get(id)
    if (upload === undefined) throw new LocalApiError('API_BAD_REQUEST', `no upload ${id} on this connection`)
    return upload
  }

  /** The upload, no longer this connection's to discard. */
  takeUpload(id: number): OutgoingFile {
    const upload = this.upload(id)
    this.#uploads.delete(id)
    return upload
  }

  #listen<E extends EventName>(event: E, groupId: string | undefined): () => void {
    const node = this.#api.node
    const groupOf = EVENT_GROUP[event] as ((...args: LocalApiNodeEvents[E]) => string) | undefined
    const listener = (...args: LocalApiNodeEvents[E]): void => {
      if (groupId !== undefined && groupOf !== undefined && groupOf(...args) !== groupId) return
      try {
        this.#write({ event, data: EVENT_DATA[event](...args) })
      } catch (err) {
        this.#api.log.warn({ event, reason: err instanceof Error ? err.message : String(err) }, 'could not forward an event')
      }
    }
    node.on(event, listener)
    return () => node.off(event, listener)
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return
    for (const line of this.#splitter.push(chunk)) this.#onLine(line)
    if (this.#splitter.overflowed) {
      this.#respondError(null, new LocalApiError('API_LINE_TOO_LONG', `a request line is longer than ${MAX_REQUEST_LINE_BYTES} bytes; closing the connection`))
      this.#closed = true
      this.#socket.end()
    }
  }

  #onLine(line: Buffer): void {
    const parsed = parseRequestLine(line)
    if (!parsed.ok) return this.#respondError(parsed.id, parsed.error)
    const request = parsed.request
    if (this.#inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) {
      return this.#respondError(request.id, new LocalApiError('API_TOO_MANY_REQUESTS', `more than ${MAX_IN_FLIGHT_PER_CONNECTION} requests in flight on one connection`))
    }
    this.#inFlight++
    void this.#call(request)
      .then(
        (result) => this.#write({ id: request.id, result }, request.method === 'stop' ? () => this.#api.requestStop() : undefined),
        (err: unknown) => this.#respondError(request.id, err),
      )
      .finally(() => this.#inFlight--)
  }

  async #call(request: ApiRequest): Promise<unknown> {
    const handler = this.#api.handlers[request.method] as (params: unknown, ctx: CallContext) => unknown
    const call = new AbortController()
    const onClose = (): void => call.abort()
    this.#aborter.signal.addEventListener('abort', onClose, { once: true })
    try {
      const result = Promise.resolve().then(() => handler(request.params, { conn: this, signal: call.signal }))
      // A transfer takes as long as its file: its bound is the client, who ends it by closing the connection.
      return TRANSFER_METHODS.has(request.method) ? await result : await withTimeout(result, this.#api.callTimeoutMs, `the local API call ${request.method}`)
    } finally {
      // Also ends work a timed-out call left running (an invitation still dialing).
      call.abort()
      this.#aborter.signal.removeEventListener('abort', onClose)
    }
  }

  #respondError(id: number | null, err: unknown): void {
    this.#write({ id, error: this.#errorJson(err) })
  }

  #errorJson(err: unknown): ApiErrorJson {
    if (err instanceof BurrowError) return { code: err.code, message: err.message }
    // Not one of ours: its message may say anything, so it stays in the node's log only.
    this.#api.log.error({ reason: err instanceof Error ? err.message : String(err) }, 'local API call failed unexpectedly')
    return { code: 'API_INTERNAL', message: API_ERRORS.API_INTERNAL }
  }

  #write(value: object, written?: () => void): void {
    if (this.#socket.destroyed || !this.#socket.writable) {
      written?.()
      return
    }
    if (this.#socket.writableLength > MAX_BUFFERED_OUTPUT_BYTES) {
      this.#api.log.warn('a local API client stopped reading; dropping its connection')
      this.destroy()
      written?.()
      return
    }
    this.#socket.write(`${JSON.stringify(value)}\n`, () => written?.())
  }

  #cleanup(): void {
    for (const off of this.#unsubscribe.splice(0)) off()
    for (const upload of this.#uploads.values()) upload.abort()
    this.#uploads.clear()
    this.#aborter.abort()
  }
}
