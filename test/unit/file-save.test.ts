// Saving a received file to disk (node/content.ts): the content's hash is
// checked before the target exists, and a link planted at the target is
// never followed. Real GroupManagers, ts-mls, SQLite files and files on disk.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/logging.js'
import { toHex } from '../../src/log/index.js'
import { GroupContent, type BurrowEvents } from '../../src/node/index.js'
import type { Naming } from '../../src/node/views.js'
import { ingestInto, invite, syncAll, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()
const work = mkdtempSync(join(tmpdir(), 'burrow-file-save-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function content(m: Member): GroupContent {
  const naming: Naming = { self: m.hex, nameOf: () => undefined, forkedAuthors: () => new Set(), fileOf: (logId) => m.manager.fileByLog(logId) }
  return new GroupContent(m.manager, naming, new EventEmitter<BurrowEvents>(), silentLogger)
}

/** A sends a 3 KiB file (name `name`) that B then holds whole. */
async function received(name: string): Promise<{ a: Member; b: Member; group: string; id: string; bytes: Buffer }> {
  const [a, b] = [member('a'), member('b')]
  const { id: groupId } = await a.manager.create()
  await invite(a, b, groupId)
  await syncAll([a, b], groupId)
  const bytes = randomBytes(3 * 1024)
  const upload = a.manager.beginFile(groupId, { chunkSize: 1024 })
  upload.write(bytes)
  await a.manager.sendFile(upload, { name, mediaType: 'application/octet-stream' })
  await syncAll([a, b], groupId)
  const file = b.manager.files(groupId)[0]!
  ingestInto(b, a.logs.operationsAfter(file.author, file.logId, -1, 100))
  expect(b.manager.files(groupId)[0]).toMatchObject({ chunksHeld: 3, chunkCount: 3 })
  return { a, b, group: toHex(groupId), id: toHex(file.fileId), bytes }
}

describe('saving a file', () => {
  it('refuses content whose SHA-256 differs from the announcement: no target, no temporary file left', async () => {
    const { b, group, id } = await received('report.pdf')
    // As if the sender had announced another hash for the same chunks.
    b.db.prepare('UPDATE group_files SET sha256 = ?').run(randomBytes(32))
    const out = mkdtempSync(join(work, 'hash-'))
    await expect(content(b).saveFile(group, id, { out })).rejects.toMatchObject({ code: 'GROUP_FILE_CORRUPT' })
    expect(readdirSync(out)).toEqual([])
  })

  it('never writes through a link planted at the target: refused without force, and with force the link itself is replaced', async () => {
    const { b, group, id, bytes } = await received('notes.txt')
    const out = mkdtempSync(join(work, 'link-'))
    const victim = join(work, `victim-${randomBytes(4).toString('hex')}`)
    writeFileSync(victim, 'keep me')
    symlinkSync(victim, join(out, 'notes.txt'))
    await expect(content(b).saveFile(group, id, { out })).rejects.toMatchObject({ code: 'NODE_FILE_EXISTS' })
    expect(readlinkSync(join(out, 'notes.txt'))).toBe(victim)

    const saved = await content(b).saveFile(group, id, { out, force: true })
    expect(saved.path).toBe(join(out, 'notes.txt'))
    expect(lstatSync(saved.path).isSymbolicLink()).toBe(false)
    expect(readFileSync(saved.path)).toEqual(bytes)
    expect(readFileSync(victim, 'utf8')).toBe('keep me')
    expect(readdirSync(out)).toEqual(['notes.txt'])
  })

  it('saves a long multibyte name into a folder (82 CJK characters + .pdf: 250 bytes; the temporary name must fit in 255 too)', async () => {
    const name = '報告書'.repeat(27) + '報' + '.pdf'
    expect(name.length).toBe(86)
    expect(Buffer.byteLength(name)).toBe(250)
    const { b, group, id, bytes } = await received(name)
    const out = mkdtempSync(join(work, 'cjk-'))
    const saved = await content(b).saveFile(group, id, { out })
    expect(saved.path).toBe(join(out, name))
    expect(readFileSync(saved.path)).toEqual(bytes)
    expect(readdirSync(out)).toEqual([name])
  })

  it('a folder at the target is refused with a typed error, with --force too, and nothing is left behind', async () => {
    const { b, group, id } = await received('report.txt')
    const out = mkdtempSync(join(work, 'folder-'))
    mkdirSync(join(out, 'report.txt'))
    for (const force of [false, true]) {
      await expect(content(b).saveFile(group, id, { out, force }), `force ${force}`).rejects.toMatchObject({ code: 'NODE_FILE_UNWRITABLE', message: expect.stringContaining('is a folder') })
      expect(readdirSync(out)).toEqual(['report.txt'])
      expect(readdirSync(join(out, 'report.txt'))).toEqual([])
    }
  })
})
