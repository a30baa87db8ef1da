import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
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

  it('a sealed header that does not end in its first KiBs is refused without reading the file whole', async () => {
    const file = fresh('no-newline')
    writeFileSync(file, Buffer.concat([Buffer.from('age-encryption.org/v1\n'), Buffer.alloc(8 << 20, 0x41)]))
    // Bytes this process read (Linux counts every read(2)): age alone would read all 8 MiB looking for a newline.
    const bytesRead = (): number => Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
    const before = bytesRead()
    const db = fresh('restored.db')
    await expect(readBackup(file, db, FAST)).rejects.toMatchObject({ code: 'STORE_BACKUP_INVALID' })
    expect(bytesRead() - before).toBeLessThan(1 << 20)
    expect(existsSync(db)).toBe(false)
    // Refused before a caller would ask for the passphrase.
    await expect(backupIsSealed(file)).rejects.toMatchObject({ code: 'STORE_BACKUP_INVALID' })
  })

  it('a sealed header asking scrypt for more work than Burrow writes (2^20: 1 GiB) is refused before any scrypt', async () => {
    const file = fresh('backup')
    await writeBackup(file, parts, FAST)
    const bytes = readFileSync(file).toString('latin1')
    expect(bytes).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S+ 10\n/)
    for (const logN of ['20', '18', '017', '']) {
      const forged = fresh('forged')
      writeFileSync(forged, Buffer.from(bytes.replace(/^(age-encryption\.org\/v1\n-> scrypt \S+) 10\n/, `$1 ${logN}\n`), 'latin1'))
      await expect(readBackup(forged, fresh('restored.db'), FAST), logN).rejects.toMatchObject({ code: 'STORE_BACKUP_INVALID', message: expect.stringContaining('scrypt work factor') })
    }
  })

  describe('a file that appears at the target while the backup is written', () => {
    /**
     * Writes an unsealed backup whose database is a FIFO, so the write waits
     * in the middle (its temporary file exists) until `meanwhile` has run.
     */
    async function writeWhile(out: string, meanwhile: () => void): Promise<unknown> {
      const fifo = fresh('fifo.db')
      execFileSync('mkfifo', ['-m', '600', fifo])
      const writing = writeBackup(out, { ...parts, databasePath: fifo }).then(() => undefined, (err: unknown) => err)
      const folder = join(out, '..')
      for (let i = 0; i < 500 && !readdirSync(folder).some((n) => n.startsWith('.')); i++) await new Promise((r) => setTimeout(r, 10))
      meanwhile()
      // Opening the FIFO's writing end and closing it ends the "database": the write goes on.
      await (await open(fifo, 'w')).close()
      return writing
    }

    it('a file is not replaced, and no temporary file is left', async () => {
      const folder = fresh('out')
      mkdirSync(folder)
      const out = join(folder, 'my.bk')
      const err = await writeWhile(out, () => writeFileSync(out, 'not yours'))
      expect(err).toMatchObject({ code: 'STORE_BACKUP_EXISTS' })
      expect(readFileSync(out, 'utf8')).toBe('not yours')
      expect(readdirSync(folder)).toEqual(['my.bk'])
    })

    it('a folder gives the typed error (not a second close\'s EBADF), and no temporary file is left', async () => {
      const folder = fresh('out')
      mkdirSync(folder)
      const out = join(folder, 'my.bk')
      const err = await writeWhile(out, () => mkdirSync(out))
      expect(err).toMatchObject({ code: 'STORE_BACKUP_EXISTS' })
      expect(statSync(out).isDirectory()).toBe(true)
      expect(readdirSync(folder)).toEqual(['my.bk'])
    })
  })

  it('a target name the file system refuses reports that error and leaves no temporary file; a 250-byte name works', async () => {
    const folder = fresh('out')
    mkdirSync(folder)
    await expect(writeBackup(join(folder, 'b'.repeat(256)), parts)).rejects.toMatchObject({ code: 'ENAMETOOLONG' })
    expect(readdirSync(folder)).toEqual([])
    await writeBackup(join(folder, 'b'.repeat(250)), parts)
    expect(readdirSync(folder)).toEqual(['b'.repeat(250)])
  })
})
