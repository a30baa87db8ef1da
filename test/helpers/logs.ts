import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createOperation, seedSigner, type LogId, type Operation, type Signer } from '../../src/log/index.js'
import { LogStore, openDatabase } from '../../src/store/index.js'

/** A LogStore on a fresh file-backed database in a temp dir. */
export function tempStore(): { store: LogStore; path: string; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'))
  const path = join(dir, 'burrow.db')
  const db = openDatabase(path)
  return { store: new LogStore(db), path, close: () => db.close() }
}

/** An author that appends signed operations to its own logs. */
export class TestAuthor {
  readonly signer: Signer
  readonly #tips = new Map<string, Operation>()

  constructor(seed: Uint8Array = randomBytes(32)) {
    this.signer = seedSigner(seed)
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey
  }

  /** The next operation of this author's log `logId`. */
  next(logId: LogId, payload: Uint8Array = randomBytes(100)): Operation {
    const tipKey = Buffer.from(logId).toString('hex')
    const tip = this.#tips.get(tipKey)
    const op = createOperation({
      signer: this.signer,
      logId,
      seq: tip === undefined ? 0 : tip.header.seq + 1,
      backlink: tip === undefined ? null : tip.hash,
      payload,
    })
    this.#tips.set(tipKey, op)
    return op
  }

  /** `count` consecutive operations. */
  many(logId: LogId, count: number, payloadBytes = 100): Operation[] {
    return Array.from({ length: count }, () => this.next(logId, randomBytes(payloadBytes)))
  }
}
