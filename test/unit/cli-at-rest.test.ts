import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/errors.js'
import { startLocalApi } from '../../src/api/index.js'
import { createContactCard, decodeContactCard, deriveNodeKeys, encodeContactCard, generateMasterSeed } from '../../src/keys/index.js'
import { Burrow } from '../../src/node/burrow.js'
import { databaseFileState } from '../../src/store/index.js'
import { findSecrets, snapshotDir } from '../helpers/at-rest.js'
import { runCli } from '../helpers/cli-run.js'
import { MemoryNode } from '../helpers/memory-node.js'

const root = mkdtempSync(join(tmpdir(), 'burrow-cli-at-rest-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = (): string => join(root, `d${n++}`)

const run = runCli

function peerCard(name: string): string {
  const keys = deriveNodeKeys(generateMasterSeed())
  return encodeContactCard(createContactCard(keys, name), keys)
}

const PW = { BURROW_PASSPHRASE: 'correct horse' }
const MARKER = 'backup-plaintext-77c1'

/** A sealed node with a peer and a group of three messages; returns what to compare after a restore. */
async function populatedNode(dir: string, passphrase?: string): Promise<{ peerId: string; groupId: string; texts: string[] }> {
  expect((await run(['--data-dir', dir, 'init', ...(passphrase === undefined ? ['--no-passphrase'] : [])], passphrase === undefined ? {} : { BURROW_PASSPHRASE: passphrase })).code).toBe(0)
  const node = await Burrow.open({ dataDir: dir, ...(passphrase !== undefined ? { passphrase } : {}) })
  try {
    await node.addPeer(peerCard('carol'))
    const group = await node.createGroup('friends')
    for (const i of [1, 2, 3]) await node.send(group.id, `${MARKER} ${i}`)
    return { peerId: node.peerId, groupId: group.id, texts: node.messages(group.id).map((m) => m.text!) }
  } finally {
    await node.stop()
  }
}

async function readNode(dir: string, passphrase?: string): Promise<{ peerId: string; groups: string[]; texts: string[]; peers: (string | undefined)[] }> {
  const node = await Burrow.open({ dataDir: dir, ...(passphrase !== undefined ? { passphrase } : {}) })
  try {
    const groups = node.groups()
    return {
      peerId: node.peerId,
      groups: groups.map((g) => g.name ?? ''),
      texts: groups.flatMap((g) => node.messages(g.id).map((m) => m.text!)),
      peers: node.peers().map((p) => p.name),
    }
  } finally {
    await node.stop()
  }
}

describe('card and peers add without a running node', () => {
  it('print the card and add a peer from the keystore and database, asking for the passphrase of a sealed node', { timeout: 120_000 }, async () => {
    const dir = fresh()
    expect((await run(['--data-dir', dir, 'init', '--name', 'alice'], PW)).code).toBe(0)
    const card = await run(['--data-dir', dir, 'card', '--json'], PW)
    expect(card.code).toBe(0)
    const decoded = decodeContactCard(JSON.parse(card.out).card)
    expect(decoded.displayName).toBe('alice')
    expect((await run(['--data-dir', dir, 'card', '--qr'], PW)).out).toMatch(/█/)
    expect(await run(['--data-dir', dir, 'card', '--json'])).toMatchObject({ code: EXIT.KEYSTORE, out: expect.stringContaining('KEYSTORE_PASSPHRASE_REQUIRED') })
    expect(await run(['--data-dir', dir, 'card'], { BURROW_PASSPHRASE: 'no' })).toMatchObject({ code: EXIT.KEYSTORE, err: expect.stringContaining('(KEYSTORE_WRONG_PASSPHRASE)') })

    const added = await run(['--data-dir', dir, 'peers', 'add', peerCard('bob'), '--yes', '--json'], PW)
    expect(added.code).toBe(0)
    expect(JSON.parse(added.out)).toMatchObject({ name: 'bob', connected: false })
    expect(JSON.parse(added.out).fingerprint).toMatch(/^([0-9a-f]{4} ){4}[0-9a-f]{4}$/)
    // A malformed card is bad input, found before any passphrase is asked for.
    expect(await run(['--data-dir', dir, 'peers', 'add', 'burrow1nope'])).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('(INVALID_CONTACT_CARD)') })
    const node = await readNode(dir, 'correct horse')
    expect(node.peers).toEqual(['bob'])
    expect(decoded.identityKey).toBeDefined()
    expect(await run(['--data-dir', fresh(), 'card'])).toMatchObject({ code: EXIT.NOT_FOUND, err: expect.stringContaining('(NODE_NOT_FOUND)') })
  })
})

