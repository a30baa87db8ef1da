import { createHash, type Hash as HashStream } from 'node:crypto'
import { createOperation } from '../log/operation.js'
import type { Operation, Signer } from '../log/types.js'
import { checkAnnouncement, MAX_FILE_BYTES, type FileAnnouncement } from './app-body.js'
import { GroupError } from './errors.js'
import { fileLogId, newFileSecrets, sealChunk } from './file-crypto.js'

/** Bytes of content per chunk: a chat message waits behind at most about one (sync's slice is as large). */
export const CHUNK_SIZE = 256 * 1024

/** Chunks stored per transaction: one fsync per 2 MiB instead of one per chunk. */
const CHUNKS_PER_TRANSACTION = 8

/** Where an upload keeps its chunks: the node's own file log. */
export interface UploadStorage {
  /** Stores operations of our own log in one transaction. */
  append(ops: readonly Operation[]): void
  /** Deletes the file log and its upload record (a failed or cancelled upload). */
  discard(logId: Uint8Array): void
}

/**
 * A file being sent: its content goes in by {@link write}, as it is read
 * (from a file, stdin, a socket), in pieces of any size. Each full chunk is
 * sealed with the file's key (file-crypto.ts) and stored as the next
 * operation of our file log, a few chunks per transaction, so memory holds
 * one chunk being filled and at most {@link CHUNKS_PER_TRANSACTION} sealed
 * ones whatever the size, and the content hash is computed on the way.
 * {@link finish} seals the last chunk and returns the announcement, which
 * the group manager then encrypts into the group: the file log is shared
 * with the members from that moment, complete. Until then nobody gets any
 * of it, and a crash leaves a file log that the next start deletes.
 */
export class FileUpload {
  readonly groupId: Uint8Array
  readonly fileId: Uint8Array
  readonly logId: Uint8Array
  readonly #key: Uint8Array
  readonly #signer: Signer
  readonly #storage: UploadStorage
  readonly #chunkSize: number
  readonly #hash: HashStream = createHash('sha256')
  readonly #chunk: Uint8Array
  #filled = 0
  #size = 0
  #chunks = 0
  #tip: Uint8Array | null = null
  #sealed: Operation[] = []
  #state: 'open' | 'finished' | 'discarded' = 'open'

  constructor(groupId: Uint8Array, signer: Signer, storage: UploadStorage, chunkSize = CHUNK_SIZE) {
    const { fileId, key } = newFileSecrets()
    this.groupId = groupId.slice()
    this.fileId = fileId
    this.logId = fileLogId(groupId, fileId)
    this.#key = key
    this.#signer = signer
    this.#storage = storage
    this.#chunkSize = chunkSize
    this.#chunk = new Uint8Array(chunkSize)
  }

  /** Content bytes taken so far. */
  get size(): number {
    return this.#size
  }

  /** Chunks sealed and stored so far. */
  get chunks(): number {
    return this.#chunks
  }

  /** Takes the next bytes of content; stores every chunk they complete. */
  write(bytes: Uint8Array): void {
    this.#assertOpen()
    if (this.#size + bytes.length > MAX_FILE_BYTES) throw new GroupError('GROUP_FILE_UPLOAD', `a file is at most ${MAX_FILE_BYTES} bytes`)
    this.#hash.update(bytes)
    this.#size += bytes.length
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(this.#chunkSize - this.#filled, bytes.length - at)
      this.#chunk.set(bytes.subarray(at, at + take), this.#filled)
      this.#filled += take
      at += take
      if (this.#filled === this.#chunkSize) this.#seal()
    }
    if (this.#sealed.length >= CHUNKS_PER_TRANSACTION) this.#flush()
  }

  /** Stores the last chunk and returns what to announce. The upload takes nothing more. */
  finish(name: string, mediaType: string): FileAnnouncement {
    this.#assertOpen()
    if (this.#filled > 0) this.#seal()
    this.#flush()
    this.#state = 'finished'
    const file: FileAnnouncement = {
      fileId: this.fileId,
      name,
      mediaType,
      size: this.#size,
      sha256: new Uint8Array(this.#hash.digest()),
      chunkSize: this.#chunkSize,
      chunkCount: this.#chunks,
      key: this.#key,
    }
    checkAnnouncement(file, 'GROUP_INVALID_ARGUMENT')
    return file
  }

  /** Gives the upload up: its file log is deleted. Also after {@link finish}, if the announcement could not be made. */
  discard(): void {
    if (this.#state === 'discarded') return
    this.#state = 'discarded'
    this.#sealed = []
    this.#storage.discard(this.logId)
  }

  #seal(): void {
    const content = this.#chunk.subarray(0, this.#filled)
    const op = createOperation({
      signer: this.#signer,
      logId: this.logId,
      seq: this.#chunks,
      backlink: this.#tip,
      payload: sealChunk(this.#key, this.fileId, this.#chunks, content),
    })
    this.#sealed.push(op)
    this.#tip = op.hash
    this.#chunks++
    this.#filled = 0
  }

  #flush(): void {
    if (this.#sealed.length === 0) return
    this.#storage.append(this.#sealed)
    this.#sealed = []
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new GroupError('GROUP_FILE_UPLOAD', `the upload is ${this.#state}`)
  }
}
