import { discardStagedKeystore, prepareKeystoreChange, type ScryptParams } from '../keys/index.js'
import { openConnection, openDatabase } from './database.js'
import { StoreError } from './errors.js'
import { buildResealed, commitResealedDatabase } from './sealing.js'

/** Options of {@link changePassphrase}. */
export interface PassphraseChange {
  /** The keystore's passphrase now (ignored when it is plain). */
  readonly passphrase?: string
  /** The new passphrase; undefined removes it (keystore and database unsealed). */
  readonly newPassphrase?: string
  /** scrypt cost of the new keystore (default: the keystore's default). */
  readonly scrypt?: ScryptParams
}

/**
 * Sets, changes or removes the passphrase of the node in `dataDir`: the
 * keystore is sealed anew (fresh salt, so the database gets a fresh key) and
 * the database at `databasePath` is re-keyed to match. No node may be running
 * on them. Crash-safe: the re-keyed database is built beside the old one
 * first (sealing.ts), the keystore's rename is the commit point, and the next
 * open finishes or undoes whatever a crash interrupted, so either the old
 * passphrase opens everything or the new one does. Throws
 * `KEYSTORE_WRONG_PASSPHRASE` (nothing written), `KEYSTORE_PASSPHRASE_INVALID`,
 * and `STORE_NOT_SEALED` when asked to remove a passphrase there is none of.
 */
export async function changePassphrase(dataDir: string, databasePath: string, change: PassphraseChange): Promise<void> {
  const prepared = await prepareKeystoreChange(dataDir, change)
  try {
    if (prepared.currentDatabaseKey === undefined && prepared.nextDatabaseKey === undefined) {
      throw new StoreError('STORE_NOT_SEALED', 'the keystore has no passphrase to remove')
    }
    await discardStagedKeystore(dataDir)
    // Brings the database to the current key first: finishes an earlier interrupted change, migrates, checks the key.
    openDatabase(databasePath, prepared.currentDatabaseKey !== undefined ? { key: prepared.currentDatabaseKey } : {}).close()
    buildResealed(databasePath, prepared.currentDatabaseKey, prepared.nextDatabaseKey, openConnection)
    await prepared.stage()
    await prepared.commit()
    commitResealedDatabase(databasePath)
  } finally {
    prepared.dispose()
  }
}
