// Payload deletion requested by a log's author (the `delete` extension), dropping
// a whole log, and reading a log of large payloads in bounded slices.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createOperation, decodeOperation, type ExtensionValue, type Operation, type Signer } from '../../src/log/index.js'
import { databaseFileState, deletionTargets, LogStore, MIGRATIONS, openDatabase, schemaVersion, type Database } from '../../src/store/index.js'
import { makeChain, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const alice = testSigner(1)
const bob = testSigner(2)
const log = testLogId(10)

let dir: string
let db: Database
let store: LogStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-store-del-'))
  db = openDatabase(join(dir, 'burrow.db'))
  store = new LogStore(db)
})

afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The next operation of `chain`, without payload, with extensions. */
function next(signer: Signer, chain: Operation[], extensions: Record<string, ExtensionValue>): Operation {
  const tip = chain.at(-1)!
  const op = createOperation({ signer, logId: tip.header.logId, seq: tip.header.seq + 1, backlink: tip.hash, extensions })
  chain.push(op)
  return op
}

const payloadAt = (s: LogStore, signer: Signer, seq: number): Uint8Array | undefined => s.operationsAfter(signer.publicKey, log, seq - 1, 1)[0]?.payload

describe('payload deletion by the author', () => {
  it('reads only well-formed delete extensions: ascending unsigned integers below the seq, at most 256', () => {
    const at = (seq: number, value: ExtensionValue) => deletionTargets({ seq, extensions: new Map([['delete', value]]) })
    expect(at(5, [1, 3])).toEqual([1, 3])
    expect(at(5, [])).toEqual([])
    expect(at(5, [3, 1])).toEqual([])
    expect(at(5, [1, 1])).toEqual([])
    expect(at(5, [5])).toEqual([])
    expect(at(5, [-1])).toEqual([])
    expect(at(5, ['1'])).toEqual([])
    expect(at(5, 1)).toEqual([])
    expect(at(1000, Array.from({ length: 256 }, (_, i) => i))).toHaveLength(256)
    expect(at(1000, Array.from({ length: 257 }, (_, i) => i))).toEqual([])
  })

  it('deletes the named payloads of its own log as the deleting operation is stored, keeps the headers verifiable, and never stores them again', () => {
    const chain = makeChain(alice, log, 4)
    store.ingest(chain)
    const deletion = next(alice, chain, { delete: [1, 2] })
    expect(store.ingest([deletion]).stored).toBe(1)
    expect(payloadAt(store, alice, 1)).toBeUndefined()
    expect(payloadAt(store, alice, 2)).toBeUndefined()
    expect(payloadAt(store, alice, 3)).toEqual(chain[3]!.payload)
    expect(store.isDeleted(alice.publicKey, log, 1)).toBe(true)
    expect(store.isDeleted(alice.publicKey, log, 3)).toBe(false)
    expect(store.counts()).toMatchObject({ operations: 5, payloads: 2 })

    // A second store gets the log from this one: the deleted payloads travel as null, and the chain still validates.
    const other = new LogStore(openDatabase(join(dir, 'other.db')))
    const wire = store.wireOperationsAfter(alice.publicKey, log, -1, 100)
    expect(wire.map((r) => r.payload === null)).toEqual([false, true, true, false, true])
    const result = other.ingest(wire.map((r) => decodeOperation(r.header, r.payload ?? undefined)))
    expect(result).toMatchObject({ stored: 5, rejected: [] })
    expect(other.isDeleted(alice.publicKey, log, 2)).toBe(true)
  })

  it('a store that had the payloads when the deletion arrives in the same batch drops them', () => {
    const chain = makeChain(alice, log, 3)
    next(alice, chain, { delete: [0] })
    store.ingest(chain)
    expect(payloadAt(store, alice, 0)).toBeUndefined()
    expect(payloadAt(store, alice, 1)).toEqual(chain[1]!.payload)
  })

  it('an author names only its own log: a deletion in another log or by another author deletes nothing there', () => {
    const aliceOps = makeChain(alice, log, 3)
    const bobOps = makeChain(bob, log, 3)
    store.ingest([...aliceOps, ...bobOps])
    store.ingest([next(bob, bobOps, { delete: [0, 1] })])
    expect(payloadAt(store, alice, 0)).toEqual(aliceOps[0]!.payload)
    expect(payloadAt(store, alice, 1)).toEqual(aliceOps[1]!.payload)
    expect(payloadAt(store, bob, 0)).toBeUndefined()
    const elsewhere = makeChain(alice, testLogId(11), 1)
    store.ingest(elsewhere)
    store.append(next(alice, elsewhere, { delete: [0] }))
    expect(payloadAt(store, alice, 0)).toEqual(aliceOps[0]!.payload)
  })

  it('a malformed delete extension is stored as a valid operation and deletes nothing', () => {
    const chain = makeChain(alice, log, 2)
    store.ingest(chain)
    expect(store.ingest([next(alice, chain, { delete: [5] })]).stored).toBe(1)
    expect(store.counts().payloads).toBe(2)
  })
})