describe('burrow passphrase', () => {
  it('sets, changes and removes the passphrase of keystore and database; refuses while the node runs or with a wrong one', { timeout: 120_000 }, async () => {
    const dir = fresh()
    const { groupId, texts } = await populatedNode(dir)
    const newFile = join(root, `pw-${n++}`)
    writeFileSync(newFile, 'second\n', { mode: 0o600 })

    expect(await run(['--data-dir', dir, 'passphrase', '--remove'])).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('no passphrase to remove') })
    expect(await run(['--data-dir', dir, 'passphrase'])).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('BURROW_NEW_PASSPHRASE') })
    const set = await run(['--data-dir', dir, 'passphrase', '--json'], { BURROW_NEW_PASSPHRASE: 'first' })
    expect(set).toMatchObject({ code: 0, out: '{"sealed":true}\n' })
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('sealed')
    expect(findSecrets(dir, { plaintext: MARKER })).toEqual([])

    const before = snapshotDir(dir)
    expect(await run(['--data-dir', dir, 'passphrase', '--new-passphrase-file', newFile], { BURROW_PASSPHRASE: 'wrong' })).toMatchObject({ code: EXIT.KEYSTORE, err: expect.stringContaining('(KEYSTORE_WRONG_PASSPHRASE)') })
    expect(snapshotDir(dir)).toEqual(before)

    // A node answering on the socket: nothing may change under it.
    const api = await startLocalApi(new MemoryNode(), join(dir, 'burrow.sock'))
    try {
      expect(await run(['--data-dir', dir, 'passphrase', '--new-passphrase-file', newFile], { BURROW_PASSPHRASE: 'first' })).toMatchObject({ code: EXIT.FAILURE, err: expect.stringContaining('(API_ALREADY_RUNNING)') })
    } finally {
      await api.close()
    }
    // A library user's open node has no socket, only the data directory's lock.
    const held = await Burrow.open({ dataDir: dir, passphrase: 'first' })
    try {
      expect(await run(['--data-dir', dir, 'passphrase', '--new-passphrase-file', newFile], { BURROW_PASSPHRASE: 'first' })).toMatchObject({ code: EXIT.FAILURE, err: expect.stringContaining('(NODE_IN_USE)') })
      expect(held.groups()).toHaveLength(1)
    } finally {
      await held.stop()
    }
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('sealed')

    expect(await run(['--data-dir', dir, 'passphrase', '--new-passphrase-file', newFile], { BURROW_PASSPHRASE: 'first' })).toMatchObject({ code: 0, out: 'passphrase changed: keys and database sealed with it\n' })
    await expect(Burrow.open({ dataDir: dir, passphrase: 'first' })).rejects.toMatchObject({ code: 'KEYSTORE_WRONG_PASSPHRASE' })
    expect((await readNode(dir, 'second')).texts).toEqual(texts)

    expect(await run(['--data-dir', dir, 'passphrase', '--remove'], { BURROW_PASSPHRASE: 'second' })).toMatchObject({ code: 0 })
    expect(databaseFileState(join(dir, 'burrow.db'))).toBe('plain')
    const plain = await readNode(dir)
    expect(plain.texts).toEqual(texts)
    expect(groupId).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('burrow backup and restore', () => {
  it('a sealed backup restores into a new data directory with the groups, messages and peers; the original blocks a second copy', { timeout: 120_000 }, async () => {
    const a = fresh()
    const original = await populatedNode(a, 'correct horse')
    const file = join(root, 'a.backup')
    const made = await run(['--data-dir', a, 'backup', '--out', file, '--json'], PW)
    expect(made.code).toBe(0)
    expect(JSON.parse(made.out)).toEqual({ out: file, bytes: statSync(file).size, sealed: true })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file).subarray(0, 21).toString()).toBe('age-encryption.org/v1')
    expect(findSecrets(a, { plaintext: MARKER })).toEqual([])
    expect(readFileSync(file).includes(MARKER)).toBe(false)
    // No snapshot is left behind in the data directory.
    expect(readdirSync(a).sort()).toEqual(['burrow.db', 'node.key'])
    expect(await run(['--data-dir', a, 'backup', '--out', file], PW)).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('already exists') })

    const b = fresh()
    const refused = await run(['--data-dir', b, 'restore', file], PW)
    expect(refused).toMatchObject({ code: EXIT.FAILURE, err: expect.stringContaining('(CLI_SECOND_COPY)') })
    // A failed restore leaves no data directory of its own making behind, and empties none it found.
    expect(existsSync(b)).toBe(false)
    expect(await run(['--data-dir', b, 'restore', file], { BURROW_PASSPHRASE: 'wrong' })).toMatchObject({ code: EXIT.KEYSTORE, err: expect.stringContaining('(STORE_BACKUP_WRONG_PASSPHRASE)') })
    expect(existsSync(b)).toBe(false)
    mkdirSync(join(b, 'mine'), { recursive: true })
    expect(await run(['--data-dir', b, 'restore', file], PW)).toMatchObject({ code: EXIT.FAILURE, err: expect.stringContaining('(CLI_SECOND_COPY)') })
    expect(readdirSync(b)).toEqual(['mine'])
    rmSync(b, { recursive: true })
    expect(await run(['--data-dir', b, 'restore', file])).toMatchObject({ code: EXIT.KEYSTORE, err: expect.stringContaining('(STORE_BACKUP_PASSPHRASE_REQUIRED)') })
    const restored = await run(['--data-dir', b, 'restore', file, '--force', '--json'], PW)
    expect(restored.code).toBe(0)
    expect(JSON.parse(restored.out)).toMatchObject({ peerId: original.peerId, dataDir: b, sealed: true })
    expect(await readNode(b, 'correct horse')).toEqual({ peerId: original.peerId, groups: ['friends'], texts: original.texts, peers: ['carol'] })
    expect(await run(['--data-dir', b, 'restore', file, '--force'], PW)).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('(NODE_EXISTS)') })

    // Once the original is gone, or another node took its place, no --force is needed.
    rmSync(a, { recursive: true })
    const c = fresh()
    expect((await run(['--data-dir', c, 'restore', file], PW)).code).toBe(0)
    expect((await readNode(c, 'correct horse')).texts).toEqual(original.texts)
    expect((await run(['--data-dir', a, 'init'], PW)).code).toBe(0)
    expect((await run(['--data-dir', fresh(), 'restore', file], PW)).code).toBe(0)
    // A node there that this passphrase does not open may be the same identity: refused without --force.
    rmSync(a, { recursive: true })
    expect((await run(['--data-dir', a, 'init'], { BURROW_PASSPHRASE: 'another one' })).code).toBe(0)
    expect(await run(['--data-dir', fresh(), 'restore', file], PW)).toMatchObject({ code: EXIT.FAILURE, err: expect.stringContaining('passphrase does not open') })
  })

  it('a damaged backup is bad input (exit 2) and creates no node (every kind of damage: store-backup.test.ts)', { timeout: 120_000 }, async () => {
    const a = fresh()
    await populatedNode(a, 'correct horse')
    const file = join(root, 'b.backup')
    expect((await run(['--data-dir', a, 'backup', '--out', file], PW)).code).toBe(0)
    const damaged = Buffer.from(readFileSync(file))
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] ?? 0) ^ 1
    writeFileSync(file, damaged)
    const target = fresh()
    expect(await run(['--data-dir', target, 'restore', file, '--force'], PW)).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('(STORE_BACKUP_INVALID)') })
    expect(existsSync(target)).toBe(false)
  })

  it("takes from a backup's config only what names nothing to run or reach; a restore that fails late leaves nothing", { timeout: 120_000 }, async () => {
    const a = fresh()
    await populatedNode(a)
    // What a stranger would put in a forged unsealed backup (its checksum anyone can recompute), here set by the user.
    writeFileSync(join(a, 'config.json'), JSON.stringify({ displayName: 'alice', torPath: '/bin/true', torrcLines: ['SocksPort 0.0.0.0:9999'], logFile: join(root, 'anywhere.log') }))
    const file = join(root, 'config.backup')
    expect((await run(['--data-dir', a, 'backup', '--out', file, '--no-passphrase'])).code).toBe(0)
    const b = fresh()
    const restored = await run(['--data-dir', b, 'restore', file, '--force'])
    expect(restored).toMatchObject({ code: 0, out: expect.stringContaining("not restored from the backup's config: torPath, logFile, torrcLines;") })
    expect(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'))).toEqual({ displayName: 'alice' })
    expect(statSync(join(b, 'config.json')).mode & 0o777).toBe(0o600)

    // The same backup with a database that is not one, its checksum recomputed: refused only once the keystore is in place.
    const bytes = readFileSync(file)
    let at = 9
    for (let i = 0; i < 3; i++) at += 4 + bytes.readUInt32BE(at)
    const junk = Buffer.from('not a database, but long enough to look like a file of some kind')
    const length = Buffer.alloc(8)
    length.writeBigUInt64BE(BigInt(junk.length))
    const body = Buffer.concat([bytes.subarray(0, at), length, junk])
    writeFileSync(file, Buffer.concat([body, createHash('sha256').update(body).digest()]))
    const c = fresh()
    expect((await run(['--data-dir', c, 'restore', file, '--force'])).code).not.toBe(0)
    expect(existsSync(c)).toBe(false)
    // Into a folder it found: only what it put there goes.
    mkdirSync(c, { mode: 0o700 })
    writeFileSync(join(c, 'mine.txt'), 'keep me')
    expect((await run(['--data-dir', c, 'restore', file, '--force'])).code).not.toBe(0)
    expect(readdirSync(c)).toEqual(['mine.txt'])
  })

  it('a node without a passphrase: a passphrase for the backup, or --no-passphrase for an unsealed one', { timeout: 120_000 }, async () => {
    const a = fresh()
    const original = await populatedNode(a)
    expect(await run(['--data-dir', a, 'backup', '--out', join(root, 'x.backup')])).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining('--no-passphrase') })
    const sealed = join(root, 'plain-sealed.backup')
    expect((await run(['--data-dir', a, 'backup', '--out', sealed], { BURROW_PASSPHRASE: 'for the backup' })).code).toBe(0)
    const unsealed = join(root, 'plain-unsealed.backup')
    expect(await run(['--data-dir', a, 'backup', '--out', unsealed, '--no-passphrase', '--json'])).toMatchObject({ code: 0, out: expect.stringContaining('"sealed":false') })
    const b = fresh()
    expect((await run(['--data-dir', b, 'restore', sealed, '--force'], { BURROW_PASSPHRASE: 'for the backup' })).code).toBe(0)
    expect((await readNode(b)).texts).toEqual(original.texts)
    const c = fresh()
    expect((await run(['--data-dir', c, 'restore', unsealed, '--force'])).code).toBe(0)
    expect((await readNode(c)).texts).toEqual(original.texts)
    // A sealed node's backup is always sealed.
    const d = fresh()
    await populatedNode(d, 'pw')
    expect(await run(['--data-dir', d, 'backup', '--out', join(root, 'y.backup'), '--no-passphrase'], { BURROW_PASSPHRASE: 'pw' })).toMatchObject({ code: EXIT.USAGE })
  })

  it('takes a consistent snapshot while a node (a library user\'s: no socket) holds the database and has writes only in its WAL', { timeout: 120_000 }, async () => {
    const a = fresh()
    await populatedNode(a, 'correct horse')
    const node = await Burrow.open({ dataDir: a, passphrase: 'correct horse' })
    try {
      const group = node.groups()[0]!
      await node.send(group.id, `${MARKER} written while running`)
      expect(statSync(join(a, 'burrow.db-wal')).size).toBeGreaterThan(0)
      const file = join(root, 'running.backup')
      expect((await run(['--data-dir', a, 'backup', '--out', file], PW)).code).toBe(0)
      const b = fresh()
      expect((await run(['--data-dir', b, 'restore', file, '--force'], PW)).code).toBe(0)
      expect((await readNode(b, 'correct horse')).texts).toContain(`${MARKER} written while running`)
      expect(existsSync(join(a, 'burrow.lock'))).toBe(true)
    } finally {
      await node.stop()
    }
  })
})
