/**
 * Files, deletion and retention between three Burrow nodes on the private
 * Tor network, driven through the `burrow` command (a child process talking
 * to each node's local API) where a person would use it. Real tor, libp2p,
 * sync, MLS and SQLite.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { openDatabase } from '../../src/store/index.js'
import { nodePaths, type Burrow, type FileProgress } from '../../src/node/index.js'
import { eventually, testNode } from '../helpers/burrow.js'

const BIN = resolve(import.meta.dirname, '../../bin/burrow.js')
const LONG = 150_000

/** Runs `burrow --data-dir <dir> …` as a child process; rejects with its output when it fails. */
function burrow(dataDir: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [BIN, '--data-dir', dataDir, ...args], { timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`burrow ${args.join(' ')} failed: ${stdout}${stderr}`))
      else resolvePromise(stdout)
    })
  })
}

const burrowJson = async (dataDir: string, args: string[]): Promise<any> => JSON.parse(await burrow(dataDir, [...args, '--json']))

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Every file under `dir`, recursively (tor's data directory included). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : []
  })
}

/** Which of `needles` (by name) occur in any file of the data directory. */
function foundIn(dataDir: string, needles: Record<string, Uint8Array>): string[] {
  const contents = filesUnder(dataDir).map((f) => readFileSync(f))
  return Object.entries(needles).filter(([, n]) => contents.some((c) => c.indexOf(n) >= 0)).map(([name]) => name)
}

/** The log id of a file's chunks (group/file-crypto.ts). */
function fileLogOf(group: string, fileId: string): Buffer {
  return createHash('sha256').update(Buffer.concat([Buffer.from('burrow/v1/file-log'), Buffer.from(group, 'hex'), Buffer.from(fileId, 'hex')])).digest()
}

/** Reads stored payloads with a connection of its own, closed at once (an open reader would hold checkpoints back). */
function storedPayload(dataDir: string, logId: Uint8Array, seq: number): Uint8Array {
  const db = openDatabase(nodePaths(dataDir).database, { readonly: true })
  try {
    const row = db.prepare('SELECT payload FROM log_operations WHERE log_id = ? AND seq = ? AND payload IS NOT NULL').get(logId, seq) as { payload: Buffer } | undefined
    if (row === undefined) throw new Error(`no payload at seq ${seq}`)
    return new Uint8Array(row.payload)
  } finally {
    db.close()
  }
}

