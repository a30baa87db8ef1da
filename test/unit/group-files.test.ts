// Files in groups: the announcement travels MLS-encrypted in the group log,
// the chunks in the sender's file log, sealed with the file's key. Real
// GroupManagers, SQLite files and ts-mls; "sync" copies operations.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fileLogId, type FileInfo, type FileUpload } from '../../src/group/index.js'
import { sealChunk } from '../../src/group/file-crypto.js'
import { createOperation, seedSigner, toHex, type Operation } from '../../src/log/index.js'
import { deliver, ingestInto, invite, syncAll, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()
const CHUNK = 1024

/** Sends `content` as a file in chunks of 1 KiB. */
async function sendFile(m: Member, groupId: Uint8Array, content: Uint8Array, name = 'notes.txt'): Promise<FileInfo> {
  const upload = m.manager.beginFile(groupId, { chunkSize: CHUNK })
  // Pieces of odd sizes, as a stream would give them.
  for (let at = 0; at < content.length; at += 700) upload.write(content.subarray(at, at + 700))
  const message = await m.manager.sendFile(upload, { name, mediaType: 'text/plain' })
  expect(message.fileLog).toEqual(upload.logId)
  return m.manager.fileByLog(upload.logId)!
}

/** Copies the chunks `from` holds of a file into `to`. */
function deliverFile(from: Member, to: Member, file: FileInfo): void {
  ingestInto(to, from.logs.operationsAfter(file.author, file.logId, -1, 100_000))
}

function read(m: Member, file: FileInfo): Uint8Array {
  return new Uint8Array(Buffer.concat([...m.manager.fileContent(file.logId)]))
}

async function threeMembers(): Promise<{ a: Member; b: Member; c: Member; groupId: Uint8Array }> {
  const [a, b, c] = [member('a'), member('b'), member('c')]
  const { id: groupId } = await a.manager.create()
  await invite(a, b, groupId)
  await invite(a, c, groupId)
  await syncAll([a, b, c], groupId)
  return { a, b, c, groupId }
}

describe('files in a group', () => {
  it('a member decrypts the announcement, fetches the chunks and reads the file back, checked against its hash', async () => {
    const { a, b, groupId } = await threeMembers()
    const content = new Uint8Array(randomBytes(5 * CHUNK + 123))
    const sent = await sendFile(a, groupId, content)
    expect(sent).toMatchObject({ name: 'notes.txt', size: content.length, chunkCount: 6, chunksHeld: 6, chunkSize: CHUNK })
    expect(read(a, sent)).toEqual(content)

    await syncAll([a, b], groupId)
    const [entry] = b.manager.messages(groupId).filter((m) => m.fileLog !== undefined)
    expect(entry?.author).toEqual(a.key)
    const announced = b.manager.fileByLog(sent.logId)!
    expect(announced).toMatchObject({ name: 'notes.txt', mediaType: 'text/plain', size: content.length, chunksHeld: 0 })
    expect(() => read(b, announced)).toThrow(expect.objectContaining({ code: 'GROUP_FILE_INCOMPLETE' }))
    // The file log is shared with the group's members only once the announcement is known here.
    expect(b.manager.mayShare(a.key, sent.logId)).toBe(true)
    expect(b.manager.sharedLogs(a.key).map(toHex)).toContain(toHex(sent.logId))

    deliverFile(a, b, sent)
    expect(b.manager.fileByLog(sent.logId)?.chunksHeld).toBe(6)
    expect(read(b, announced)).toEqual(content)
    expect(b.manager.resolveFile(groupId, 'notes.txt').logId).toEqual(sent.logId)
    expect(b.manager.resolveFile(groupId, toHex(sent.fileId).slice(0, 6)).logId).toEqual(sent.logId)
    // The store keeps only ciphertext: the content occurs nowhere in it.
    const stored = b.db.prepare('SELECT payload FROM log_operations WHERE log_id = ?').all(sent.logId) as { payload: Buffer }[]
    expect(stored.some((r) => r.payload.includes(Buffer.from(content.subarray(0, 64))))).toBe(false)
  })

  it('an empty file is complete at once', async () => {
    const { a, b, groupId } = await threeMembers()
    const sent = await sendFile(a, groupId, new Uint8Array(0), 'empty')
    await syncAll([a, b], groupId)
    expect(b.manager.fileByLog(sent.logId)).toMatchObject({ size: 0, chunkCount: 0, chunksHeld: 0 })
    expect(read(b, sent)).toEqual(new Uint8Array(0))
  })

  it('takes only the sender’s announced chunks of a file log, and shares it with current members only', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const sent = await sendFile(a, groupId, new Uint8Array(randomBytes(2 * CHUNK)))
    await syncAll([a, b, c], groupId)
    const header = a.logs.operationsAfter(a.key, sent.logId, -1, 1)[0]!.header
    expect(b.manager.acceptsOperation(header)).toBe(true)
    expect(b.manager.acceptsOperation({ ...header, author: c.key })).toBe(false)
    expect(b.manager.acceptsOperation({ ...header, seq: 2 })).toBe(false)
    expect(b.manager.acceptsOperation({ ...header, payloadSize: CHUNK + 41 })).toBe(false)
    await a.manager.remove(groupId, c.key)
    await syncAll([a, b], groupId)
    expect(b.manager.mayShare(c.key, sent.logId)).toBe(false)
    expect(b.manager.mayShare(a.key, sent.logId)).toBe(true)
  })

  it('a late joiner never gets the key of a file sent before it joined; a removed member never gets one sent after', async () => {
    const { a, b, c, groupId } = await threeMembers()
    const before = await sendFile(a, groupId, new Uint8Array(randomBytes(CHUNK)), 'before')
    const d = member('d')
    await invite(a, d, groupId)
    await a.manager.remove(groupId, c.key)
    const after = await sendFile(a, groupId, new Uint8Array(randomBytes(CHUNK)), 'after')
    await syncAll([a, b, c, d], groupId)
    expect(d.manager.fileByLog(before.logId)).toBeUndefined()
    expect(d.manager.mayShare(a.key, before.logId)).toBe(false)
    expect(d.manager.fileByLog(after.logId)?.name).toBe('after')
    expect(c.manager.fileByLog(after.logId)).toBeUndefined()
    expect(b.manager.files(groupId).map((f) => f.name)).toEqual(['before', 'after'])
  })

  it('refuses chunks moved within the file, swapped in from another file, or sealed with another key', async () => {
    const { a, b, groupId } = await threeMembers()
    const one = await sendFile(a, groupId, new Uint8Array(randomBytes(3 * CHUNK)), 'one')
    await syncAll([a, b], groupId)
    // A hostile sender's own store: chunk 0 and 1 swapped, re-signed so the log itself is valid.
    const chunks = a.logs.operationsAfter(a.key, one.logId, -1, 10)
    const signer = seedSigner(a.identity.seed)
    const forged: Operation[] = []
    for (const [seq, payload] of [chunks[1]!.payload!, chunks[0]!.payload!, chunks[2]!.payload!].entries()) {
      forged.push(createOperation({ signer, logId: one.logId, seq, backlink: forged[seq - 1]?.hash ?? null, payload }))
    }
    ingestInto(b, forged)
    expect(() => read(b, one)).toThrow(expect.objectContaining({ code: 'GROUP_FILE_CORRUPT' }))

    // A chunk sealed with another key or for another file id does not open either.
    const other = await sendFile(a, groupId, new Uint8Array(randomBytes(CHUNK)), 'other')
    await syncAll([a, b], groupId)
    const wrong = createOperation({ signer, logId: other.logId, seq: 0, backlink: null, payload: sealChunk(new Uint8Array(32), other.fileId, 0, new Uint8Array(CHUNK)) })
    ingestInto(b, [wrong])
    expect(() => read(b, other)).toThrow(expect.objectContaining({ code: 'GROUP_FILE_CORRUPT' }))
  })

  it('an upload that a crash interrupted before its announcement is deleted at the next start, and nobody ever saw it', async () => {
    const { a, b, groupId } = await threeMembers()
    const upload: FileUpload = a.manager.beginFile(groupId, { chunkSize: CHUNK })
    upload.write(new Uint8Array(randomBytes(20 * CHUNK)))
    expect(a.logs.heights(upload.logId).size).toBe(1)
    expect(a.manager.mayShare(b.key, upload.logId)).toBe(false)
    a.restart()
    expect(a.logs.heights(upload.logId).size).toBe(0)
    expect(a.db.prepare('SELECT COUNT(*) AS n FROM group_file_uploads').get()).toEqual({ n: 0 })
    expect(fileLogId(groupId, upload.fileId)).toEqual(upload.logId)
  })
})
