import { createHash } from 'node:crypto'
import { chmodSync, closeSync, createReadStream, fstatSync, fsyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import type { Database } from 'better-sqlite3'
import { writeNewFile } from '../util/new-file.js'
import { StoreError } from './errors.js'

/**
 * Backup files: a node's keystore, its config and a consistent snapshot of
 * its database in one file, sealed with a passphrase. The format is in
 * docs/backup-format.md:
 *
 * - outside, a file of the age format (age-encryption.org/v1) with one scrypt
 *   recipient: the passphrase. age authenticates the header (HMAC) and every
 *   64 KiB chunk (ChaCha20-Poly1305, the last chunk flagged), so a changed,
 *   truncated or reordered file is refused. `--no-passphrase` backups skip
 *   this layer.
 * - inside, the Burrow container: magic "BURROWBK", version 1, then length-
 *   prefixed fields (origin data directory, keystore file, config file,
 *   database file), then SHA-256 of all of it (it catches damage to an
 *   unsealed backup; inside age it is redundant).
 *
 * The snapshot is taken with `VACUUM INTO` on a connection of its own: one
 * read transaction, so it is consistent even while a node writes (WAL), and
 * it stays under the database's key when the database is sealed.
 * @module
 */

/** Version of the container inside a backup file. */
export const BACKUP_FORMAT_VERSION = 1

const MAGIC = Buffer.from('BURROWBK', 'latin1')
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1')
const DIGEST_LENGTH = 32
/** Bounds that keep a damaged or hostile file from making us allocate much before its checksum is seen. */
const MAX_SMALL_FIELD = 64 * 1024
/** scrypt work factor of a backup's passphrase: 2^17, as the keystore's; also the most a backup is opened with (age readers accept up to 2^20). */
export const BACKUP_SCRYPT_LOG_N = 17

/** What a backup holds. */
export interface BackupParts {
  /** The data directory the backup was taken from (absolute). */
  readonly origin: string
  /** The keystore file's bytes (sealed or not, as it is on disk). */
  readonly keystore: Uint8Array
  /** The config file's bytes, if the node has one. */
  readonly config?: Uint8Array
  /** A database file: a snapshot from {@link snapshotDatabase}. */
  readonly databasePath: string
}

/** Options for {@link writeBackup} and {@link readBackup}. */
export interface BackupSealing {
  /** Seals (or opens) the backup; undefined: an unsealed backup. */
  readonly passphrase?: string
  /** scrypt work factor when sealing (default {@link BACKUP_SCRYPT_LOG_N}; lower only in tests). */
  readonly scryptLogN?: number
}

/**
 * age-encryption, loaded by the first sealed backup: a running node never
 * needs its 33 modules (and the second copy of @noble/curves they bring),
 * about 2 MB of heap held for the life of the process.
 */
function loadAge(): Promise<typeof import('age-encryption')> {
  return import('age-encryption')
}

/** Creates `path` empty and 0600: SQLite would create it 0644. */
function createPrivateFile(path: string): void {
  closeSync(openSync(path, 'wx', 0o600))
  chmodSync(path, 0o600)
}

/**
 * Writes a consistent copy of the database `db` is connected to into the new
 * file `path` (0600), under the same key if it is sealed.
 */
export function snapshotDatabase(db: Database, path: string): void {
  createPrivateFile(path)
  try {
    db.prepare('VACUUM INTO ?').run(path)
  } catch (err) {
    rmSync(path, { force: true })
    throw err
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

/** The container's bytes, streamed: the database file is read in chunks, never whole. */
async function* container(parts: BackupParts): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256')
  const emit = (b: Uint8Array): Uint8Array => {
    hash.update(b)
    return b
  }
  const origin = Buffer.from(parts.origin, 'utf8')
  const config = parts.config ?? new Uint8Array(0)
  yield emit(Buffer.concat([MAGIC, Buffer.of(BACKUP_FORMAT_VERSION)]))
  for (const field of [origin, parts.keystore, config]) {
    yield emit(u32(field.length))
    yield emit(field)
  }
  yield emit(u64(statSync(parts.databasePath).size))
  for await (const chunk of createReadStream(parts.databasePath, { highWaterMark: 256 * 1024 })) yield emit(chunk as Buffer)
  yield hash.digest()
}

const backupExists = (out: string): StoreError => new StoreError('STORE_BACKUP_EXISTS', `${out} already exists; a backup never replaces a file`)

/** Writes `out` (0600) whole or not at all, never replacing a file (not even one that appears while it is written). */
async function writeNewBackupFile(out: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await writeNewFile(out, chunks)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw backupExists(out)
    throw err
  }
}

/** Writes the backup file `out`: sealed with `sealing.passphrase`, or unsealed without one. Never replaces an existing file. */
export async function writeBackup(out: string, parts: BackupParts, sealing: BackupSealing = {}): Promise<void> {
  // Checked first so that a backup is not built only to be refused; the link at the end is what guarantees it.
  let exists = true
  try {
    statSync(out)
  } catch {
    exists = false
  }
  if (exists) throw backupExists(out)
  const inner = ReadableStream.from(container(parts))
  if (sealing.passphrase === undefined) return writeNewBackupFile(out, inner)
  const { Encrypter } = await loadAge()
  const encrypter = new Encrypter()
  encrypter.setPassphrase(sealing.passphrase)
  encrypter.setScryptWorkFactor(sealing.scryptLogN ?? BACKUP_SCRYPT_LOG_N)
  return writeNewBackupFile(out, await encrypter.encrypt(inner))
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>
  #buffer: Buffer = Buffer.alloc(0)
  #hash: ReturnType<typeof createHash> | undefined = createHash('sha256')

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.#it = stream[Symbol.asyncIterator]()
  }

  /** Up to `max` bytes (at least one), hashed; undefined at the end. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.#buffer.length === 0) {
      const next = await this.#it.next()
      if (next.done === true) return undefined
      this.#buffer = Buffer.from(next.value)
    }
    const out = this.#buffer.subarray(0, max)
    this.#buffer = this.#buffer.subarray(out.length)
    this.#hash?.update(out)
    return out
  }

  /** SHA-256 of every byte read so far; later reads are not hashed. */
  digest(): Buffer {
    const digest = this.#hash!.digest()
    this.#hash = undefined
    return digest
  }

  async exactly(n: number, what: string): Promise<Buffer> {
    const parts: Buffer[] = []
    let got = 0
    while (got < n) {
      const part = await this.some(n - got)
      if (part === undefined) throw new StoreError('STORE_BACKUP_INVALID', `the backup ends inside its ${what}`)
      parts.push(part)
      got += part.length
    }
    return Buffer.concat(parts)
  }

  async end(): Promise<boolean> {
    if (this.#buffer.length > 0) return false
    return (await this.#it.next()).done === true
  }
}

/** A backup read back: its small parts in memory, its database written to a file. */
export interface RestoredParts {
  readonly origin: string
  readonly keystore: Uint8Array
  readonly config: Uint8Array | undefined
  /** True if the backup was sealed with a passphrase. */
  readonly sealed: boolean
}

function fileStream(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 256 * 1024 })
}

