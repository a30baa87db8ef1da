import { createHash } from 'node:crypto'
import { bytesEqual } from '../log/bytes.js'
import type { LogId, Operation } from '../log/types.js'
import type { FileRow } from '../store/index.js'
import { GroupError } from './errors.js'
import { openChunk } from './file-crypto.js'

/** What reading a file needs from the log store. */
export interface ChunkSource {
  operationsAfter(author: Uint8Array, logId: LogId, afterSeq: number, limit: number): Operation[]
}

/**
 * A file's content, chunk after chunk, opened from the stored chunks: one
 * chunk in memory at a time. Throws `GROUP_FILE_INCOMPLETE` at the first
 * chunk that has not arrived, and `GROUP_FILE_CORRUPT` for a chunk that does
 * not open as chunk i of this file, has the wrong length, or, after the
 * last one, when the content's SHA-256 differs from the announced one. So a
 * consumer may call the content complete only once this ends without throwing.
 */
export function* fileContent(chunks: ChunkSource, file: FileRow): Generator<Uint8Array, void, undefined> {
  const hash = createHash('sha256')
  for (let index = 0; index < file.chunkCount; index++) {
    const op = chunks.operationsAfter(file.author, file.logId, index - 1, 1)[0]
    if (op === undefined || op.header.seq !== index || op.payload === undefined) {
      throw new GroupError('GROUP_FILE_INCOMPLETE', `chunk ${index + 1} of ${file.chunkCount} has not arrived yet`)
    }
    const content = openChunk(file.key, file.fileId, index, op.payload)
    const expected = index < file.chunkCount - 1 ? file.chunkSize : file.size - file.chunkSize * (file.chunkCount - 1)
    if (content.length !== expected) throw new GroupError('GROUP_FILE_CORRUPT', `chunk ${index} holds ${content.length} bytes, not ${expected}`)
    hash.update(content)
    yield content
  }
  if (!bytesEqual(new Uint8Array(hash.digest()), file.sha256)) throw new GroupError('GROUP_FILE_CORRUPT', 'the content differs from the announced SHA-256')
}
