/**
 * Commands on a node's data at rest: the passphrase, backups, and what lets
 * `card` and `peers add` work without a running node.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { installKeystoreFile, keystoreExists, keystoreFileIdentity, keystoreIsSealed, keystorePath, readKeystoreFile, unlockKeystore, type NodeKeys } from '../keys/index.js'
import { KeysError } from '../keys/errors.js'
import { LocalApiError, socketAnswers } from '../api/index.js'
import { NodeError } from '../node/errors.js'
import { DataDirLock } from '../node/data-dir-lock.js'
import { loadConfig, restorableConfig } from '../node/config.js'
import { nodePaths } from '../node/paths.js'
import type { Burrow } from '../node/burrow.js'
import { printJson, type Run } from './api-commands.js'
import { CliError, EXIT } from './errors.js'
import type { CliIo } from './io.js'
import { printable } from './format.js'
import { configPath, openNode, startCommand, stringOption } from './node-commands.js'
import { canPrompt, promptPassphrase, readPassphrase, readPassphraseFile } from './passphrase.js'

// SQLite (and for restore, libp2p's peer ids) load only in the commands that use them, so the others start fast.
const loadStore = (): Promise<typeof import('../store/index.js')> => import('../store/index.js')

async function requireNode(dataDir: string): Promise<void> {
  if (!(await keystoreExists(dataDir))) throw new NodeError('NODE_NOT_FOUND', `no node in ${dataDir}; create one with \`burrow init\``)
}

/** True if a node answers on the data directory's socket: then commands go through it. */
export async function nodeRuns(dataDir: string): Promise<boolean> {
  return socketAnswers(nodePaths(dataDir).socket)
}

/** The passphrase of a sealed keystore (or backup), from the usual sources; `missing()` is thrown if there is none. */
async function currentPassphrase(run: Run, io: CliIo, missing: () => Error = () => new KeysError('KEYSTORE_PASSPHRASE_REQUIRED')): Promise<string> {
  const file = stringOption(run, 'passphrase-file')
  const p = await readPassphrase(io, { ...(file !== undefined ? { file } : {}), fromStdin: run.options['passphrase-stdin'] === true, confirm: false })
  if (p === undefined) throw missing()
  return p.value
}

/**
 * Runs `fn` on the node of the data directory opened in this process (keys
 * and database, nothing started), for commands that work without a running
 * node. The caller has checked that none runs.
 */
export async function withOfflineNode<T>(run: Run, io: CliIo, fn: (node: Burrow) => Promise<T> | T): Promise<T> {
  const config = loadConfig(configPath(run))
  const node = await openNode(run, io, { dataDir: run.globals.dataDir, ...(config.displayName !== undefined ? { displayName: config.displayName } : {}) })
  try {
    return await fn(node)
  } finally {
    await node.stop()
  }
}

/** `burrow passphrase [--remove]` */
async function passphrase(run: Run, io: CliIo): Promise<number> {
  const dataDir = run.globals.dataDir
  const remove = run.options.remove === true
  const newFile = stringOption(run, 'new-passphrase-file')
  if (remove && newFile !== undefined) throw new CliError('CLI_USAGE', '--remove and --new-passphrase-file exclude each other')
  await requireNode(dataDir)
  if (await nodeRuns(dataDir)) throw new LocalApiError('API_ALREADY_RUNNING', `the node in ${dataDir} is running; stop it first (\`burrow stop\`)`)
  const sealed = await keystoreIsSealed(dataDir)
  if (remove && !sealed) throw new CliError('CLI_USAGE', `the node in ${dataDir} has no passphrase to remove`)
  // Re-sealing the database under a process that has it open (a library user has no socket) would break that process's node.
  const lock = DataDirLock.acquire(dataDir)
  try {
    const current = sealed ? await currentPassphrase(run, io) : undefined
    // Checked before asking for the new one: a mistyped current passphrase should not cost two more prompts.
    if (current !== undefined) await unlockKeystore(dataDir, { passphrase: current })
    const next = remove ? undefined : await newPassphrase(io, newFile)
    const { changePassphrase } = await loadStore()
    await changePassphrase(dataDir, nodePaths(dataDir).database, {
      ...(current !== undefined ? { passphrase: current } : {}),
      ...(next !== undefined ? { newPassphrase: next } : {}),
    })
  } finally {
    lock.release()
  }
  if (run.globals.json) printJson(io, { sealed: !remove })
  else io.stdout.write(remove ? 'passphrase removed: keys and database are NOT sealed (file permissions only)\n' : `passphrase ${sealed ? 'changed' : 'set'}: keys and database sealed with it\n`)
  return EXIT.OK
}

