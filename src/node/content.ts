import type { EventEmitter } from 'node:events'
import { constants, type Stats } from 'node:fs'
import { lstat, open, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { BurrowError } from '../errors.js'
import type { Logger } from '../logging.js'
import { toHex } from '../log/index.js'
import { listen } from '../util/events.js'
import { fileProblem } from '../util/file-errors.js'
import { writeNewFile } from '../util/new-file.js'
import { CHUNK_SIZE, GroupError, type FileInfo, type FileUpload, type GroupManager } from '../group/index.js'
import type { SyncManager } from '../net/index.js'
import { NodeError } from './errors.js'
import { mediaTypeOf, safeFileName } from './file-names.js'
import type { BurrowEvents, FileProgress } from './types.js'
import { fileView, groupSummary, messageView, type FileView, type GroupSummary, type MessageView, type Naming } from './views.js'

/** How often every group's retention period is applied. */
const SWEEP_INTERVAL_MS = 60_000

/** Least time between two progress reports of one transfer (the last one always comes). */
const PROGRESS_INTERVAL_MS = 100

/** Options of {@link GroupContent.sendFile} and {@link GroupContent.beginFile}. */
export interface SendFileOptions {
  /** The name members see; default: the file's base name (`stdin` for a stream). */
  name?: string
  /** `type/subtype`; default: from the name's extension, else `application/octet-stream`. */
  mediaType?: string
  /** Cancels the send: nothing of the file is kept or announced. */
  signal?: AbortSignal
  /** Called as the content is stored (at most every 100 ms, and once at the end). */
  onProgress?: (p: FileProgress) => void
}

/** Options of {@link GroupContent.saveFile}. */
export interface SaveFileOptions {
  /** A folder (the file goes in it under a safe version of its name) or a file path. Relative paths are from this process's directory. */
  out: string
  /** Replace an existing file at the target path. */
  force?: boolean
  /** For a file still arriving: wait for its last chunk (else `GROUP_FILE_INCOMPLETE`). */
  wait?: boolean
  signal?: AbortSignal
  onProgress?: (p: FileProgress) => void
}

/** A file being sent from a stream whose size is not known up front (see {@link GroupContent.beginFile}). */
export interface OutgoingFile {
  /** Bytes taken so far. */
  readonly bytes: number
  write(data: Uint8Array): void
  /** Announces the file to the group: members start fetching it. */
  finish(): Promise<MessageView>
  /** Gives it up: nothing is kept or announced. */
  abort(): void
}

/**
 * The node's files, deletion and retention: what a group holds beyond
 * messages. A file is read from disk and sealed into our file log chunk by
 * chunk, then announced (group/file-upload.ts); a received one is saved by
 * opening its stored chunks one at a time into a temporary file beside the
 * target, renamed once its hash checked out. Memory holds a few chunks
 * (256 KiB each) whatever the size. Progress of both directions, including
 * what sync hands to each peer, comes out as `file:progress` events.
 */
export class GroupContent {
  readonly #groups: GroupManager
  readonly #naming: Naming
  readonly #node: EventEmitter<BurrowEvents>
  readonly #log: Logger
  readonly #usable: () => void
  /** Saves waiting for a file's last chunk, by file log (hex). */
  readonly #waiting = new Map<string, Set<() => void>>()

  /** `usable` throws once the node is stopped for good (its database closed). */
  constructor(groups: GroupManager, naming: Naming, node: EventEmitter<BurrowEvents>, logger: Logger, usable: () => void = () => {}) {
    this.#groups = groups
    this.#naming = naming
    this.#node = node
    this.#log = logger
    this.#usable = usable
  }

  /**
   * Connects to a running node's sync: file logs become shared as files
   * arrive, transfers report progress, and retention is applied every
   * minute. Returns the detach.
   */
  attach(sync: SyncManager): () => void {
    const sweep = (): void => {
      this.#groups.sweepRetention().catch((err: unknown) => this.#log.warn({ code: err instanceof BurrowError ? err.code : undefined }, 'retention sweep failed'))
    }
    const timer = setInterval(sweep, SWEEP_INTERVAL_MS)
    timer.unref()
    sweep()
    const off = [
      () => clearInterval(timer),
      listen(this.#groups, 'file', ({ logId }) => sync.share(logId)),
      listen(this.#groups, 'deleted', ({ groupId, author, seqs }) => this.#node.emit('group:deleted', { groupId: toHex(groupId), author: toHex(author), seqs })),
      listen(sync, 'ingested', ({ peer, logId, stored }) => {
        const file = stored > 0 ? this.#groups.fileByLog(logId) : undefined
        if (file === undefined) return
        this.#progress(file, 'receive', file.chunksHeld, peer)
        if (file.chunksHeld >= file.chunkCount) for (const done of this.#waiting.get(toHex(logId)) ?? []) done()
      }),
      listen(sync, 'sent', ({ peer, logId, seq }) => {
        const file = this.#groups.fileByLog(logId)
        if (file !== undefined) this.#progress(file, 'send', seq + 1, peer)
      }),
    ]
    return () => off.forEach((f) => f())
  }

  /**
   * Sends a regular file the node's user can read, of any size up to 64 GiB:
   * its content is sealed into our file log as it is read, then announced
   * to the group (members fetch it from then on). `NODE_FILE_UNREADABLE` for
   * anything else (a folder, a device, a FIFO, no permission).
   */
  async sendFile(group: string, path: string, options: SendFileOptions = {}): Promise<MessageView> {
    this.#usable()
    const groupId = this.#groups.resolve(group).id
    const handle = await openRegularFile(resolve(path))
    try {
      const size = (await handle.stat()).size
      const name = options.name ?? basename(path)
      const outgoing = this.#outgoing(groupId, name, options, size)
      try {
        const buffer = Buffer.alloc(CHUNK_SIZE)
        for (;;) {
          if (options.signal?.aborted === true) throw new NodeError('NODE_CANCELLED', 'the file send was cancelled')
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
          if (bytesRead === 0) break
          outgoing.write(buffer.subarray(0, bytesRead))
        }
      } catch (err) {
        outgoing.abort()
        throw err
      }
      return await outgoing.finish()
    } finally {
      await handle.close()
    }
  }

  /**
   * Starts sending a file whose content arrives as a stream of unknown size
   * (stdin through the local API): write it in, then `finish()`. Its chunks
   * are stored as they come and announced after the last one.
   */
  beginFile(group: string, options: SendFileOptions = {}): OutgoingFile {
    this.#usable()
    return this.#outgoing(this.#groups.resolve(group).id, options.name ?? 'stdin', options, null)
  }

  /** The files of a group known here (sent, or announced to us), oldest first. */
  files(group: string): FileView[] {
    this.#usable()
    return this.#groups.files(this.#groups.resolve(group).id).map((f) => fileView(f, this.#naming))
  }

  /** A file by its id (hex, or a unique prefix of at least 4 characters) or its unique name. */
  file(group: string, what: string): FileView {
    this.#usable()
    return fileView(this.#resolve(group, what), this.#naming)
  }

  /**
   * Saves a file of the group: its chunks are opened one at a time into a
   * temporary file in the target folder, which becomes the target only once
   * the content's SHA-256 matched the announcement. Never writes outside
   * that folder: a folder target gets the sender's name made safe
   * (file-names.ts). An existing target is refused (`NODE_FILE_EXISTS`)
   * unless `force`, a folder there even with it (`NODE_FILE_UNWRITABLE`); a file still arriving is refused (`GROUP_FILE_INCOMPLETE`)
   * unless `wait`.
   */
  async saveFile(group: string, what: string, options: SaveFileOptions): Promise<{ file: FileView; path: string }> {
    this.#usable()
    let file = this.#resolve(group, what)
    if (file.chunksHeld < file.chunkCount) {
      if (options.wait !== true) throw new GroupError('GROUP_FILE_INCOMPLETE', `${file.chunksHeld} of ${file.chunkCount} chunks have arrived; wait for the rest`)
      file = await this.#whenComplete(file, options)
    }
    const target = await targetPath(resolve(options.out), file.name)
    const there = await lstat(target).catch(() => undefined)
    if (there?.isDirectory() === true) throw folderInTheWay(target)
    if (there !== undefined && options.force !== true) throw fileInTheWay(target)
    const report = this.#throttled(file, 'receive', options.onProgress)
    const groups = this.#groups
    function* chunks(): Generator<Uint8Array> {
      let n = 0
      for (const content of groups.fileContent(file.logId)) {
        if (options.signal?.aborted === true) throw new NodeError('NODE_CANCELLED', 'saving the file was cancelled')
        yield content
        report(++n, false)
      }
      report(n, true)
    }
    try {
      await writeNewFile(target, chunks(), { replace: options.force === true })
    } catch (err) {
      throw saveError(err, target)
    }
    return { file: fileView(file, this.#naming), path: target }
  }

  /**
   * Deletes one of our own messages (`#12` or `12`: its local id) or files
   * (its id or name) for every member. Returns the entry as it was.
   */
  async delete(group: string, what: string): Promise<{ message?: MessageView; file?: FileView }> {
    this.#usable()
    const groupId = this.#groups.resolve(group).id
    const id = /^#?(\d{1,15})$/.exec(what.trim())?.[1]
    if (id !== undefined) {
      const removed = await this.#groups.deleteEntry(groupId, { messageId: Number(id) })
      return 'logId' in removed ? { file: fileView(removed, this.#naming) } : { message: messageView(removed, this.#naming) }
    }
    const file = this.#groups.resolveFile(groupId, what)
    await this.#groups.deleteEntry(groupId, { logId: file.logId })
    return { file: fileView(file, this.#naming) }
  }

  /** Owner: sets the group's retention period (ms; null: none), which every member applies. */
  async setRetention(group: string, periodMs: number | null): Promise<GroupSummary> {
    this.#usable()
    const info = await this.#groups.setRetention(this.#groups.resolve(group).id, periodMs)
    void this.#groups.sweepRetention().catch(() => {})
    return groupSummary(info, this.#naming)
  }

  #resolve(group: string, what: string): FileInfo {
    return this.#groups.resolveFile(this.#groups.resolve(group).id, what)
  }

  #outgoing(groupId: Uint8Array, name: string, options: SendFileOptions, size: number | null): OutgoingFile {
    const upload: FileUpload = this.#groups.beginFile(groupId)
    const mediaType = options.mediaType ?? mediaTypeOf(name)
    const total = size === null ? null : Math.ceil(size / CHUNK_SIZE)
    let last = 0
    const report = (final: boolean): void => {
      const now = Date.now()
      if (!final && now - last < PROGRESS_INTERVAL_MS) return
      last = now
      const p: FileProgress = {
        groupId: toHex(groupId), fileId: toHex(upload.fileId), name, direction: 'send',
        chunks: upload.chunks, totalChunks: final ? upload.chunks : total, bytes: upload.size, size: final ? upload.size : size,
      }
      options.onProgress?.(p)
      this.#node.emit('file:progress', p)
    }
    return {
      get bytes() {
        return upload.size
      },
      write: (data) => {
        upload.write(data)
        report(false)
      },
      finish: async () => {
        // sendFile discards the upload itself if the announcement fails.
        const message = await this.#groups.sendFile(upload, { name, mediaType })
        report(true)
        return messageView(message, this.#naming)
      },
      abort: () => upload.discard(),
    }
  }

  /** Resolves with the file once all its chunks are here; reports progress meanwhile. */
  async #whenComplete(file: FileInfo, options: SaveFileOptions): Promise<FileInfo> {
    const key = toHex(file.logId)
    const report = this.#throttled(file, 'receive', options.onProgress)
    for (;;) {
      const now = this.#groups.fileByLog(file.logId)
      if (now === undefined) throw new GroupError('GROUP_FILE_NOT_FOUND', 'the file was deleted while waiting for it')
      report(now.chunksHeld, false)
      if (now.chunksHeld >= now.chunkCount) return now
      await new Promise<void>((resolveWait, reject) => {
        const waiters = this.#waiting.get(key) ?? new Set()
        this.#waiting.set(key, waiters)
        // Checked again every second: a file deleted meanwhile sends no chunk to wake us.
        const timer = setTimeout(done, 1_000)
        const onAbort = (): void => {
          done()
          reject(new NodeError('NODE_CANCELLED', 'waiting for the file was cancelled'))
        }
        function done(): void {
          clearTimeout(timer)
          waiters.delete(done)
          options.signal?.removeEventListener('abort', onAbort)
          resolveWait()
        }
        waiters.add(done)
        if (options.signal?.aborted === true) onAbort()
        else options.signal?.addEventListener('abort', onAbort, { once: true })
      })
      if (this.#waiting.get(key)?.size === 0) this.#waiting.delete(key)
    }
  }

  #throttled(file: FileInfo, direction: 'send' | 'receive', onProgress?: (p: FileProgress) => void): (chunks: number, final: boolean) => void {
    let last = 0
    return (chunks, final) => {
      const now = Date.now()
      if (onProgress === undefined || (!final && now - last < PROGRESS_INTERVAL_MS)) return
      last = now
      onProgress(this.#progressOf(file, direction, chunks))
    }
  }

  #progress(file: FileInfo, direction: 'send' | 'receive', chunks: number, peerId: string): void {
    this.#node.emit('file:progress', { ...this.#progressOf(file, direction, chunks), peerId })
  }

  #progressOf(file: FileInfo, direction: 'send' | 'receive', chunks: number): FileProgress {
    return {
      groupId: toHex(file.groupId), fileId: toHex(file.fileId), name: file.name, direction,
      chunks, totalChunks: file.chunkCount, bytes: Math.min(file.size, chunks * file.chunkSize), size: file.size,
    }
  }
}

/**
 * Opens a file to send: a regular file the node's user can read. Opened
 * non-blocking, so a FIFO put there cannot hang the node, and checked on the
 * open descriptor, so what was checked is what is read.
 */
async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw new NodeError('NODE_FILE_UNREADABLE', `cannot read ${path}: ${fileProblem(err)}`, { cause: err })
  }
  let info: Stats
  try {
    info = await handle.stat()
  } catch (err) {
    await handle.close()
    throw err
  }
  if (!info.isFile()) {
    await handle.close()
    throw new NodeError('NODE_FILE_UNREADABLE', `${path} is not a regular file`)
  }
  return handle
}

/** The file to write: in folder `out` under the safe form of `name`, or `out` itself when it is not a folder. */
async function targetPath(out: string, name: string): Promise<string> {
  const info = await stat(out).catch(() => undefined)
  if (info?.isDirectory() === true) return join(out, safeFileName(name))
  const folder = await stat(dirname(out)).catch(() => undefined)
  if (folder === undefined) throw new NodeError('NODE_FILE_UNWRITABLE', `${dirname(out)} does not exist`)
  if (!folder.isDirectory()) throw new NodeError('NODE_FILE_UNWRITABLE', `${dirname(out)} is not a folder`)
  return out
}

const fileInTheWay = (target: string): NodeError => new NodeError('NODE_FILE_EXISTS', `${target} exists; to replace it, add --force`)
const folderInTheWay = (target: string): NodeError => new NodeError('NODE_FILE_UNWRITABLE', `${target} is a folder; a file cannot replace it (not even with --force): choose another --out`)

/** A failure of writing a saved file, as the typed error a user can act on; errors of ours (a corrupt file, a cancel) as they are. */
function saveError(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (err instanceof BurrowError || typeof code !== 'string') return err
  // EEXIST: something appeared at the target meanwhile (the link refuses it); EISDIR: a folder did, and --force renamed onto it.
  if (code === 'EEXIST') return fileInTheWay(target)
  if (code === 'EISDIR') return folderInTheWay(target)
  return new NodeError('NODE_FILE_UNWRITABLE', `cannot save to ${target}: ${fileProblem(err)}`, { cause: err })
}
