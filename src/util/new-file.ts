import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Options of {@link writeNewFile}. */
export interface NewFileOptions {
  /** Replace whatever file is at the target (by rename: a link there is replaced, never followed). Default: refuse with EEXIST. */
  readonly replace?: boolean
}

/**
 * Writes `chunks` to `target` so that it appears whole or not at all: into a
 * temporary file beside it, synced, then put in place. The temporary name is
 * random and does not depend on the target's (a long name would push it over
 * the file system's 255-byte limit); it is created anew (O_EXCL: never through
 * a link planted there) and owner-only (0600). Without `replace` it is put in
 * place by a hard link, which fails with EEXIST if anything appeared at
 * `target` meanwhile (a check before a rename would be a race). On any
 * failure the temporary file is removed and the first error is thrown as it
 * is (errno errors for the caller to map; errors from `chunks` unchanged).
 */
export async function writeNewFile(target: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: NewFileOptions = {}): Promise<void> {
  const temp = join(dirname(target), `.burrow-${randomBytes(8).toString('hex')}.part`)
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  let closed = false
  try {
    for await (const chunk of chunks) await writeAll(handle, chunk)
    await handle.sync()
    closed = true
    await handle.close()
    if (options.replace === true) await rename(temp, target)
    else await link(temp, target)
  } catch (err) {
    if (!closed) await handle.close().catch(() => {})
    await rm(temp, { force: true }).catch(() => {})
    throw err
  }
  // Without replace, both names now hold the file; the temporary one goes.
  await rm(temp, { force: true })
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; ) at += (await handle.write(data, at, data.length - at)).bytesWritten
}
