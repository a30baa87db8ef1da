import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateMasterSeed, installKeystoreFile, unlockKeystore } from '../../src/keys/index.js'
import { encodeSealedKeystore } from '../../src/keys/keystore-format.js'
import { databaseFileState, openDatabase } from '../../src/store/index.js'
import { prng } from '../fixtures/log-fixtures.js'
import { findSecrets } from '../helpers/at-rest.js'
import { runUntilKilled } from '../helpers/child.js'

const CHILD = fileURLToPath(new URL('../fixtures/store-seal-child.ts', import.meta.url))
const MARKER = 'crash-test-plaintext-5e83a1'
const ROWS = 6000 // about 8 MB: the change of key takes long enough to be killed at many points
const ITERATIONS = 16
/** Kills beyond ITERATIONS, drawn over the whole span, while the points reached are still too few (a loaded machine stretches the work unevenly). */
const MAX_KILLS = 40
const FAST_SCRYPT = { logN: 10, r: 8, p: 1 }

const root = mkdtempSync(join(tmpdir(), 'burrow-seal-crash-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** SHA-256 over the local view, in id order: equal digests, nothing lost or changed. */
function digest(db: ReturnType<typeof openDatabase>): string {
  const h = createHash('sha256')
  for (const row of db.prepare('SELECT id, plaintext FROM group_messages ORDER BY id').iterate() as Iterable<{ id: number; plaintext: Buffer }>) {
    h.update(String(row.id)).update(row.plaintext)
  }
  return h.digest('hex')
}

/** A data directory with a sealed keystore (passphrase `passphrase`) and a database, sealed or plain, holding ROWS messages. */
async function pristine(name: string, passphrase: string, sealDatabase: boolean): Promise<{ dir: string; digest: string }> {
  const dir = join(root, name)
  await installKeystoreFile(dir, await encodeSealedKeystore(generateMasterSeed(), passphrase, FAST_SCRYPT))
  const { databaseKey } = await unlockKeystore(dir, { passphrase })
  const db = openDatabase(join(dir, 'burrow.db'), sealDatabase ? { key: databaseKey! } : {})
  try {
    const insert = db.prepare('INSERT INTO group_messages (group_id, author, seq, epoch, plaintext, received_at) VALUES (?, ?, ?, 1, ?, 0)')
    const body = Buffer.alloc(1200, 'x')
    db.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(Buffer.alloc(32, 1), Buffer.alloc(32, 2), i, Buffer.concat([Buffer.from(`${MARKER} ${i} `), body]))
    })()
    const d = digest(db)
    db.pragma('wal_checkpoint(TRUNCATE)')
    return { dir, digest: d }
  } finally {
    db.close()
  }
}

/** The i-th kill's delay: stratified over 1.25 spans for the first ITERATIONS, then anywhere in them. */
function killDelay(i: number, span: number, rand: () => number): number {
  return Math.floor((i < ITERATIONS ? (i + rand()) / ITERATIONS : rand()) * span * 1.25)
}

/**
 * How long the child's work takes on this machine, from "ready" to "done":
 * kills drawn over that span land before, inside and after the work however
 * fast or loaded the machine is.
 */
async function measuredSpanMs(args: string[], reset: () => void): Promise<number> {
  reset()
  const lines = await runUntilKilled(args, 'done', 120_000)
  const done = lines.find((l) => l.startsWith('done '))
  if (done === undefined) throw new Error(`the child printed no duration: ${lines.join(' | ')}`)
  return Number(done.slice(5))
}

function copyDir(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true })
  mkdirSync(to, { mode: 0o700 })
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f))
}

/** What the kill left behind: the interim files present and the state of burrow.db. */
function leftBehind(dir: string): string {
  const interim = readdirSync(dir).filter((f) => /\.(building|next|old)|node\.key\.next/.test(f)).sort()
  return [databaseFileState(join(dir, 'burrow.db')), ...interim].join(' ')
}

/** Opens the database the way a node does and returns its digest; the open finishes or undoes what the kill interrupted. */
async function recover(dir: string, passphrase: string): Promise<string> {
  const { databaseKey } = await unlockKeystore(dir, { passphrase })
  const db = openDatabase(join(dir, 'burrow.db'), { key: databaseKey! })
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    return digest(db)
  } finally {
    db.close()
  }
}

