import { randomBytes } from 'node:crypto'
import { chmod, link, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { deriveDatabaseKey, deriveNodeKeys, type NodeKeys } from './derive.js'
import {
  encodePlainKeystore,
  encodeSealedKeystore,
  KEYSTORE_MAX_FILE_LENGTH,
  parseKeystore,
  readKeystoreSeed,
  type ScryptParams,
} from './keystore-format.js'
import { generateMasterSeed } from './master-seed.js'
import { KeysError } from './errors.js'

/** Name of the keystore file inside a node's data directory. Its format is described in `keystore-format.ts`. */
export const KEYSTORE_FILE_NAME = 'node.key'

/** Name of a re-sealed keystore waiting to replace the keystore (see {@link prepareKeystoreChange}). */
export const STAGED_KEYSTORE_FILE_NAME = `${KEYSTORE_FILE_NAME}.next`

/** Options for {@link initKeystore} and {@link openKeystore}. */
export interface KeystoreOptions {
  /**
   * Seals (init) or opens (open) the keystore with this passphrase. Without
   * one, `initKeystore` writes the master seed unencrypted, protected only by
   * file permissions. Ignored when opening a plain keystore.
   */
  readonly passphrase?: string
}

/** Path of the keystore file in `dataDir`. */
export function keystorePath(dataDir: string): string {
  return join(dataDir, KEYSTORE_FILE_NAME)
}

/**
 * Creates a node's identity: a fresh master seed, written to a new keystore
 * in `dataDir` (created, or tightened, to mode 0700), sealed if a passphrase
 * is given. The file is written to a 0600 temporary file in the same folder,
 * fsynced, then hard-linked into place, so it either appears complete or not
 * at all and an existing keystore is never replaced, even by a concurrent
 * call (throws `KEYSTORE_EXISTS`). Needs a filesystem with hard links.
 */
export async function initKeystore(dataDir: string, options: KeystoreOptions = {}): Promise<NodeKeys> {
  return (await createKeystore(dataDir, options)).keys
}

/** {@link initKeystore}, returning the database key of a sealed keystore too. */
export async function createKeystore(dataDir: string, options: KeystoreOptions = {}): Promise<UnlockedKeystore> {
  const path = keystorePath(dataDir)
  await preparePrivateDir(dataDir)
  // Checked up front only to fail before the scrypt cost; link() below is the real guard.
  if (await keystoreExists(dataDir)) throw new KeysError('KEYSTORE_EXISTS', `a keystore already exists at ${path}; refusing to overwrite it`)
  const seed = generateMasterSeed()
  try {
    const bytes =
      options.passphrase === undefined
        ? encodePlainKeystore(seed)
        : await encodeSealedKeystore(seed, options.passphrase)
    try {
      await writeNewPrivateFile(path, bytes)
      const parsed = parseKeystore(bytes)
      return { keys: deriveNodeKeys(seed), databaseKey: parsed.kind === 'sealed' ? deriveDatabaseKey(seed, parsed.salt) : undefined }
    } finally {
      bytes.fill(0)
    }
  } finally {
    seed.fill(0)
  }
}

/**
 * Loads a node's keys from the keystore in `dataDir`. Refuses a file that
 * group or others can access, that another user owns, or that is not a
 * regular file (`KEYSTORE_PERMISSIONS`, which says how to fix it).
 * Also throws `KEYSTORE_NOT_FOUND`, `KEYSTORE_CORRUPT`,
 * `KEYSTORE_PASSPHRASE_REQUIRED` and `KEYSTORE_WRONG_PASSPHRASE`.
 */
export async function openKeystore(dataDir: string, options: KeystoreOptions = {}): Promise<NodeKeys> {
  return withKeystoreSeed(dataDir, options.passphrase, (seed) => deriveNodeKeys(seed))
}

/** A keystore opened: the node's keys and, when it is sealed, the key of its database. */
export interface UnlockedKeystore {
  readonly keys: NodeKeys
  /**
   * 32-byte key sealing the database ({@link deriveDatabaseKey}); undefined
   * for a plain keystore, whose database is not sealed either. Secret.
   */
  readonly databaseKey: Uint8Array | undefined
}

/**
 * Like {@link openKeystore}, and also derives the database key of a sealed
 * keystore: one passphrase opens the keys and the database. Once the
 * keystore opened, a staged keystore left by an interrupted passphrase
 * change is removed: it was never committed, and it holds the seed under a
 * passphrase that is not in force.
 */
export async function unlockKeystore(dataDir: string, options: KeystoreOptions = {}): Promise<UnlockedKeystore> {
  const unlocked = await withKeystoreSeed(dataDir, options.passphrase, (seed, salt) => ({
    keys: deriveNodeKeys(seed),
    databaseKey: salt === undefined ? undefined : deriveDatabaseKey(seed, salt),
  }))
  await discardStagedKeystore(dataDir)
  return unlocked
}

/**
 * A passphrase change prepared by {@link prepareKeystoreChange}: the new
 * keystore is encoded (the scrypt work is done) but nothing is written yet.
 * Its owner re-keys the database from `currentDatabaseKey` to
 * `nextDatabaseKey`, then calls {@link stage} and {@link commit}.
 */
export interface KeystoreChange {
  /** The database key of the keystore as it is (undefined: plain). Secret. */
  readonly currentDatabaseKey: Uint8Array | undefined
  /** The database key that goes with the new keystore (undefined: plain). Secret. */
  readonly nextDatabaseKey: Uint8Array | undefined
  /** Writes the new keystore as `node.key.next` (0600, fsynced), replacing a stale one. */
  stage(): Promise<void>
  /** Renames the staged keystore over the keystore (atomic) and syncs the folder: from here on the new passphrase holds. */
  commit(): Promise<void>
  /** Zeroes the secrets this object holds. */
  dispose(): void
}

/**
 * Prepares a change of the keystore's passphrase: `passphrase` opens the
 * keystore as it is (ignored if it is plain), `newPassphrase` seals the new
 * one (undefined: a plain keystore). The master seed, so the node's identity
 * and `.onion` address, stay the same. Throws what {@link openKeystore}
 * throws, and `KEYSTORE_PASSPHRASE_INVALID` for an empty new passphrase.
 */
export async function prepareKeystoreChange(
  dataDir: string,
  options: { passphrase?: string; newPassphrase?: string; scrypt?: ScryptParams },
): Promise<KeystoreChange> {
  const prepared = await withKeystoreSeed(dataDir, options.passphrase, async (seed, salt) => {
    const bytes = options.newPassphrase === undefined ? encodePlainKeystore(seed) : await encodeSealedKeystore(seed, options.newPassphrase, options.scrypt)
    const parsed = parseKeystore(bytes)
    return {
      bytes,
      currentDatabaseKey: salt === undefined ? undefined : deriveDatabaseKey(seed, salt),
      nextDatabaseKey: parsed.kind === 'sealed' ? deriveDatabaseKey(seed, parsed.salt) : undefined,
    }
  })
  const staged = join(dataDir, STAGED_KEYSTORE_FILE_NAME)
  return {
    currentDatabaseKey: prepared.currentDatabaseKey,
    nextDatabaseKey: prepared.nextDatabaseKey,
    stage: async () => {
      await rm(staged, { force: true })
      await writeNewPrivateFile(staged, prepared.bytes)
    },
    commit: async () => {
      await rename(staged, keystorePath(dataDir))
      await syncDir(dataDir)
    },
    dispose: () => {
      prepared.bytes.fill(0)
      prepared.currentDatabaseKey?.fill(0)
      prepared.nextDatabaseKey?.fill(0)
    },
  }
}

/** A keystore write's temporary file (see `writeNewPrivateFile`): renamed or linked into place, or left by a crash. */
const KEYSTORE_TEMP_FILE = /^\.node\.key(\.next)?\.[0-9a-f]{16}\.tmp$/

/**
 * Removes a staged keystore left by an interrupted passphrase change (it was
 * never committed: the rename to `node.key` is the commit), and the
 * temporary file of a keystore write that a crash cut short.
 */
export async function discardStagedKeystore(dataDir: string): Promise<void> {
  await rm(join(dataDir, STAGED_KEYSTORE_FILE_NAME), { force: true })
  const names = await readdir(dataDir).catch(() => [] as string[])
  for (const name of names) if (KEYSTORE_TEMP_FILE.test(name)) await rm(join(dataDir, name), { force: true })
}

/**
 * The keystore file's bytes, after the checks of {@link openKeystore} and a
 * structural check (for a backup: a sealed keystore stays sealed in it).
 */
export async function readKeystoreFile(dataDir: string): Promise<Uint8Array> {
  const bytes = await readPrivateFile(keystorePath(dataDir))
  parseKeystore(bytes)
  return bytes
}

/**
 * Writes `bytes` (a keystore file, checked structurally first) as the
 * keystore of `dataDir`, created 0700 if missing. Never replaces an existing
 * keystore (`KEYSTORE_EXISTS`).
 */
export async function installKeystoreFile(dataDir: string, bytes: Uint8Array): Promise<void> {
  parseKeystore(bytes)
  await preparePrivateDir(dataDir)
  await writeNewPrivateFile(keystorePath(dataDir), bytes)
}

/**
 * The identity public key of the node a keystore file (its bytes, as
 * {@link readKeystoreFile} returns them) belongs to; `passphrase` opens a
 * sealed one. Throws `KEYSTORE_CORRUPT`, `KEYSTORE_PASSPHRASE_REQUIRED` or
 * `KEYSTORE_WRONG_PASSPHRASE`.
 */
export async function keystoreFileIdentity(bytes: Uint8Array, passphrase?: string): Promise<Uint8Array> {
  const seed = await readKeystoreSeed(bytes, passphrase)
  try {
    return deriveNodeKeys(seed).identity.publicKey.slice()
  } finally {
    seed.fill(0)
  }
}

/** Runs `fn` with the master seed of `dataDir`'s keystore and, if sealed, its scrypt salt; zeroes the seed after. */
async function withKeystoreSeed<T>(dataDir: string, passphrase: string | undefined, fn: (seed: Uint8Array, salt: Uint8Array | undefined) => T | Promise<T>): Promise<T> {
  const bytes = await readPrivateFile(keystorePath(dataDir))
  try {
    const parsed = parseKeystore(bytes)
    const seed = await readKeystoreSeed(bytes, passphrase)
    try {
      return await fn(seed, parsed.kind === 'sealed' ? parsed.salt : undefined)
    } finally {
      seed.fill(0)
    }
  } finally {
    bytes.fill(0)
  }
}

/** True if `dataDir` holds a keystore file (valid or not). */
export async function keystoreExists(dataDir: string): Promise<boolean> {
  try {
    await lstat(keystorePath(dataDir))
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw err
  }
}

/**
 * True if the keystore in `dataDir` is sealed with a passphrase, so a caller
 * knows whether to prompt for one. Applies the same checks as {@link openKeystore}.
 */
export async function keystoreIsSealed(dataDir: string): Promise<boolean> {
  const bytes = await readPrivateFile(keystorePath(dataDir))
  try {
    return parseKeystore(bytes).kind === 'sealed'
  } finally {
    bytes.fill(0)
  }
}

async function preparePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
  } catch (err) {
    throw new KeysError('KEYSTORE_PERMISSIONS', `cannot create or restrict the data directory ${dir} to mode 0700`, { cause: err })
  }
}

