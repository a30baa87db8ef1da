import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, lstat, open, rename, rm, type FileHandle } from 'node:fs/promises'
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
 * `target` meanwhile (a check before a rename would be a race). A file
 * system without hard links (FAT and exFAT, as on most USB sticks; some FUSE
 * mounts) gets that check and then a rename: the file still appears whole,
 * and only something created at `target` in between could be replaced (such
 * file systems have no owners or links that would make that an attack). On
 * any failure the temporary file is removed and the first error is thrown as
 * it is (errno errors for the caller to map; errors from `chunks` unchanged).
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
    else await linkOrRenameNew(temp, target)
  } catch (err) {
    if (!closed) await handle.close().catch(() => {})
    await rm(temp, { force: true }).catch(() => {})
    throw err
  }
  // Without replace, both names now hold the file; the temporary one goes.
  await rm(temp, { force: true })
}

/** Errors of link() on a file system that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

async function linkOrRenameNew(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target)
    return
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err
  }
  const existing = await lstat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (existing !== undefined) throw Object.assign(new Error(`EEXIST: file already exists, ${target}`), { code: 'EEXIST', path: target })
  await rename(temp, target)
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; ) at += (await handle.write(data, at, data.length - at)).bytesWritten
}