describe('sealing crash safety', () => {
  let plainFixture: { dir: string; digest: string }
  let sealedFixture: { dir: string; digest: string }
  beforeAll(async () => {
    plainFixture = await pristine('plain', 'old', false)
    sealedFixture = await pristine('sealed', 'old', true)
  }, 60_000)

  it(`SIGKILL during the migration of a plain database loses nothing (${ITERATIONS} kills or more)`, { timeout: 400_000 }, async () => {
    const rand = prng(24)
    const seen = new Set<string>()
    const work = join(root, 'migrate')
    const args = ['--import', 'tsx', CHILD, 'migrate', work, JSON.stringify({ passphrase: 'old' })]
    const span = await measuredSpanMs(args, () => copyDir(plainFixture.dir, work))
    const covered = (): boolean => [...seen].some((s) => s.startsWith('plain')) && [...seen].some((s) => s.startsWith('sealed')) && seen.size >= 3
    for (let i = 0; i < ITERATIONS || (!covered() && i < MAX_KILLS); i++) {
      copyDir(plainFixture.dir, work)
      const out = await runUntilKilled(args, killDelay(i, span, rand), 60_000)
      seen.add(`${leftBehind(work)}${out.some((l) => l.startsWith('done')) ? ' (done)' : ''}`)
      expect(await recover(work, 'old')).toBe(plainFixture.digest)
      expect(databaseFileState(join(work, 'burrow.db'))).toBe('sealed')
      expect(readdirSync(work).sort().join(' ')).toBe('burrow.db node.key')
      expect(findSecrets(work, { plaintext: MARKER })).toEqual([])
    }
    if (process.env.BURROW_TEST_VERBOSE) console.log('migration, kills left:', [...seen])
    // The kills must have landed at different points of the migration, not all before or after it.
    expect([...seen].some((s) => s.startsWith('plain'))).toBe(true)
    expect([...seen].some((s) => s.startsWith('sealed'))).toBe(true)
    expect(seen.size).toBeGreaterThanOrEqual(3)
  })

  it(`SIGKILL during a passphrase change leaves the old or the new passphrase opening everything (${ITERATIONS} kills or more)`, { timeout: 400_000 }, async () => {
    const rand = prng(25)
    const seen = new Set<string>()
    const outcomes = new Set<string>()
    const work = join(root, 'change')
    const args = ['--import', 'tsx', CHILD, 'passphrase', work, JSON.stringify({ from: 'old', to: 'new' })]
    const span = await measuredSpanMs(args, () => copyDir(sealedFixture.dir, work))
    const covered = (): boolean => outcomes.size === 2 && seen.size >= 3
    for (let i = 0; i < ITERATIONS || (!covered() && i < MAX_KILLS); i++) {
      copyDir(sealedFixture.dir, work)
      await runUntilKilled(args, killDelay(i, span, rand), 60_000)
      const left = leftBehind(work)
      // Even cut short, a change between two keys writes no plaintext: the copy's rollback journal is encrypted too.
      expect(findSecrets(work, { plaintext: MARKER })).toEqual([])
      const oldOpens = await unlockKeystore(work, { passphrase: 'old' }).then(() => true, (err: { code?: string }) => (err.code === 'KEYSTORE_WRONG_PASSPHRASE' ? false : Promise.reject(err)))
      const passphrase = oldOpens ? 'old' : 'new'
      outcomes.add(passphrase)
      seen.add(`${left} → ${passphrase}`)
      expect(await recover(work, passphrase)).toBe(sealedFixture.digest)
      expect(readdirSync(work).sort().join(' ')).toBe('burrow.db node.key')
      expect(findSecrets(work, { plaintext: MARKER })).toEqual([])
    }
    if (process.env.BURROW_TEST_VERBOSE) console.log('passphrase change, span', span, 'kills left:', [...seen])
    expect(outcomes).toEqual(new Set(['old', 'new']))
    expect(seen.size).toBeGreaterThanOrEqual(3)
  })
})