/** The new passphrase: `--new-passphrase-file`, else `BURROW_NEW_PASSPHRASE`, else asked twice at a terminal. */
async function newPassphrase(io: CliIo, file: string | undefined): Promise<string> {
  if (file !== undefined) return readPassphraseFile(file)
  const env = io.env.BURROW_NEW_PASSPHRASE
  if (env !== undefined && env.length > 0) return env
  if (!canPrompt(io)) throw new CliError('CLI_USAGE', 'no new passphrase given and stdin is not a terminal: use --new-passphrase-file or BURROW_NEW_PASSPHRASE, or --remove')
  const first = await promptPassphrase(io, 'New passphrase: ')
  if (first.length === 0) throw new CliError('CLI_USAGE', 'the new passphrase is empty')
  if ((await promptPassphrase(io, 'New passphrase again: ')) !== first) throw new CliError('CLI_USAGE', 'the two passphrases differ')
  return first
}

/** `burrow backup --out FILE` */
async function backup(run: Run, io: CliIo): Promise<number> {
  const dataDir = run.globals.dataDir
  const outFlag = stringOption(run, 'out')
  if (outFlag === undefined) throw new CliError('CLI_USAGE', '--out FILE is required; see `burrow backup --help`')
  const out = resolve(outFlag)
  const noPassphrase = run.options['no-passphrase'] === true
  await requireNode(dataDir)
  if (existsSync(out)) throw new CliError('CLI_FILE', `${out} already exists; a backup never replaces a file`)
  const sealed = await keystoreIsSealed(dataDir)
  if (sealed && noPassphrase) throw new CliError('CLI_USAGE', 'this node has a passphrase: its backup is sealed with it (drop --no-passphrase)')
  let passphrase: string | undefined
  let databaseKey: Uint8Array | undefined
  if (sealed) {
    passphrase = await currentPassphrase(run, io)
    databaseKey = (await unlockKeystore(dataDir, { passphrase })).databaseKey
  } else if (!noPassphrase) {
    const file = stringOption(run, 'passphrase-file')
    passphrase = (await readPassphrase(io, { ...(file !== undefined ? { file } : {}), fromStdin: run.options['passphrase-stdin'] === true, confirm: true }))?.value
    if (passphrase === undefined) {
      throw new CliError('CLI_USAGE', 'this node has no passphrase: give one for the backup (--passphrase-file, --passphrase-stdin, BURROW_PASSPHRASE or a terminal), or --no-passphrase')
    }
  }
  const { openDatabase, snapshotDatabase, writeBackup } = await loadStore()
  const paths = nodePaths(dataDir)
  const snapshot = join(dataDir, `backup-${randomBytes(6).toString('hex')}.db`)
  // A node open elsewhere (the CLI's or a library user's: both hold the lock) keeps writing: a read-only connection of
  // our own reads one consistent snapshot (WAL). Otherwise the lock keeps a node from starting, and migrating, mid-snapshot.
  const lock = lockUnlessInUse(dataDir)
  try {
    const db = openDatabase(paths.database, { ...(lock === undefined ? { readonly: true } : {}), ...(databaseKey !== undefined ? { key: databaseKey } : {}) })
    try {
      snapshotDatabase(db, snapshot)
    } finally {
      db.close()
    }
    const config = configPath(run)
    await writeBackup(
      out,
      {
        origin: dataDir,
        keystore: await readKeystoreFile(dataDir),
        ...(existsSync(config) ? { config: readFileSync(config) } : {}),
        databasePath: snapshot,
      },
      passphrase !== undefined ? { passphrase } : {},
    )
  } finally {
    lock?.release()
    databaseKey?.fill(0)
    rmSync(snapshot, { force: true })
  }
  const bytes = statSync(out).size
  if (run.globals.json) printJson(io, { out, bytes, sealed: passphrase !== undefined })
  else io.stdout.write(`backup written to ${out} (${bytes} bytes, ${passphrase !== undefined ? 'sealed with the passphrase' : 'NOT sealed: keep it private'})\n`)
  return EXIT.OK
}

/** The data directory's lock, or undefined while a node holds it. */
function lockUnlessInUse(dataDir: string): DataDirLock | undefined {
  try {
    return DataDirLock.acquire(dataDir)
  } catch (err) {
    if (err instanceof NodeError && err.code === 'NODE_IN_USE') return undefined
    throw err
  }
}

