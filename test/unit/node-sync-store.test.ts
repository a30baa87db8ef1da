import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { syncStore } from '../../src/node/wiring.js'
import { LogStore, openDatabase, type Database } from '../../src/store/index.js'
import { makeChain, testLogId, testSigner } from '../fixtures/log-fixtures.js'

const self = testSigner(1)
const peer = testSigner(2)
const log = testLogId(3)

let dir: string
let db: Database
let logs: LogStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-sync-store-'))
  db = openDatabase(join(dir, 'burrow.db'))
  logs = new LogStore(db)
})

afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the log store as sync writes to it', () => {
  /** The `synchronous` setting in force while the store ingested. */
  function syncDuringIngest(): number[] {
    const seen: number[] = []
    const ingest = logs.ingest.bind(logs)
    logs.ingest = (ops) => {
      seen.push(db.pragma('synchronous', { simple: true }) as number)
      return ingest(ops)
    }
    return seen
  }

  it("stores a peer's operations without an fsync, and ours (a restored node's log coming back) with one", () => {
    const seen = syncDuringIngest()
    const store = syncStore(logs, db, self.publicKey)
    expect(store.ingest(makeChain(peer, log, 3)).stored).toBe(3)
    expect(store.ingest(makeChain(self, log, 2)).stored).toBe(2)
    // NORMAL (1) for the peer's, FULL (2) for ours, and FULL again after.
    expect(seen).toEqual([1, 2])
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(store.heights(log)).toEqual(logs.heights(log))
  })
})
