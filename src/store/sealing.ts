import { chmodSync, closeSync, existsSync, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Database } from 'better-sqlite3'
import { StoreError } from './errors.js'

/**
 * Sealing a database at rest, and moving one between keys without losing it.
 *
 * The cipher is SQLite3 Multiple Ciphers' default, ChaCha20-Poly1305 per
 * page (the database file, its WAL and its rollback journal are all written
 * through it; the -shm index holds no content). The key is given raw
 * (`raw:` + 32 bytes): it comes from HKDF over the master seed, so the
 * library's PBKDF2 would only cost time. Temporary tables and sorts stay in
 * memory (`temp_store = MEMORY`), since SQLite's temporary files are not
 * encrypted.
 *
 * A change of key (plain to sealed, sealed to another key, sealed to plain)
 * never rewrites the database in place: a copy is made beside it and the
 * copy is re-keyed, then renamed over it, so a SIGKILL at any point leaves
 * either the old database or the new one, whole:
 * 1. `VACUUM INTO <db>.building`: a consistent copy, under the old key (the
 *    source is checkpointed first, so nothing is left only in its WAL).
 * 2. Re-key the copy; fsync it; rename it to `<db>.next` (complete from here).
 * 3. The commit: for a migration at open, nothing more; for a passphrase
 *    change, the keystore is replaced (its rename is the commit point, see
 *    `keys/keystore.ts`).
 * 4. Link `<db>` to `<db>.old`, rename `<db>.next` over `<db>`, then
 *    overwrite `<db>.old` with zeros and remove it (best effort against an
 *    old plaintext lingering in the folder; a filesystem may keep old blocks).
 *
 * {@link settleDatabaseFile} finishes or undoes an interrupted change at the
 * next open: `.building` is always discarded; `.next` is kept only if `<db>`
 * no longer opens with the current key (the commit happened), else discarded.
 * @module
 */

/** The first 16 bytes of every unencrypted SQLite database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1')

/** Length of a database key. */
export const DATABASE_KEY_LENGTH = 32

/** The two methods better-sqlite3-multiple-ciphers adds to a connection. */
interface CipherConnection {
  key(key: Buffer): number
  rekey(key: Buffer): number
}

/** Opens a connection on an existing file; the caller applies keys and pragmas. */
export type OpenConnection = (path: string) => Database

/** What a database file holds, judged from its first bytes. */
export type DatabaseFileState = 'missing' | 'empty' | 'plain' | 'sealed'

/** `missing`, `empty` (a new database), `plain` (SQLite's header) or `sealed` (anything else: the cipher leaves no header). */
export function databaseFileState(path: string): DatabaseFileState {
  if (!existsSync(path)) return 'missing'
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length)
    const n = readSync(fd, head, 0, head.length, 0)
    if (n === 0) return 'empty'
    return n === head.length && head.equals(SQLITE_MAGIC) ? 'plain' : 'sealed'
  } finally {
    closeSync(fd)
  }
}

function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== DATABASE_KEY_LENGTH) {
    throw new StoreError('STORE_WRONG_KEY', `a database key must be ${DATABASE_KEY_LENGTH} bytes`)
  }
}

/** The library's raw-key form, in a buffer the caller zeroes. */
function rawKey(key: Uint8Array | undefined): Buffer {
  if (key === undefined) return Buffer.alloc(0)
  assertKey(key)
  const out = Buffer.alloc(4 + key.length)
  out.write('raw:', 'latin1')
  out.set(key, 4)
  return out
}

function isNotADatabase(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'SQLITE_NOTADB' || err.code === 'SQLITE_CORRUPT')
}

/**
 * Keys a fresh connection (before any other statement) and proves the key by
 * reading the schema. Throws `STORE_WRONG_KEY` when the file does not open
 * with it; SQLite has then read page 1 only and changed nothing.
 */
export function applyDatabaseKey(db: Database, key: Uint8Array): void {
  const raw = rawKey(key)
  try {
    ;(db as unknown as CipherConnection).key(raw)
  } finally {
    raw.fill(0)
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get()
  } catch (err) {
    if (isNotADatabase(err)) throw new StoreError('STORE_WRONG_KEY', 'the database does not open with the keystore\'s key (another node\'s database, or a damaged file)', { cause: err })
    throw err
  }
  // SQLite's temporary files are not encrypted: keep sorts and temporary tables in memory.
  db.pragma('temp_store = MEMORY')
}

