import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createOperation,
  decodeOperation,
  toHex,
  validateOperation,
  verifyForkProof,
  type Operation,
} from '../../src/log/index.js'
import { applyMigrations, LogStore, MIGRATIONS, openDatabase, schemaVersion, withoutFsync, type Database, type Migration } from '../../src/store/index.js'
import { makeChain, signRaw, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const alice = testSigner(1)
const bob = testSigner(2)
const logA = testLogId(10)
const logB = testLogId(11)

let dir: string
let db: Database
let store: LogStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-store-'))
  db = openDatabase(join(dir, 'data', 'burrow.db'))
  store = new LogStore(db)
})

afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('database', () => {
  it('creates the folder 0700 and db, -wal, -shm 0600, in WAL mode with synchronous=FULL', () => {
    store.append(makeChain(alice, logA, 1)[0]!)
    const mode = (p: string): number => statSync(p).mode & 0o777
    expect(mode(join(dir, 'data'))).toBe(0o700)
    for (const suffix of ['', '-wal', '-shm']) expect(mode(join(dir, 'data', `burrow.db${suffix}`))).toBe(0o600)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
  })

  it('withoutFsync runs at synchronous=NORMAL and goes back to FULL, also when it throws', () => {
    expect(withoutFsync(db, () => db.pragma('synchronous', { simple: true }))).toBe(1)
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(() => withoutFsync(db, () => db.transaction(() => { store.append(makeChain(alice, logA, 1)[0]!); throw new Error('rolled back') })())).toThrow('rolled back')
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(store.counts().operations).toBe(0)
  })

  it('migrations are idempotent and appendable', () => {
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    expect(applyMigrations(db)).toBe(MIGRATIONS.length)
    db.close()
    db = openDatabase(join(dir, 'data', 'burrow.db'))
    store = new LogStore(db)
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    const next: Migration = { version: MIGRATIONS.length + 1, name: 'test table', up: (d) => d.exec('CREATE TABLE t (x)') }
    expect(applyMigrations(db, [...MIGRATIONS, next])).toBe(MIGRATIONS.length + 1)
    expect(applyMigrations(db, [...MIGRATIONS, next])).toBe(MIGRATIONS.length + 1)
    expect(() => applyMigrations(db)).toThrow(expect.objectContaining({ code: 'STORE_SCHEMA_TOO_NEW' }))
  })

  it('a failing migration leaves the previous version and no partial schema', () => {
    const bad: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'fails halfway',
      up: (d) => {
        d.exec('CREATE TABLE half (x)')
        throw new Error('boom')
      },
    }
    expect(() => applyMigrations(db, [...MIGRATIONS, bad])).toThrow('boom')
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined()
  })

  it('opens read-only', () => {
    const ro = openDatabase(join(dir, 'data', 'burrow.db'), { readonly: true })
    expect(new LogStore(ro).counts().operations).toBe(0)
    ro.close()
  })
})

