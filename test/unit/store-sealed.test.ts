import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Burrow } from '../../src/node/burrow.js'
import { createContactCard, encodeContactCard, initKeystore, installKeystoreFile, readKeystoreFile, unlockKeystore } from '../../src/keys/index.js'
import { encodeSealedKeystore, readKeystoreSeed } from '../../src/keys/keystore-format.js'
import { changePassphrase, databaseFileState, openDatabase } from '../../src/store/index.js'
import { findSecrets, snapshotDir } from '../helpers/at-rest.js'

const root = mkdtempSync(join(tmpdir(), 'burrow-sealed-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const PASSPHRASE = 'seal me in'
const MARKER = 'the-known-plaintext-2b7f0d'
const GROUP_NAME = 'group-name-known-9c1e'
const FAST_SCRYPT = { logN: 10, r: 8, p: 1 }
let n = 0
const freshDir = (): string => join(root, `node-${n++}`)

/** A node with a group, 40 messages carrying MARKER and a peer on its allow-list; returns what must not leak. */
async function populate(node: Burrow): Promise<{ groupId: string; peerOnion: string }> {
  const peerKeys = await initKeystore(freshDir())
  await node.addPeer(encodeContactCard(createContactCard(peerKeys, 'peer-name-known-41d2'), peerKeys))
  const group = await node.createGroup(GROUP_NAME)
  for (let i = 0; i < 40; i++) await node.send(group.id, `${MARKER} #${i}`)
  return { groupId: group.id, peerOnion: peerKeys.onionAddress }
}

const texts = (node: Burrow, groupId: string): string[] => node.messages(groupId, { limit: 1000 }).map((m) => m.text ?? '')

describe('a sealed database', () => {
  it('leaves no known plaintext or key bytes in any file of the data directory, while open and after stop', { timeout: 60_000 }, async () => {
    const dir = freshDir()
    await Burrow.init(dir, { passphrase: PASSPHRASE })
    const { databaseKey } = await unlockKeystore(dir, { passphrase: PASSPHRASE })
    const node = await Burrow.open({ dataDir: dir, passphrase: PASSPHRASE })
    const { groupId, peerOnion } = await populate(node)
    const needles = {
      plaintext: MARKER,
      'group name': GROUP_NAME,
      'peer name': 'peer-name-known-41d2',
      'peer onion': peerOnion,
      'database key': databaseKey!,
      'identity key': node.keys.identity.seed,
      'onion service key': node.keys.onionServiceSeed,
    }
    // Open, with a live WAL: the scan covers burrow.db, -wal and -shm (and the lock, which holds a pid).
    expect(readdirSync(dir).sort()).toEqual(['burrow.db', 'burrow.db-shm', 'burrow.db-wal', 'burrow.lock', 'node.key'])
    expect(findSecrets(dir, needles)).toEqual([])
    await node.stop()
    expect(findSecrets(dir, needles)).toEqual([])
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('sealed')

    const again = await Burrow.open({ dataDir: dir, passphrase: PASSPHRASE })
    try {
      expect(texts(again, groupId)).toHaveLength(40)
      expect(again.peers()[0]?.onion).toBe(peerOnion)
    } finally {
      await again.stop()
    }
  })

  it('the same scan finds the plaintext of a node without a passphrase (nothing changes there)', { timeout: 60_000 }, async () => {
    const dir = freshDir()
    await Burrow.init(dir)
    const node = await Burrow.open({ dataDir: dir })
    await populate(node)
    await node.stop()
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('plain')
    expect(findSecrets(dir, { plaintext: MARKER, 'group name': GROUP_NAME })).toEqual(['plaintext in burrow.db', 'group name in burrow.db'])
  })

  it('a wrong passphrase or key opens nothing and changes nothing on disk', { timeout: 60_000 }, async () => {
    const dir = freshDir()
    await Burrow.init(dir, { passphrase: PASSPHRASE })
    const node = await Burrow.open({ dataDir: dir, passphrase: PASSPHRASE })
    await populate(node)
    await node.stop()
    const before = snapshotDir(dir)
    await expect(Burrow.open({ dataDir: dir, passphrase: 'not it' })).rejects.toMatchObject({ code: 'KEYSTORE_WRONG_PASSPHRASE' })
    expect(() => openDatabase(join(dir, 'burrow.db'), { key: new Uint8Array(32).fill(7) })).toThrow(expect.objectContaining({ code: 'STORE_WRONG_KEY' }))
    expect(() => openDatabase(join(dir, 'burrow.db'))).toThrow(expect.objectContaining({ code: 'STORE_SEALED' }))
    expect(() => openDatabase(join(dir, 'burrow.db'), { readonly: true })).toThrow(expect.objectContaining({ code: 'STORE_SEALED' }))
    expect(snapshotDir(dir)).toEqual(before)
  })

  it('a plain database is sealed in place on the first open with a sealed keystore, losing nothing', { timeout: 60_000 }, async () => {
    const dir = freshDir()
    // A node made before sealing existed: its keystore sealed, its database plain.
    await Burrow.init(dir)
    const plain = await Burrow.open({ dataDir: dir })
    const { groupId } = await populate(plain)
    await plain.stop()
    const seed = await readKeystoreSeed(await readKeystoreFile(dir))
    rmSync(join(dir, 'node.key'))
    await installKeystoreFile(dir, await encodeSealedKeystore(seed, PASSPHRASE, FAST_SCRYPT))
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('plain')

    const node = await Burrow.open({ dataDir: dir, passphrase: PASSPHRASE })
    try {
      expect(texts(node, groupId)).toEqual(Array.from({ length: 40 }, (_, i) => `${MARKER} #${i}`))
    } finally {
      await node.stop()
    }
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('sealed')
    expect(readdirSync(dir).sort()).toEqual(['burrow.db', 'node.key'])
    expect(findSecrets(dir, { plaintext: MARKER, 'group name': GROUP_NAME })).toEqual([])
  })


  it('keeps secure_delete working under the cipher: a deleted row is gone from the decrypted pages', { timeout: 30_000 }, async () => {
    const key = new Uint8Array(32).fill(3)
    const run = (secureDelete: boolean): boolean => {
      const path = join(freshDir(), 'burrow.db')
      const db = openDatabase(path, { key })
      try {
        db.pragma(`secure_delete = ${secureDelete ? 'ON' : 'OFF'}`)
        expect(db.pragma('secure_delete', { simple: true })).toBe(secureDelete ? 1 : 0)
        db.exec('CREATE TABLE t (x BLOB)')
        const insert = db.prepare('INSERT INTO t VALUES (?)')
        for (let i = 0; i < 50; i++) insert.run(Buffer.from(`${MARKER} ${i}`))
        db.exec('DELETE FROM t')
        db.pragma('wal_checkpoint(TRUNCATE)')
        // serialize() reads every page through the cipher, free pages included.
        return db.serialize().includes(MARKER)
      } finally {
        db.close()
      }
    }
    expect(run(false)).toBe(true)
    expect(run(true)).toBe(false)
  })
})

describe('changing the passphrase', () => {
  it('sets, changes and removes it, re-keying the database each time and losing nothing', { timeout: 90_000 }, async () => {
    const dir = freshDir()
    const dbPath = join(dir, 'burrow.db')
    await Burrow.init(dir)
    const node = await Burrow.open({ dataDir: dir })
    const { groupId } = await populate(node)
    await node.stop()
    const readBack = async (passphrase?: string): Promise<string[]> => {
      const n = await Burrow.open({ dataDir: dir, ...(passphrase !== undefined ? { passphrase } : {}) })
      try {
        return texts(n, groupId)
      } finally {
        await n.stop()
      }
    }
    const expected = await readBack()

    await changePassphrase(dir, dbPath, { newPassphrase: 'first', scrypt: FAST_SCRYPT })
    expect(databaseFileState(dbPath)).toBe('sealed')
    expect(findSecrets(dir, { plaintext: MARKER })).toEqual([])
    await expect(Burrow.open({ dataDir: dir })).rejects.toMatchObject({ code: 'KEYSTORE_PASSPHRASE_REQUIRED' })
    expect(await readBack('first')).toEqual(expected)
    const firstKey = (await unlockKeystore(dir, { passphrase: 'first' })).databaseKey!

    const before = snapshotDir(dir)
    await expect(changePassphrase(dir, dbPath, { passphrase: 'wrong', newPassphrase: 'second' })).rejects.toMatchObject({ code: 'KEYSTORE_WRONG_PASSPHRASE' })
    expect(snapshotDir(dir)).toEqual(before)

    await changePassphrase(dir, dbPath, { passphrase: 'first', newPassphrase: 'second', scrypt: FAST_SCRYPT })
    await expect(Burrow.open({ dataDir: dir, passphrase: 'first' })).rejects.toMatchObject({ code: 'KEYSTORE_WRONG_PASSPHRASE' })
    // The database has a new key: the old one no longer opens it.
    expect(() => openDatabase(dbPath, { key: firstKey })).toThrow(expect.objectContaining({ code: 'STORE_WRONG_KEY' }))
    expect(await readBack('second')).toEqual(expected)

    await changePassphrase(dir, dbPath, { passphrase: 'second' })
    expect(databaseFileState(dbPath)).toBe('plain')
    expect(await readBack()).toEqual(expected)
    expect(readdirSync(dir).sort()).toEqual(['burrow.db', 'node.key'])
    await expect(changePassphrase(dir, dbPath, {})).rejects.toMatchObject({ code: 'STORE_NOT_SEALED' })
  })
})