/** True if the database at `path` opens with `key` (undefined: unencrypted). Reads only. */
function opensWith(path: string, key: Uint8Array | undefined, open: OpenConnection): boolean {
  const state = databaseFileState(path)
  if (key === undefined || state !== 'sealed') return key === undefined && state !== 'sealed' && state !== 'missing'
  const db = open(path)
  try {
    applyDatabaseKey(db, key)
    return true
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_WRONG_KEY') return false
    throw err
  } finally {
    db.close()
  }
}

const building = (path: string): string => `${path}.building`
const next = (path: string): string => `${path}.next`
const old = (path: string): string => `${path}.old`

function removeFiles(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true })
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Finishes or undoes a change of key interrupted by a crash, then brings the
 * file to the key asked for: a plain database given a key is sealed (the
 * migration of a node that got a passphrase); a sealed database without a
 * key throws `STORE_SEALED`. Needs no other connection to the database.
 */
export function settleDatabaseFile(path: string, key: Uint8Array | undefined, open: OpenConnection): void {
  removeFiles(building(path), `${building(path)}-journal`)
  if (existsSync(next(path))) {
    if (opensWith(path, key, open)) removeFiles(next(path))
    else commitResealedDatabase(path)
  }
  scrubOld(path)
  const state = databaseFileState(path)
  if (key !== undefined && state === 'plain') {
    buildResealed(path, undefined, key, open)
    commitResealedDatabase(path)
  } else if (key === undefined && state === 'sealed') {
    throw new StoreError('STORE_SEALED', `the database ${path} is sealed, but the keystore is not: it needs the passphrase it was sealed with`)
  }
}

/**
 * Writes `<path>.next`: the database re-keyed from `fromKey` to `toKey`
 * (undefined: unencrypted), complete and fsynced; `<path>` is not changed.
 * Settle the file first; no other connection may be writing.
 */
export function buildResealed(path: string, fromKey: Uint8Array | undefined, toKey: Uint8Array | undefined, open: OpenConnection): void {
  const target = building(path)
  removeFiles(target, `${target}-journal`, next(path))
  // SQLite would create the copy with mode 0644; it must be as private as the database.
  closeSync(openSync(target, 'w', 0o600))
  chmodSync(target, 0o600)
  const source = open(path)
  try {
    if (fromKey !== undefined) applyDatabaseKey(source, fromKey)
    // Everything into the main file first, so that the copy below misses nothing.
    source.pragma('wal_checkpoint(TRUNCATE)')
    source.prepare('VACUUM INTO ?').run(target)
  } finally {
    source.close()
  }
  // VACUUM INTO wrote the copy under the source's key, in rollback-journal mode: re-key it there.
  const copy = open(target)
  try {
    if (fromKey !== undefined) applyDatabaseKey(copy, fromKey)
    else copy.pragma('temp_store = MEMORY')
    const raw = rawKey(toKey)
    try {
      ;(copy as unknown as CipherConnection).rekey(raw)
    } finally {
      raw.fill(0)
    }
  } finally {
    copy.close()
  }
  fsyncPath(target)
  renameSync(target, next(path))
  fsyncPath(dirname(path))
}

/**
 * Puts `<path>.next` in place of `<path>` (the old one's WAL and index go: it
 * was checkpointed before the copy), then scrubs the old file.
 */
export function commitResealedDatabase(path: string): void {
  removeFiles(`${path}-wal`, `${path}-shm`)
  if (existsSync(path) && !sameFile(path, old(path))) {
    removeFiles(old(path))
    linkSync(path, old(path))
  }
  renameSync(next(path), path)
  fsyncPath(dirname(path))
  scrubOld(path)
}

function sameFile(a: string, b: string): boolean {
  if (!existsSync(a) || !existsSync(b)) return false
  const sa = statSync(a)
  const sb = statSync(b)
  return sa.ino === sb.ino && sa.dev === sb.dev
}

const SCRUB_CHUNK = 1 << 20

/** Overwrites `<path>.old` with zeros, fsyncs and removes it, unless it still is `<path>` itself. */
function scrubOld(path: string): void {
  const target = old(path)
  if (!existsSync(target)) return
  if (sameFile(path, target)) {
    // The rename did not happen; `.old` is the live file's second name.
    if (!existsSync(next(path))) removeFiles(target)
    return
  }
  const fd = openSync(target, 'r+')
  try {
    const size = fstatSync(fd).size
    const zeros = Buffer.alloc(Math.min(SCRUB_CHUNK, Math.max(size, 1)))
    for (let at = 0; at < size; at += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, size - at), at)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  removeFiles(target)
  fsyncPath(dirname(path))
}