/** `burrow restore FILE` */
async function restore(run: Run, io: CliIo): Promise<number> {
  const dataDir = run.globals.dataDir
  const file = resolve(run.args[0]!)
  if (!existsSync(file)) throw new CliError('CLI_FILE', `${file} does not exist`)
  if (await keystoreExists(dataDir)) throw new NodeError('NODE_EXISTS', `a node already exists in ${dataDir}; restore into a new data directory`)
  const { backupIsSealed, openDatabase, readBackup, StoreError } = await loadStore()
  const sealed = await backupIsSealed(file)
  const passphrase = sealed ? await currentPassphrase(run, io, () => new StoreError('STORE_BACKUP_PASSPHRASE_REQUIRED')) : undefined
  const paths = nodePaths(dataDir)
  // The first folder this restore created, if any: a failed restore removes it (and never a folder it found).
  const createdDir = mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const restoring = `${paths.database}.restoring`
  rmSync(restoring, { force: true })
  const placed: string[] = []
  let keys: NodeKeys
  let dropped: string[] = []
  try {
    const parts = await readBackup(file, restoring, passphrase !== undefined ? { passphrase } : {})
    if (run.options.force !== true) await refuseSecondCopy(resolve(parts.origin), dataDir, parts.keystore, passphrase)
    // The database first, the keystore last: a data directory is a node only once its keystore is there.
    renameSync(restoring, paths.database)
    placed.push(paths.database)
    if (parts.config !== undefined && !existsSync(paths.config)) {
      const restorable = restorableConfig(parts.config)
      dropped = restorable.dropped
      if (Object.keys(restorable.config).length > 0) {
        writeFileSync(paths.config, `${JSON.stringify(restorable.config, null, 2)}\n`, { mode: 0o600 })
        placed.push(paths.config)
      }
    }
    placed.push(keystorePath(dataDir))
    await installKeystoreFile(dataDir, parts.keystore)
    // Proves that the restored keystore opens the restored database; if not, nothing of the restore stays.
    const unlocked = await unlockKeystore(dataDir, passphrase !== undefined ? { passphrase } : {})
    openDatabase(paths.database, unlocked.databaseKey !== undefined ? { key: unlocked.databaseKey } : {}).close()
    unlocked.databaseKey?.fill(0)
    keys = unlocked.keys
  } catch (err) {
    if (createdDir !== undefined) rmSync(createdDir, { recursive: true, force: true })
    else for (const path of placed) rmSync(path, { force: true })
    throw err
  } finally {
    rmSync(restoring, { force: true })
  }
  const { peerIdOfIdentityKey } = await import('../net/address-table.js')
  const peerId = peerIdOfIdentityKey(keys.identity.publicKey)
  if (run.globals.json) printJson(io, { peerId, onion: keys.onionAddress, dataDir, sealed, configNotRestored: dropped })
  else {
    io.stdout.write(`restored node ${peerId}\nonion     ${keys.onionAddress}\ndata dir  ${dataDir}\n`)
    // A backup's config may be a stranger's (an unsealed backup's checksum proves nothing): what could run or reach anything is left out.
    if (dropped.length > 0) io.stdout.write(`not restored from the backup's config: ${printable(dropped.join(', '))}; set them again in ${printable(paths.config)} if you want them\n`)
    io.stdout.write(`next: ${printable(startCommand(run))} (and never run the original again)\n`)
  }
  return EXIT.OK
}

/**
 * Throws `CLI_SECOND_COPY` when the data directory a backup came from (on this
 * machine) still holds the node it holds, or a node whose identity cannot be
 * told because its passphrase is another one. A different node there, or
 * none, is no obstacle.
 */
async function refuseSecondCopy(origin: string, target: string, keystore: Uint8Array, passphrase: string | undefined): Promise<void> {
  if (origin === target || !(await keystoreExists(origin))) return
  const identity = await keystoreFileIdentity(keystore, passphrase)
  let same: boolean | undefined
  try {
    same = Buffer.from(await keystoreFileIdentity(await readKeystoreFile(origin), passphrase)).equals(identity)
  } catch (err) {
    if (!(err instanceof KeysError)) throw err
  }
  if (same === false) return
  const running = (await nodeRuns(origin)) ? ' and is running' : ''
  throw new CliError(
    'CLI_SECOND_COPY',
    same === true
      ? `the node this backup was taken from still exists in ${origin}${running}: a second copy of one identity forks its own logs. Remove the original (or never start it again) and pass --force`
      : `a node whose keystore this passphrase does not open exists in ${origin}${running}, where this backup was taken: if it is the same identity, a second copy forks its own logs. Make sure it is not, or remove it, and pass --force`,
  )
}

/** Commands on data at rest, by command path. */
export const AT_REST_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = { passphrase, backup, restore }