async function writeNewPrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`)
  const file = await open(temp, 'wx', 0o600)
  try {
    try {
      // The umask can only remove bits from 0600; set it exactly so the owner can read it back.
      await file.chmod(0o600)
      await file.writeFile(bytes)
      await file.sync()
    } finally {
      await file.close()
    }
    await link(temp, path).catch((err: unknown) => {
      throw errnoCode(err) === 'EEXIST' ? new KeysError('KEYSTORE_EXISTS', `a keystore already exists at ${path}; refusing to overwrite it`) : err
    })
  } finally {
    await rm(temp, { force: true })
  }
  await syncDir(dir)
}

/** fsyncs a folder, so that a rename or link in it survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const dirHandle = await open(dir, 'r')
  try {
    await dirHandle.sync()
  } finally {
    await dirHandle.close()
  }
}

/** Reads a small private file, checking type, owner and mode on the open descriptor (no check-then-open race). */
async function readPrivateFile(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r').catch((err: unknown) => {
    throw errnoCode(err) === 'ENOENT' ? new KeysError('KEYSTORE_NOT_FOUND', `no keystore at ${path}`, { cause: err }) : err
  })
  try {
    const stat = await file.stat()
    if (!stat.isFile()) throw new KeysError('KEYSTORE_PERMISSIONS', `keystore ${path} is not a regular file`)
    const uid = process.getuid?.()
    if (uid !== undefined && stat.uid !== uid) {
      throw new KeysError('KEYSTORE_PERMISSIONS', `keystore ${path} is owned by uid ${stat.uid}, not by this user (uid ${uid})`)
    }
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new KeysError('KEYSTORE_PERMISSIONS', `keystore ${path} is accessible by other users (mode ${mode}); ` +
          `its keys may be exposed. Run: chmod 600 '${path}'`,)
    }
    if (stat.size > KEYSTORE_MAX_FILE_LENGTH) throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: file is ${stat.size} bytes, too large`)
    const bytes = new Uint8Array(stat.size)
    const { bytesRead } = await file.read(bytes, 0, bytes.length, 0)
    if (bytesRead !== bytes.length) {
      bytes.fill(0)
      throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: file changed while being read`)
    }
    return bytes
  } finally {
    await file.close()
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
}
