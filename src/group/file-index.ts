import { bytesEqual, toHex } from '../log/bytes.js'
import type { Header } from '../log/types.js'
import type { FileRow } from '../store/index.js'
import { CHUNK_OVERHEAD } from './file-crypto.js'

/** What sync needs to know of a file log, without its key. */
interface IndexedFile {
  readonly groupId: Uint8Array
  readonly logId: Uint8Array
  readonly author: Uint8Array
  readonly chunkCount: number
  readonly chunkSize: number
}

/**
 * The file logs this node knows, in memory: a file log is known once its
 * announcement was decrypted here (the sender's own included), and
 * forgotten when the file is deleted or expires. Sync asks it for every
 * frame: which group a file log belongs to (it is shared exactly with that
 * group's members), and which of its operations to take (the sender's
 * chunks 0 to count − 1, each no larger than a sealed chunk).
 */
export class FileIndex {
  readonly #files = new Map<string, IndexedFile>()
  /** Group (hex) → its file logs (hex). */
  readonly #byGroup = new Map<string, Set<string>>()

  add(file: Pick<FileRow, 'groupId' | 'logId' | 'author' | 'chunkCount' | 'chunkSize'>): void {
    const log = toHex(file.logId)
    const group = toHex(file.groupId)
    this.#files.set(log, { groupId: file.groupId.slice(), logId: file.logId.slice(), author: file.author.slice(), chunkCount: file.chunkCount, chunkSize: file.chunkSize })
    let logs = this.#byGroup.get(group)
    if (logs === undefined) this.#byGroup.set(group, (logs = new Set()))
    logs.add(log)
  }

  drop(logId: Uint8Array): void {
    const log = toHex(logId)
    const file = this.#files.get(log)
    if (file === undefined) return
    this.#files.delete(log)
    const group = toHex(file.groupId)
    const logs = this.#byGroup.get(group)
    if (logs?.delete(log) === true && logs.size === 0) this.#byGroup.delete(group)
  }

  /** The group a file log belongs to; undefined for any other log. */
  groupOf(logId: Uint8Array): Uint8Array | undefined {
    return this.#files.get(toHex(logId))?.groupId
  }

  /** The file logs of these groups. */
  logsOf(groupIds: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const groupId of groupIds) for (const log of this.#byGroup.get(toHex(groupId)) ?? []) out.push(this.#files.get(log)!.logId.slice())
    return out
  }

  /** Whether an operation belongs in the file log it names; true for logs that are not file logs. */
  accepts(header: Pick<Header, 'logId' | 'author' | 'seq' | 'payloadSize'>): boolean {
    const file = this.#files.get(toHex(header.logId))
    if (file === undefined) return true
    return bytesEqual(header.author, file.author) && header.seq < file.chunkCount && header.payloadSize <= file.chunkSize + CHUNK_OVERHEAD
  }
}