async function firstBytes(path: string, n: number): Promise<Buffer> {
  for await (const chunk of createReadStream(path, { start: 0, end: n - 1, highWaterMark: n })) return chunk as Buffer
  return Buffer.alloc(0)
}

/**
 * The most of a sealed backup's start in which its age header must end.
 * age-encryption 0.3 reads each header line up to its newline with no limit
 * on its length, so before this check a file with no newline after the magic
 * was read whole into memory before being refused. The header Burrow writes
 * (the magic, one scrypt stanza of two lines, the MAC line) is about 150 bytes.
 */
const MAX_SEALED_HEADER = 4096

/**
 * Checks a sealed backup's age header before age reads it: it ends (its
 * `--- ` MAC line) within {@link MAX_SEALED_HEADER} bytes, and its scrypt
 * stanza (`-> scrypt <salt> <logN>`) asks for no more work than Burrow
 * writes. age itself accepts up to 2^20, which is 1 GiB of memory and
 * seconds of a blocked event loop spent on a file anyone could have made,
 * before the passphrase is known to be wrong. The rest of the header is
 * left to age, which authenticates it.
 */
function checkSealedHeader(head: Buffer, path: string): void {
  const text = head.toString('latin1')
  const macLine = text.indexOf('\n--- ')
  if (macLine < 0 || text.indexOf('\n', macLine + 1) < 0) throw new StoreError('STORE_BACKUP_INVALID', `${path} is not a Burrow backup: its sealed header does not end within its first ${MAX_SEALED_HEADER} bytes`)
  for (const line of text.slice(0, macLine).split('\n')) {
    const [arrow, type, , logN] = line.split(' ')
    if (arrow !== '->' || type !== 'scrypt') continue
    if (logN === undefined || !/^[1-9][0-9]?$/.test(logN) || Number(logN) > BACKUP_SCRYPT_LOG_N) {
      throw new StoreError('STORE_BACKUP_INVALID', `${path} is not a Burrow backup: its passphrase's scrypt work factor is not a number up to 2^${BACKUP_SCRYPT_LOG_N}, the most Burrow writes`)
    }
  }
}

