import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createKeystore, keystoreExists, unlockKeystore, type NodeKeys } from '../keys/index.js'
import { openDatabase, type Database } from '../store/index.js'
import { assertOnionTargetPath, nodeTorPaths } from '../tor/index.js'
import { DataDirLock } from './data-dir-lock.js'
import { NodeError } from './errors.js'
import { nodePaths } from './paths.js'

/**
 * A node's data directory: created once with its identity and database, then
 * opened with the passphrase that unseals both. Nothing here runs anything.
 */

/** Refuses, before anything is created, a data directory whose sockets tor could not use (`TOR_SOCKET_PATH_UNUSABLE`). */
function assertUsableDataDir(dataDir: string): void {
  const paths = nodePaths(resolve(dataDir))
  nodeTorPaths(paths.torDir)
  assertOnionTargetPath(paths.onionSocket)
}

/** Creates the folder (0700), a new identity (sealed when `passphrase` is given) and an empty database. Refuses an existing node. */
export async function createNodeData(dataDir: string, passphrase: string | undefined): Promise<NodeKeys> {
  if (await keystoreExists(dataDir)) throw new NodeError('NODE_EXISTS', `a node already exists in ${dataDir}`)
  assertUsableDataDir(dataDir)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  chmodSync(dataDir, 0o700)
  const { keys, databaseKey } = await createKeystore(dataDir, passphrase !== undefined ? { passphrase } : {})
  openDatabase(nodePaths(dataDir).database, databaseKey !== undefined ? { key: databaseKey } : {}).close()
  databaseKey?.fill(0)
  return keys
}

/**
 * Takes the data directory's lock (data-dir-lock.ts), unlocks the keystore
 * and opens (migrating, sealing if asked) the database of an existing node.
 * The caller releases the lock after closing the database.
 */
export async function openNodeData(dataDir: string, passphrase: string | undefined): Promise<{ keys: NodeKeys; db: Database; lock: DataDirLock }> {
  if (!existsSync(dataDir) || !(await keystoreExists(dataDir))) {
    throw new NodeError('NODE_NOT_FOUND', `no node in ${dataDir}; create one with \`burrow init\``)
  }
  const lock = DataDirLock.acquire(dataDir)
  try {
    const { keys, databaseKey } = await unlockKeystore(dataDir, passphrase !== undefined ? { passphrase } : {})
    const db = openDatabase(nodePaths(dataDir).database, databaseKey !== undefined ? { key: databaseKey } : {})
    databaseKey?.fill(0)
    return { keys, db, lock }
  } catch (err) {
    lock.release()
    throw err
  }
}