describe('files, deletion and retention over Tor', () => {
  const nodes: Record<string, Awaited<ReturnType<typeof testNode>>> = {}
  const apis: Record<string, LocalApiServer> = {}
  const live: Record<string, Burrow> = {}
  let group: string
  /** Files sent and saved in the tests (outside every data directory). */
  let work: string

  async function serve(name: string): Promise<void> {
    apis[name] = await startLocalApi(live[name]!, nodePaths(nodes[name]!.dataDir).socket)
  }

  async function restart(name: string): Promise<void> {
    await apis[name]!.close()
    await live[name]!.stop()
    live[name] = await nodes[name]!.reopen()
    await live[name]!.start()
    await serve(name)
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'burrow-files-it-'))
    for (const name of ['a', 'b', 'c']) {
      nodes[name] = await testNode(name)
      live[name] = nodes[name]!.node
    }
    await Promise.all(Object.values(live).map((n) => n.start()))
    for (const x of Object.values(live)) for (const y of Object.values(live)) if (x !== y) await x.addPeer(y.contactCard())
    for (const name of Object.keys(live)) await serve(name)
    group = (await live.a!.createGroup('files')).id
    await live.a!.invite(group, 'b')
    await live.a!.invite(group, 'c')
    for (const n of [live.b!, live.c!]) await eventually(() => n.groups().find((g) => g.id === group && g.members.length === 3), LONG, 'the members to join')
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled(Object.values(apis).map((api) => api.close()))
    await Promise.allSettled(Object.values(live).map((n) => n.stop()))
    for (const n of Object.values(nodes)) n.cleanup()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('sends a file with `burrow send --file`; members see it in `files` and `read`, watch it arrive, and `get` it checked', async () => {
    const content = randomBytes(3_000_000)
    const path = join(work, 'report.pdf')
    writeFileSync(path, content)
    const arriving: FileProgress[] = []
    live.b!.on('file:progress', (p) => p.direction === 'receive' && arriving.push(p))
    const sent = await burrowJson(nodes.a!.dataDir, ['send', group, '--file', path])
    expect(sent.file, JSON.stringify(sent.file)).toMatchObject({ name: 'report.pdf', size: content.length, mediaType: 'application/pdf', chunks: 12, complete: true })

    for (const name of ['b', 'c']) {
      await eventually(async () => (await burrowJson(nodes[name]!.dataDir, ['files', group])).files[0]?.complete === true || undefined, LONG, `${name} to hold the whole file`).catch(async (err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify(await burrowJson(nodes[name]!.dataDir, ['files', group]))}`)
      })
    }
    // The last chunk came from A, or from C relaying it (members relay each other's logs).
    const last = arriving.find((p) => p.chunks === 12)
    expect(last).toMatchObject({ fileId: sent.file.id, totalChunks: 12, bytes: content.length, size: content.length })
    expect([live.a!.peerId, live.c!.peerId]).toContain(last?.peerId)
    expect(await burrow(nodes.b!.dataDir, ['read', group])).toMatch(/a: \[file\] report\.pdf, 2\.9 MiB, application\/pdf, complete \(id [0-9a-f]{12}\)/)
    const out = join(work, 'downloads')
    mkdirSync(out)
    const saved = await burrowJson(nodes.b!.dataDir, ['get', group, 'report.pdf', '--out', out])
    expect(saved.path).toBe(join(out, 'report.pdf'))
    expect(sha256(readFileSync(saved.path))).toBe(sha256(content))
  }, 200_000)

  it('a transfer resumes after the receiver restarts, and after the sender restarts, without sending again what had arrived', async () => {
    const CHUNKS = 48
    const sentTo = new Map<string, number[]>()
    const watchSends = (): void => {
      live.a!.on('file:progress', (p) => {
        if (p.direction === 'send' && p.peerId !== undefined) sentTo.set(`${p.peerId}:${p.fileId}`, [...(sentTo.get(`${p.peerId}:${p.fileId}`) ?? []), p.chunks])
      })
    }
    /** Sends a new file from A; returns its content and id. */
    const send = async (name: string): Promise<{ content: Buffer; fileId: string }> => {
      const content = randomBytes(CHUNKS * 256 * 1024)
      writeFileSync(join(work, name), content)
      return { content, fileId: (await live.a!.content.sendFile(group, join(work, name))).file!.id }
    }
    const held = (name: string, fileId: string): number => live[name]!.content.files(group).find((f) => f.id === fileId)?.chunksHeld ?? 0
    // What A's old session with a stopped node reports after that is only ever for later chunks than the node held.
    const stop = async (name: string): Promise<void> => {
      await apis[name]!.close()
      await live[name]!.stop()
    }
    const start = async (name: string): Promise<void> => {
      live[name] = await nodes[name]!.reopen()
      await live[name]!.start()
      await serve(name)
      if (name === 'a') watchSends()
    }
    /** Chunks of a file the stopped node holds (read from its database). */
    const heldOnDisk = (name: string, fileId: string): number => {
      const db = openDatabase(nodePaths(nodes[name]!.dataDir).database, { readonly: true })
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM log_operations WHERE log_id = ?').get(fileLogOf(group, fileId)) as { n: number }).n
      } finally {
        db.close()
      }
    }
    watchSends()

    // The receiver B restarts at a quarter of the file; C is away, so A alone sends it.
    await stop('c')
    const first = await send('first.tar')
    await eventually(() => held('b', first.fileId) >= CHUNKS / 4 || undefined, LONG, 'B to hold a quarter of the file')
    await stop('b')
    const heldByB = heldOnDisk('b', first.fileId)
    expect(heldByB).toBeLessThan(CHUNKS)
    sentTo.clear()
    await start('b')
    await eventually(() => held('b', first.fileId) === CHUNKS || undefined, LONG, 'B to hold the whole file after its restart')
    // What A sent B after the restart starts after what B held.
    expect(Math.min(...(sentTo.get(`${live.b!.peerId}:${first.fileId}`) ?? [Infinity]))).toBeGreaterThan(heldByB)

    // The sender A restarts while C alone fetches a second file.
    await stop('b')
    await start('c')
    const second = await send('second.tar')
    await eventually(() => held('c', second.fileId) >= CHUNKS / 4 || undefined, LONG, 'C to hold a quarter of the second file')
    await stop('a')
    const heldByC = held('c', second.fileId)
    expect(heldByC).toBeLessThan(CHUNKS)
    sentTo.clear()
    await start('a')
    await eventually(() => held('c', second.fileId) === CHUNKS || undefined, LONG, 'C to hold the whole file after the sender restarted')
    expect(Math.min(...(sentTo.get(`${live.c!.peerId}:${second.fileId}`) ?? [Infinity]))).toBeGreaterThan(heldByC)

    await start('b')
    for (const [name, file] of [['b', first], ['c', second]] as const) {
      const out = join(work, `${name}-${file.fileId}`)
      await live[name]!.content.saveFile(group, file.fileId, { out })
      expect(sha256(readFileSync(out))).toBe(sha256(file.content))
    }
  }, 240_000)

  it('`burrow delete`: every member drops the message and the file, and their ciphertext and plaintext leave every file of every data directory', async () => {
    const secret = `secret-${randomBytes(8).toString('hex')}`
    const message = await burrowJson(nodes.a!.dataDir, ['send', group, secret])
    const fileContent = randomBytes(600_000)
    const filePath = join(work, 'private.bin')
    writeFileSync(filePath, fileContent)
    const file = (await burrowJson(nodes.a!.dataDir, ['send', group, '--file', filePath])).file
    for (const name of ['b', 'c']) {
      await eventually(() => live[name]!.messages(group, { limit: 1000 }).some((m) => m.text === secret) || undefined, LONG, `${name} to read the message`)
      await eventually(() => live[name]!.content.files(group).find((f) => f.id === file.id)?.complete || undefined, LONG, `${name} to hold the file`)
    }
    const groupId = Buffer.from(group, 'hex')
    const fileLog = fileLogOf(group, file.id)
    const needles: Record<string, Uint8Array> = {
      'message ciphertext': storedPayload(nodes.b!.dataDir, groupId, message.seq).subarray(-48),
      'file chunk ciphertext': storedPayload(nodes.b!.dataDir, fileLog, 1).subarray(-48),
      'message plaintext': Buffer.from(secret),
      'file plaintext': fileContent.subarray(300_000, 300_048),
    }
    // The search finds them while they are there.
    expect(foundIn(nodes.c!.dataDir, needles)).toEqual(expect.arrayContaining(['message ciphertext', 'file chunk ciphertext', 'message plaintext']))

    expect(await burrow(nodes.a!.dataDir, ['delete', group, String(message.id)])).toBe(`deleted message #${message.id} for every member\n`)
    expect(await burrow(nodes.a!.dataDir, ['delete', group, 'private.bin'])).toMatch(/^deleted file private\.bin/)
    for (const name of ['a', 'b', 'c']) {
      await eventually(() => foundIn(nodes[name]!.dataDir, needles).length === 0 || undefined, LONG, `nothing of it left in ${name}'s data directory`).catch(() => {
        throw new Error(`${name} still holds: ${foundIn(nodes[name]!.dataDir, needles).join(', ')}`)
      })
      expect(live[name]!.messages(group, { limit: 1000 }).some((m) => m.text === secret)).toBe(false)
      expect(live[name]!.content.files(group).some((f) => f.id === file.id)).toBe(false)
    }
    // The databases' own files, once more after a node closes its database (a final checkpoint).
    await apis.c!.close()
    await live.c!.stop()
    expect(foundIn(nodes.c!.dataDir, needles)).toEqual([])
    expect(statSync(nodePaths(nodes.c!.dataDir).database).size).toBeGreaterThan(0)
    live.c = await nodes.c!.reopen()
    await live.c.start()
    await serve('c')
  }, 240_000)

  it('the owner sets a retention period with `burrow group retention`; members show it in `group members` and `group list`', async () => {
    expect(await burrow(nodes.a!.dataDir, ['group', 'retention', group, '30d'])).toMatch(/every member deletes what is older than 30d/)
    await eventually(async () => ((await burrowJson(nodes.b!.dataDir, ['group', 'members', group])).retentionMs === 30 * 86_400_000) || undefined, LONG, 'B to apply the period')
    expect(await burrow(nodes.b!.dataDir, ['group', 'members', group])).toContain('retention: every member deletes what is older than 30d')
    expect(await burrow(nodes.c!.dataDir, ['group', 'list'])).toMatch(/files\s+member\s+\d+\s+3\s+30d\s+active|[0-9a-f]{12}\s+-\s+member\s+\d+\s+3\s+30d\s+active/)
  }, 200_000)
})
