// The local API's file, deletion and retention methods against a real node
// that is not started: real keys, SQLite, MLS and files on disk, no network
// (a group of one; sending and saving are local).
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalApiClient, startLocalApi, type ApiEvent, type LocalApiServer } from '../../src/api/index.js'
import { Burrow } from '../../src/node/index.js'

let dir: string
let node: Burrow
let api: LocalApiServer
let client: LocalApiClient
let group: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-api-files-'))
  await Burrow.init(join(dir, 'node'))
  node = await Burrow.open({ dataDir: join(dir, 'node') })
  group = (await node.createGroup('box')).id
  api = await startLocalApi(node, join(dir, 'api.sock'))
  client = await LocalApiClient.connect(join(dir, 'api.sock'))
})

afterAll(async () => {
  await client.close()
  await api.close()
  await node.stop()
  rmSync(dir, { recursive: true, force: true })
})

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('local API: files', () => {
  it('sends a file by absolute path with progress, lists it, and saves it back checked', async () => {
    const content = randomBytes(1_300_000)
    const path = join(dir, 'photo.jpg')
    writeFileSync(path, content)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    const sent = await client.call('file.send', { group, path, progress: true })
    expect(sent.file).toMatchObject({ name: 'photo.jpg', mediaType: 'image/jpeg', size: content.length, sha256: sha256(content), chunks: 5, chunksHeld: 5, complete: true, self: true })
    expect(sent.data).toBe('')
    const last = events.at(-1)
    expect(last).toMatchObject({ event: 'file:progress', data: { direction: 'send', chunks: 5, totalChunks: 5, bytes: content.length, size: content.length } })
    const { files } = await client.call('file.list', { group })
    expect(files.map((f) => f.id)).toContain(sent.file!.id)

    const out = join(dir, 'out')
    mkdirSync(out)
    const saved = await client.call('file.save', { group, file: sent.file!.id.slice(0, 8), out, progress: true })
    expect(saved.path).toBe(join(out, 'photo.jpg'))
    expect(sha256(readFileSync(saved.path))).toBe(sha256(content))
    expect(statSync(saved.path).mode & 0o777).toBe(0o600)
    // Nothing but the file is left in the folder (no temporary file).
    expect(readdirSync(out)).toEqual(['photo.jpg'])
    await expect(client.call('file.save', { group, file: 'photo.jpg', out })).rejects.toMatchObject({ code: 'NODE_FILE_EXISTS' })
    writeFileSync(saved.path, 'changed')
    await client.call('file.save', { group, file: 'photo.jpg', out, force: true })
    expect(sha256(readFileSync(saved.path))).toBe(sha256(content))
    // A file path as the target.
    const named = await client.call('file.save', { group, file: 'photo.jpg', out: join(out, 'copy.bin') })
    expect(named.path).toBe(join(out, 'copy.bin'))
  })

  it('a stream of unknown size goes in by upload, write and finish, and a sender-chosen path stays a plain name in the chosen folder', async () => {
    const content = randomBytes(600_000)
    const { upload } = await client.call('file.upload', { group, name: '../../.bashrc' })
    for (let at = 0; at < content.length; at += 150_000) {
      await client.call('file.write', { upload, data: content.subarray(at, at + 150_000).toString('base64') })
    }
    const sent = await client.call('file.finish', { upload })
    expect(sent.file).toMatchObject({ name: '../../.bashrc', size: content.length, mediaType: 'application/octet-stream' })
    const out = join(dir, 'safe')
    mkdirSync(out)
    const saved = await client.call('file.save', { group, file: sent.file!.id, out })
    expect(saved.path).toBe(join(out, 'bashrc'))
    expect(sha256(readFileSync(saved.path))).toBe(sha256(content))
    await expect(client.call('file.finish', { upload })).rejects.toMatchObject({ code: 'API_BAD_REQUEST' })
  })

  it('an upload whose connection closes is discarded', async () => {
    const before = node.status().operations
    const other = await LocalApiClient.connect(join(dir, 'api.sock'))
    const { upload } = await other.call('file.upload', { group, name: 'half' })
    // Enough for a few stored transactions of chunks.
    for (let i = 0; i < 14; i++) await other.call('file.write', { upload, data: randomBytes(180_000).toString('base64') })
    expect(node.status().operations).toBeGreaterThan(before)
    await other.close()
    for (let i = 0; i < 50 && node.status().operations !== before; i++) await new Promise((r) => setTimeout(r, 20))
    expect(node.status().operations).toBe(before)
    expect((await client.call('file.list', { group })).files.map((f) => f.name)).not.toContain('half')
  })

  it('refuses relative paths, folders and FIFOs, and anything the node cannot read', async () => {
    await expect(client.call('file.send', { group, path: 'photo.jpg' })).rejects.toMatchObject({ code: 'API_BAD_REQUEST' })
    await expect(client.call('file.send', { group, path: dir })).rejects.toMatchObject({ code: 'NODE_FILE_UNREADABLE' })
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    await expect(client.call('file.send', { group, path: fifo }, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NODE_FILE_UNREADABLE' })
    // What chat's /send shows: words, not a raw errno.
    await expect(client.call('file.send', { group, path: join(dir, 'missing') })).rejects.toMatchObject({ code: 'NODE_FILE_UNREADABLE', message: `cannot read ${join(dir, 'missing')}: no such file or folder` })
    await expect(client.call('file.save', { group, file: 'photo.jpg', out: join(dir, 'no', 'such', 'folder') })).rejects.toMatchObject({ code: 'NODE_FILE_UNWRITABLE', message: `${join(dir, 'no', 'such')} does not exist` })
    await expect(client.call('file.save', { group, file: 'photo.jpg', out: join(dir, 'photo.jpg', 'x') })).rejects.toMatchObject({ code: 'NODE_FILE_UNWRITABLE', message: `${join(dir, 'photo.jpg')} is not a folder` })
    await expect(client.call('file.save', { group, file: 'nothing-like-it', out: dir })).rejects.toMatchObject({ code: 'GROUP_FILE_NOT_FOUND' })
  })
})

describe('local API: deletion and retention', () => {
  it('deletes our message and our file; the entries leave read and file.list', async () => {
    const m = await client.call('send', { group, text: 'to be deleted' })
    const removed = await client.call('delete', { group, entry: `#${m.id}` })
    expect(removed.message?.text).toBe('to be deleted')
    const page = await client.call('read', { group, limit: 1000 })
    expect(page.messages.map((x) => x.id)).not.toContain(m.id)

    const path = join(dir, 'doomed.txt')
    writeFileSync(path, 'doomed')
    const sent = await client.call('file.send', { group, path })
    expect((await client.call('delete', { group, entry: 'doomed.txt' })).file?.id).toBe(sent.file!.id)
    expect((await client.call('file.list', { group })).files.map((f) => f.name)).not.toContain('doomed.txt')
    await expect(client.call('delete', { group, entry: '#999999' })).rejects.toMatchObject({ code: 'GROUP_ENTRY_NOT_FOUND' })
  })

  it('the owner sets and clears the retention period; it shows in group.list', async () => {
    const set = await client.call('group.retention', { group, periodMs: 7 * 86_400_000 })
    expect(set.retentionMs).toBe(7 * 86_400_000)
    expect((await client.call('group.list', {})).groups[0]?.retentionMs).toBe(7 * 86_400_000)
    expect((await client.call('group.retention', { group, periodMs: null })).retentionMs).toBeNull()
    await expect(client.call('group.retention', { group, periodMs: 10 })).rejects.toMatchObject({ code: 'API_BAD_REQUEST' })
    expect(existsSync(join(dir, 'api.sock'))).toBe(true)
  })
})