/** Whether the backup file at `path` is sealed with a passphrase (so a caller knows to ask for one); a sealed header is checked here already. */
export async function backupIsSealed(path: string): Promise<boolean> {
  const head = await firstBytes(path, MAX_SEALED_HEADER)
  if (head.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) {
    checkSealedHeader(head, path)
    return true
  }
  if (head.subarray(0, MAGIC.length).equals(MAGIC)) return false
  throw new StoreError('STORE_BACKUP_INVALID', `${path} is not a Burrow backup`)
}

async function openSealed(path: string, passphrase: string): Promise<AsyncIterable<Uint8Array>> {
  const { Decrypter } = await loadAge()
  const decrypter = new Decrypter()
  decrypter.addPassphrase(passphrase)
  try {
    return await decrypter.decrypt(ReadableStream.from(fileStream(path)))
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    // age reports a passphrase that does not match its scrypt stanza as an identity that did not match.
    if (/incorrect|no identity matched|failed to decrypt/i.test(message)) throw new StoreError('STORE_BACKUP_WRONG_PASSPHRASE', 'the passphrase does not open this backup', { cause: err })
    throw new StoreError('STORE_BACKUP_INVALID', `the backup's sealed header is damaged or unreadable: ${message}`, { cause: err })
  }
}

/**
 * Reads the backup at `path`, writing its database to the new file
 * `databasePath` (0600). Throws `STORE_BACKUP_PASSPHRASE_REQUIRED`,
 * `STORE_BACKUP_WRONG_PASSPHRASE` or `STORE_BACKUP_INVALID` (damaged,
 * truncated or not a backup; `databasePath` is then removed). Nothing is
 * trusted before the whole file was read and checked.
 */
export async function readBackup(path: string, databasePath: string, sealing: BackupSealing = {}): Promise<RestoredParts> {
  const sealed = await backupIsSealed(path)
  if (sealed && sealing.passphrase === undefined) throw new StoreError('STORE_BACKUP_PASSPHRASE_REQUIRED')
  const stream = sealed ? await openSealed(path, sealing.passphrase!) : fileStream(path)
  createPrivateFile(databasePath)
  try {
    return { ...(await readContainer(new ByteReader(stream), databasePath)), sealed }
  } catch (err) {
    rmSync(databasePath, { force: true })
    if (err instanceof StoreError) throw err
    throw new StoreError('STORE_BACKUP_INVALID', `the backup is damaged or truncated: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

async function readContainer(reader: ByteReader, databasePath: string): Promise<Omit<RestoredParts, 'sealed'>> {
  const head = await reader.exactly(MAGIC.length + 1, 'header')
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new StoreError('STORE_BACKUP_INVALID', 'not a Burrow backup (no BURROWBK inside)')
  if (head[MAGIC.length] !== BACKUP_FORMAT_VERSION) throw new StoreError('STORE_BACKUP_INVALID', `unsupported backup version ${head[MAGIC.length]}`)
  const small = async (what: string): Promise<Buffer> => {
    const length = (await reader.exactly(4, what)).readUInt32BE()
    if (length > MAX_SMALL_FIELD) throw new StoreError('STORE_BACKUP_INVALID', `the backup's ${what} is too long (${length} bytes)`)
    return reader.exactly(length, what)
  }
  const origin = (await small('origin')).toString('utf8')
  const keystore = await small('keystore')
  const config = await small('config')
  const size = Number((await reader.exactly(8, 'database length')).readBigUInt64BE())
  const fd = openSync(databasePath, 'w')
  try {
    for (let left = size; left > 0; ) {
      const part = await reader.some(Math.min(left, 1 << 20))
      if (part === undefined) throw new StoreError('STORE_BACKUP_INVALID', 'the backup ends inside its database')
      writeSync(fd, part)
      left -= part.length
    }
    if (fstatSync(fd).size !== size) throw new StoreError('STORE_BACKUP_INVALID', 'the backup\'s database has the wrong length')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  const expected = reader.digest()
  if (!(await reader.exactly(DIGEST_LENGTH, 'checksum')).equals(expected)) throw new StoreError('STORE_BACKUP_INVALID', 'the backup\'s checksum does not match: the file is damaged')
  if (!(await reader.end())) throw new StoreError('STORE_BACKUP_INVALID', 'the backup has bytes after its checksum')
  return { origin, keystore, config: config.length > 0 ? config : undefined }
}