describe('dropping a whole log', () => {
  it('deletes every operation of one (author, log), headers included, and leaves the others', () => {
    const chain = makeChain(alice, log, 5)
    next(alice, chain, { delete: [1] })
    store.ingest([...chain, ...makeChain(bob, log, 2), ...makeChain(alice, testLogId(11), 2)])
    expect(store.dropLog(alice.publicKey, log)).toBe(6)
    expect(store.heights(log).size).toBe(1)
    expect(store.isDeleted(alice.publicKey, log, 1)).toBe(false)
    expect(store.counts().operations).toBe(4)
  })
})

describe('reading a log of large payloads', () => {
  it('stops after the row that reaches maxBytes, and returns at least one', () => {
    store.ingest(makeChain(alice, log, 10, 100_000))
    expect(store.wireOperationsAfter(alice.publicKey, log, -1, 100, 250_000).map((r) => r.seq)).toEqual([0, 1, 2])
    expect(store.wireOperationsAfter(alice.publicKey, log, 4, 100, 1).map((r) => r.seq)).toEqual([5])
    expect(store.wireOperationsAfter(alice.publicKey, log, 4, 2, 10_000_000).map((r) => r.seq)).toEqual([5, 6])
  })
})

describe('migration 6 (files, deletion, retention) and 7 (ratchet rows)', () => {
  // A node's database at version 5 (group-life) gains the tables and columns of versions 6 and 7 when it opens, sealed or not.
  for (const sealed of [false, true]) {
    it(`applies to a ${sealed ? 'sealed' : 'plain'} database at version 5 and keeps its rows`, () => {
      const path = join(dir, `v5-${sealed ? 'sealed' : 'plain'}.db`)
      const key = sealed ? new Uint8Array(32).fill(7) : undefined
      const old = openDatabase(path, { migrations: MIGRATIONS.slice(0, 5), ...(key !== undefined ? { key } : {}) })
      expect(schemaVersion(old)).toBe(5)
      old
        .prepare('INSERT INTO groups (group_id, name, owner, state, epoch, joined_epoch, active, created_at) VALUES (?, ?, ?, ?, 0, 0, 1, 0)')
        .run(Buffer.alloc(32, 1), 'friends', Buffer.alloc(32, 2), Buffer.alloc(8))
      old.close()
      if (sealed) expect(databaseFileState(path)).toBe('sealed')

      const now = openDatabase(path, key !== undefined ? { key } : {})
      try {
        expect(schemaVersion(now)).toBe(MIGRATIONS.length)
        expect(now.prepare('SELECT name, retention_ms, label_set FROM groups').all()).toEqual([{ name: 'friends', retention_ms: null, label_set: 0 }])
        const tables = (now.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name)
        expect(tables).toEqual(expect.arrayContaining(['log_deleted', 'group_files', 'group_file_uploads', 'group_departed', 'group_pending_invites', 'group_ratchets']))
        const columns = (table: string) => (now.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name)
        expect(columns('group_messages')).toEqual(expect.arrayContaining(['sent_at', 'file_log']))
        expect(columns('group_cursors')).toContain('swept')
      } finally {
        now.close()
      }
    })
  }
})
