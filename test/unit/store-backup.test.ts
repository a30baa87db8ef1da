import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backupIsSealed, openDatabase, readBackup, snapshotDatabase, writeBackup, type BackupParts } from '../../src/store/index.js'

const root = mkdtempSync(join(tmpdir(), 'burrow-backup-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = (name: string): string => join(root, `${n++}-${name}`)
// Cheap scrypt: these tests are about the format, not the work factor.
const FAST = { passphrase: 'backup words', scryptLogN: 10 }
const MARKER = 'inside-the-backup-0f2a'
const KEY = new Uint8Array(32).fill(9)

let parts: BackupParts
beforeAll(() => {
  const dbPath = fresh('source.db')
  const db = openDatabase(dbPath, { key: KEY })
  db.exec('CREATE TABLE notes (text TEXT)')
  const insert = db.prepare('INSERT INTO notes VALUES (?)')
  // About 300 KiB: the database spans several of age's 64 KiB chunks.
  for (let i = 0; i < 2000; i++) insert.run(`${MARKER} ${i} ${'x'.repeat(100)}`)
  const snapshot = fresh('snapshot.db')
  snapshotDatabase(db, snapshot)
  db.close()
  parts = { origin: '/somewhere/burrow', keystore: new Uint8Array(133).fill(1), config: Buffer.from('{"displayName":"me"}\n'), databasePath: snapshot }
})

const notes = (path: string): number => {
  const db = openDatabase(path, { key: KEY })
  try {
    return (db.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('backup files', () => {
  it('round-trip sealed and unsealed: origin, keystore, config and a database snapshot that opens under its key', async () => {
    for (const sealing of [FAST, {}]) {
      const file = fresh('backup')
      await writeBackup(file, parts, sealing)
      expect(await backupIsSealed(file)).toBe(sealing !== FAST ? false : true)
      const db = fresh('restored.db')
      const read = await readBackup(file, db, sealing)
      expect(read).toEqual({ origin: parts.origin, keystore: Buffer.from(parts.keystore), config: Buffer.from(parts.config!), sealed: sealing === FAST })
      expect(notes(db)).toBe(2000)
      // The snapshot stays sealed under the database's key, inside the backup too.
      expect(readFileSync(file).includes(MARKER)).toBe(false)
    }
  })

  it('never replaces a file; a wrong or missing passphrase opens nothing', async () => {
    const file = fresh('backup')
    await writeBackup(file, parts, FAST)
    await expect(writeBackup(file, parts, FAST)).rejects.toMatchObject({ code: 'STORE_BACKUP_EXISTS' })
    const db = fresh('restored.db')
    await expect(readBackup(file, db, { passphrase: 'other words' })).rejects.toMatchObject({ code: 'STORE_BACKUP_WRONG_PASSPHRASE' })
    await expect(readBackup(file, db)).rejects.toMatchObject({ code: 'STORE_BACKUP_PASSPHRASE_REQUIRED' })
    expect(existsSync(db)).toBe(false)
  })

  it.each([
    ['sealed', FAST],
    ['unsealed', {}],
  ] as const)('a %s backup with a flipped byte anywhere, cut short, or with bytes appended is refused, leaving no database', async (_kind, sealing) => {
    const file = fresh('backup')
    await writeBackup(file, parts, sealing)
    const bytes = readFileSync(file)
    const variants: Record<string, Buffer> = { 'cut short': bytes.subarray(0, bytes.length - 1), 'bytes appended': Buffer.concat([bytes, Buffer.of(0)]), 'not a backup': Buffer.from('hello') }
    for (const at of [200, Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 1]) {
      const flipped = Buffer.from(bytes)
      flipped[at] = (flipped[at] ?? 0) ^ 0x10
      variants[`flipped at ${at}`] = flipped
    }
    for (const [name, content] of Object.entries(variants)) {
      const damaged = fresh('damaged')
      writeFileSync(damaged, content)
      const db = fresh('restored.db')
      await expect(readBackup(damaged, db, sealing), name).rejects.toMatchObject({ code: 'STORE_BACKUP_INVALID' })
      expect(existsSync(db), name).toBe(false)
    }
  })
})