describe('LogStore', () => {
  it('answers heights like a plain GROUP BY, for many authors across neighbouring logs', () => {
    // Authors whose keys sort on both sides of each other, in three logs whose ids sort around logA.
    const authors = Array.from({ length: 12 }, (_, i) => testSigner(40 + i))
    const logs = [testLogId(9), logA, testLogId(12)]
    authors.forEach((author, i) => {
      for (const [j, logId] of logs.entries()) if ((i + j) % 3 !== 0) store.ingest(makeChain(author, logId, 1 + ((i * 7 + j) % 5)))
    })
    const groupBy = db.prepare('SELECT author, MAX(seq) AS seq FROM log_operations WHERE log_id = ? GROUP BY author')
    for (const logId of [...logs, logB]) {
      const expected = new Map((groupBy.all(logId) as { author: Buffer; seq: number }[]).map((r) => [toHex(r.author), r.seq]))
      expect(store.heights(logId)).toEqual(expected)
    }
    expect(store.heights(logA).size).toBe(8)
    expect(store.heights(logB).size).toBe(0)
  })

  it('keeps the heights it remembers right: after ingests, rejections, a rolled-back caller transaction, dropLog, and answers a fresh map each call', () => {
    const groupBy = db.prepare('SELECT author, MAX(seq) AS seq FROM log_operations WHERE log_id = ? GROUP BY author')
    const stored = (): Map<string, number> => new Map((groupBy.all(logA) as { author: Buffer; seq: number }[]).map((r) => [toHex(r.author), r.seq]))
    const chainA = makeChain(alice, logA, 10)
    const chainB = makeChain(bob, logA, 10)
    store.ingest(chainA.slice(0, 3))
    expect(store.heights(logA)).toEqual(stored()) // read once: remembered from here on
    store.heights(logA).set('changed by the caller', 99)
    // A forged operation and what follows it are rejected: no height for them.
    const forgedBytes = chainA[3]!.headerBytes.slice()
    forgedBytes[forgedBytes.length - 1]! ^= 0xff
    const forged = decodeOperation(forgedBytes, chainA[3]!.payload)
    store.ingest([forged, ...chainA.slice(4, 6), ...chainB.slice(0, 2)])
    expect(store.heights(logA)).toEqual(stored())
    // Inside a caller's transaction that rolls back, nothing of it stays.
    expect(() => db.transaction(() => {
      store.ingest(chainA.slice(3, 8))
      store.append(chainB[2]!)
      throw new Error('the caller gives up')
    })()).toThrow('the caller gives up')
    expect(store.heights(logA)).toEqual(stored())
    // And when the caller's transaction commits, all of it counts.
    db.transaction(() => void store.ingest(chainA.slice(3, 8)))()
    store.append(chainB[2]!)
    expect(store.heights(logA)).toEqual(stored())
    expect(store.heights(logA).get(toHex(alice.publicKey))).toBe(7)
    store.dropLog(bob.publicKey, logA)
    expect(store.heights(logA)).toEqual(stored())
    expect(store.heights(logA).has(toHex(bob.publicKey))).toBe(false)
  })

  it('appends, answers heights, operationsAfter, getByHash and counts', () => {
    const a = makeChain(alice, logA, 5)
    const b = makeChain(bob, logA, 2)
    for (const op of [...a, ...b]) store.append(op)
    store.append(a[4]!) // same operation again: no-op
    expect(store.heights(logA)).toEqual(new Map([[toHex(alice.publicKey), 4], [toHex(bob.publicKey), 1]]))
    expect(store.heights(logB).size).toBe(0)
    const after = store.operationsAfter(alice.publicKey, logA, 1, 2)
    expect(after.map((o) => o.header.seq)).toEqual([2, 3])
    expect(after[0]!.headerBytes).toEqual(a[2]!.headerBytes)
    expect(after[0]!.payload).toEqual(a[2]!.payload)
    expect(store.operationsAfter(alice.publicKey, logA, -1, 100)).toHaveLength(5)
    const got = store.getByHash(a[3]!.hash)!
    expect(got.hash).toEqual(a[3]!.hash)
    validateOperation(got, a[2])
    expect(store.getByHash(new Uint8Array(32))).toBeUndefined()
    expect(store.logIds()).toEqual([logA])
    expect(store.counts()).toEqual({ operations: 7, payloads: 7, logs: 2, forks: 0 })
    // The status count holds the page cache small while it walks the index, and gives it back its size.
    const cacheSize = db.pragma('cache_size', { simple: true })
    expect(store.operationCount()).toBe(7)
    expect(db.pragma('cache_size', { simple: true })).toBe(cacheSize)
  })

  it('append refuses invalid operations and a second operation at an occupied seq', () => {
    const a = makeChain(alice, logA, 2)
    expect(() => store.append(a[1]!)).toThrow(expect.objectContaining({ code: 'LOG_WRONG_SEQ' }))
    store.append(a[0]!)
    const other = createOperation({ signer: alice, logId: logA, seq: 0, backlink: null })
    expect(() => store.append(other)).toThrow(expect.objectContaining({ code: 'STORE_SEQ_OCCUPIED' }))
    expect(store.counts().forks).toBe(0)
  })

  it('ingests a batch of consecutive operations validated against each other', () => {
    const a = makeChain(alice, logA, 10)
    const r1 = store.ingest(a.slice(0, 6).map((op) => decodeOperation(op.headerBytes, op.payload)))
    expect(r1).toEqual({ stored: 6, duplicates: 0, rejected: [], forks: [] })
    const r2 = store.ingest(a.slice(4))
    expect(r2).toMatchObject({ stored: 4, duplicates: 2, rejected: [], forks: [] })
  })

  it('stores the valid operations of a batch and reports the invalid ones (and what depends on them)', () => {
    const a = makeChain(alice, logA, 4)
    const b = makeChain(bob, logB, 2)
    const badPayload: Operation = { ...a[1]!, payload: new Uint8Array(16).fill(0xee) }
    const forged = signRaw(bob, { ...a[0]!.header, logId: logB, author: alice.publicKey })
    const result = store.ingest([a[0]!, badPayload, a[2]!, b[0]!, forged, b[1]!])
    expect(result.stored).toBe(3) // a0, b0, b1
    expect(result.rejected.map((r) => r.error.code)).toEqual(['LOG_PAYLOAD_HASH_MISMATCH', 'LOG_WRONG_SEQ', 'LOG_INVALID_SIGNATURE'])
    expect(store.heights(logA)).toEqual(new Map([[toHex(alice.publicKey), 0]]))
    expect(store.heights(logB)).toEqual(new Map([[toHex(bob.publicKey), 1]]))
  })

  it('a batch is one transaction: an unexpected failure stores none of it', () => {
    const a = makeChain(alice, logA, 3)
    db.exec(`CREATE TRIGGER fail_at_2 BEFORE INSERT ON log_operations WHEN NEW.seq = 2 BEGIN SELECT RAISE(ABORT, 'injected'); END`)
    expect(() => store.ingest(a)).toThrow('injected')
    expect(store.counts().operations).toBe(0)
  })

  it('lets callers write their rows in the same transaction as an operation', () => {
    db.exec('CREATE TABLE side (x)')
    const [op] = makeChain(alice, logA, 1)
    expect(() =>
      db.transaction(() => {
        store.append(op!)
        db.prepare('INSERT INTO side VALUES (1)').run()
        throw new Error('rollback both')
      })(),
    ).toThrow('rollback both')
    expect(store.counts().operations).toBe(0)
    db.transaction(() => {
      store.append(op!)
      db.prepare('INSERT INTO side VALUES (1)').run()
    })()
    expect(store.counts().operations).toBe(1)
  })

  it('detects a fork, stores a verifiable proof and closes the log', () => {
    const a = makeChain(alice, logA, 3)
    store.ingest(a.slice(0, 2))
    const conflicting = createOperation({ signer: alice, logId: logA, seq: 1, backlink: a[0]!.hash, payload: new Uint8Array([1]) })
    const result = store.ingest([conflicting, a[2]!])
    expect(result.forks).toHaveLength(1)
    expect(result.rejected.map((r) => r.error.code)).toEqual(['STORE_LOG_FORKED'])
    const facts = verifyForkProof(result.forks[0]!)
    expect(facts.seq).toBe(1)
    expect(store.isForked(alice.publicKey, logA)).toBe(true)
    expect(store.getForkProofs({ author: alice.publicKey })).toEqual(result.forks)
    expect(store.getForkProofs({ logId: logB })).toEqual([])
    expect(store.counts().forks).toBe(1)
    // An invalid conflicting header proves nothing and is just rejected.
    const junk = signRaw(bob, { ...a[0]!.header, payloadHash: null, payloadSize: 0 })
    expect(store.ingest([junk]).rejected[0]!.error.code).toBe('LOG_INVALID_SIGNATURE')
    // A second conflicting operation of the closed log is refused, not reported as another fork.
    const again = createOperation({ signer: alice, logId: logA, seq: 0, backlink: null, payload: new Uint8Array([9]) })
    expect(store.ingest([again])).toMatchObject({ forks: [], rejected: [{ error: { code: 'STORE_LOG_FORKED' } }] })
  })

  it('deleting a payload keeps the header verifiable', () => {
    const a = makeChain(alice, logA, 2)
    store.ingest(a)
    expect(store.deletePayload(a[1]!.hash)).toBe(true)
    expect(store.deletePayload(a[1]!.hash)).toBe(false)
    const got = store.getByHash(a[1]!.hash)!
    expect(got.payload).toBeUndefined()
    validateOperation(got, a[0])
    expect(store.counts()).toMatchObject({ operations: 2, payloads: 1 })
    // A re-sent copy is a duplicate, not a conflict.
    expect(store.ingest([a[1]!]).duplicates).toBe(1)
  })

  it('fills a gap below an accepted prune point only with the operation it links to', () => {
    const ops = makeChain(alice, logA, 3)
    const prunePoint = createOperation({ signer: alice, logId: logA, seq: 3, backlink: ops[2]!.hash, extensions: { prune: true } })
    store.ingest([ops[0]!, ops[1]!, prunePoint])
    const impostor = createOperation({ signer: alice, logId: logA, seq: 2, backlink: ops[1]!.hash, payload: new Uint8Array([7]) })
    expect(store.ingest([impostor]).rejected[0]!.error.code).toBe('LOG_WRONG_BACKLINK')
    expect(store.ingest([ops[2]!])).toMatchObject({ stored: 1, rejected: [] })
  })

  it('prunes below a prune point; a peer can then start the log there', () => {
    const ops = makeChain(alice, logA, 3)
    const prunePoint = createOperation({ signer: alice, logId: logA, seq: 3, backlink: ops[2]!.hash, extensions: { prune: true } })
    const after = createOperation({ signer: alice, logId: logA, seq: 4, backlink: prunePoint.hash })
    store.ingest([...ops, prunePoint, after])
    expect(() => store.prune(alice.publicKey, logA, 2)).toThrow(expect.objectContaining({ code: 'STORE_PRUNE_NOT_ALLOWED' }))
    expect(store.prune(alice.publicKey, logA, 3)).toBe(3)
    const remaining = store.operationsAfter(alice.publicKey, logA, -1, 10)
    expect(remaining.map((o) => o.header.seq)).toEqual([3, 4])
    // Older operations arriving later are below the retained start: nothing to do.
    expect(store.ingest([ops[1]!])).toMatchObject({ stored: 0, duplicates: 1 })

    // A fresh node receives only what is retained, and accepts it.
    const db2 = openDatabase(join(dir, 'peer.db'))
    const peer = new LogStore(db2)
    const r = peer.ingest(remaining.map((o) => decodeOperation(o.headerBytes, o.payload)))
    expect(r).toMatchObject({ stored: 2, rejected: [] })
    // Without the prune flag the same start would be refused.
    expect(peer.ingest([makeChain(bob, logA, 3)[2]!]).rejected[0]!.error.code).toBe('LOG_WRONG_SEQ')
    db2.close()
  })
})
