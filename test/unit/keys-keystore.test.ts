import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  initKeystore,
  KEYSTORE_FILE_NAME,
  keystoreExists,
  keystoreIsSealed,
  keystorePath,
  openKeystore,
  unlockKeystore,
  type NodeKeys,
} from '../../src/keys/index.js'
import { encodePlainKeystore, encodeSealedKeystore, parseKeystore, readKeystoreSeed } from '../../src/keys/keystore-format.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const PASSPHRASE = 'correct horse battery staple'
// Cheap scrypt for format-level tests that do not go through initKeystore.
const FAST_SCRYPT = { logN: 10, r: 8, p: 1 }

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'burrow-keys-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

function sameNode(a: NodeKeys, b: NodeKeys): void {
  expect(hex(b.identity.publicKey)).toBe(hex(a.identity.publicKey))
  expect(hex(b.identity.seed)).toBe(hex(a.identity.seed))
  expect(b.onionAddress).toBe(a.onionAddress)
  expect(hex(b.onionServiceSeed)).toBe(hex(a.onionServiceSeed))
  expect(hex(b.clientAuth.privateKey)).toBe(hex(a.clientAuth.privateKey))
}

function withChecksum(body: Uint8Array): Uint8Array {
  const out = body.slice()
  out.set(createHash('sha256').update(out.subarray(0, out.length - 32)).digest(), out.length - 32)
  return out
}

describe('plain keystore', () => {
  it('round-trips, creating the folder 0700 and the file 0600, leaving no temporary file', async () => {
    const dataDir = join(root, 'a', 'node')
    const created = await initKeystore(dataDir)
    expect(await keystoreExists(dataDir)).toBe(true)
    expect(await keystoreIsSealed(dataDir)).toBe(false)
    sameNode(created, await openKeystore(dataDir))
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700)
    expect((await stat(keystorePath(dataDir))).mode & 0o777).toBe(0o600)
    expect(await readdir(dataDir)).toEqual([KEYSTORE_FILE_NAME])
  })

  it('tightens an existing data folder to 0700', async () => {
    const dataDir = join(root, 'loose')
    await mkdir(dataDir, { mode: 0o755 })
    await chmod(dataDir, 0o755)
    await initKeystore(dataDir)
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700)
  })

  it('ignores a passphrase given for a plain keystore', async () => {
    const created = await initKeystore(root)
    sameNode(created, await openKeystore(root, { passphrase: 'unused' }))
  })

  it('creates a different identity for every new keystore', async () => {
    const a = await initKeystore(join(root, 'a'))
    const b = await initKeystore(join(root, 'b'))
    expect(hex(a.identity.publicKey)).not.toBe(hex(b.identity.publicKey))
  })
})

describe('what a crash leaves', () => {
  it('opening a node removes an uncommitted staged keystore and the temporary files of cut-short writes, and nothing else', async () => {
    const dataDir = join(root, 'node')
    const created = await initKeystore(dataDir)
    const left = ['node.key.next', '.node.key.next.0e324a8965d82173.tmp', '.node.key.a1b2c3d4e5f60718.tmp']
    for (const name of left) await writeFile(join(dataDir, name), 'stale', { mode: 0o600 })
    await writeFile(join(dataDir, 'burrow.db.tmp-not-ours'), 'x')
    sameNode(created, (await unlockKeystore(dataDir)).keys)
    expect((await readdir(dataDir)).sort()).toEqual(['burrow.db.tmp-not-ours', KEYSTORE_FILE_NAME])
  })
})

describe('sealed keystore', () => {
  it('round-trips with the passphrase; the file does not contain any secret in the clear', async () => {
    const created = await initKeystore(root, { passphrase: PASSPHRASE })
    expect(await keystoreIsSealed(root)).toBe(true)
    sameNode(created, await openKeystore(root, { passphrase: PASSPHRASE }))
    expect((await stat(keystorePath(root))).mode & 0o777).toBe(0o600)
    const file = hex(await readFile(keystorePath(root)))
    for (const secret of [created.identity.seed, created.onionServiceSeed, created.clientAuth.privateKey]) {
      expect(file).not.toContain(hex(secret.subarray(0, 8)))
    }
    expect(file).not.toContain(Buffer.from(PASSPHRASE).toString('hex'))
  })

  it('refuses a wrong passphrase with KEYSTORE_WRONG_PASSPHRASE and a missing one with KEYSTORE_PASSPHRASE_REQUIRED', async () => {
    await initKeystore(root, { passphrase: PASSPHRASE })
    const wrong = await rejection(openKeystore(root, { passphrase: 'Correct horse battery staple' }))
    expect(wrong.code).toBe('KEYSTORE_WRONG_PASSPHRASE')
    expect(wrong.message).not.toContain('horse')
    expect((await rejection(openKeystore(root))).code).toBe('KEYSTORE_PASSPHRASE_REQUIRED')
  })

  it('normalises the passphrase to NFC', async () => {
    const composed = 'caf\u00e9 cr\u00e8me'
    const decomposed = composed.normalize('NFD')
    expect(decomposed).not.toBe(composed)
    const created = await initKeystore(root, { passphrase: composed })
    sameNode(created, await openKeystore(root, { passphrase: decomposed }))
  })

  it('refuses an empty passphrase and writes nothing', async () => {
    expect((await rejection(initKeystore(root, { passphrase: '' }))).code).toBe('KEYSTORE_PASSPHRASE_INVALID')
    expect(await keystoreExists(root)).toBe(false)
  })

  it('the sealed format never holds the master seed in the clear', async () => {
    const seed = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i)
    const sealed = await encodeSealedKeystore(seed, PASSPHRASE, FAST_SCRYPT)
    for (let at = 0; at + 4 <= seed.length; at += 4) expect(hex(sealed)).not.toContain(hex(seed.subarray(at, at + 4)))
    expect(hex(await readKeystoreSeed(sealed, PASSPHRASE))).toBe(hex(seed))
    // Fresh salt and nonce each time.
    expect(hex(await encodeSealedKeystore(seed, PASSPHRASE, FAST_SCRYPT))).not.toBe(hex(sealed))
  })

  it('authenticates the header: a changed scrypt parameter with a repaired checksum reads as a wrong passphrase', async () => {
    const seed = new Uint8Array(32).fill(7)
    const sealed = await encodeSealedKeystore(seed, PASSPHRASE, FAST_SCRYPT)
    const tampered = sealed.slice()
    tampered[11] = 4 // r: 8 -> 4
    const err = await rejection(readKeystoreSeed(withChecksum(tampered), PASSPHRASE))
    expect(err.code).toBe('KEYSTORE_WRONG_PASSPHRASE')
  })

  it('refuses scrypt parameters that would cost too much memory, before running scrypt', async () => {
    const sealed = await encodeSealedKeystore(new Uint8Array(32), PASSPHRASE, FAST_SCRYPT)
    const greedy = sealed.slice()
    greedy[10] = 30 // N = 2^30
    const err = await rejection(readKeystoreSeed(withChecksum(greedy), PASSPHRASE))
    expect(err.code).toBe('KEYSTORE_CORRUPT')
    expect((await rejection(encodeSealedKeystore(new Uint8Array(32), PASSPHRASE, { logN: 30, r: 8, p: 1 }))).code).toBe(
      'KEYSTORE_PARAMS_INVALID',
    )
  })
})

describe('corrupted keystore', () => {
  it('every flipped byte of a plain file is KEYSTORE_CORRUPT', async () => {
    await initKeystore(root)
    const original = await readFile(keystorePath(root))
    for (let i = 0; i < original.length; i++) {
      const damaged = Buffer.from(original)
      damaged[i] = (damaged[i] ?? 0) ^ 0x01
      await writeFile(keystorePath(root), damaged)
      const err = await rejection(openKeystore(root))
      expect(err.code, `byte ${i}`).toBe('KEYSTORE_CORRUPT')
    }
  })

  it('every flipped byte of a sealed file is KEYSTORE_CORRUPT (not a wrong passphrase)', async () => {
    await initKeystore(root, { passphrase: PASSPHRASE })
    const original = await readFile(keystorePath(root))
    for (let i = 0; i < original.length; i++) {
      const damaged = Buffer.from(original)
      damaged[i] = (damaged[i] ?? 0) ^ 0x80
      await writeFile(keystorePath(root), damaged)
      const err = await rejection(openKeystore(root, { passphrase: PASSPHRASE }))
      expect(err.code, `byte ${i}`).toBe('KEYSTORE_CORRUPT')
    }
  })

  it('truncated, extended, empty, oversized and foreign files are KEYSTORE_CORRUPT', async () => {
    await initKeystore(root)
    const original = await readFile(keystorePath(root))
    const variants = [
      original.subarray(0, original.length - 1),
      Buffer.concat([original, Buffer.of(0)]),
      Buffer.alloc(0),
      Buffer.alloc(10_000, 1),
      Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\n'),
    ]
    for (const content of variants) {
      await writeFile(keystorePath(root), content)
      expect((await rejection(openKeystore(root))).code).toBe('KEYSTORE_CORRUPT')
      expect((await rejection(keystoreIsSealed(root))).code).toBe('KEYSTORE_CORRUPT')
    }
  })

  it('an unknown format version or kind is KEYSTORE_CORRUPT even with a valid checksum', () => {
    const plain = encodePlainKeystore(new Uint8Array(32))
    for (const [offset, value] of [[8, 2], [9, 7]] as const) {
      const changed = plain.slice()
      changed[offset] = value
      expect(() => parseKeystore(withChecksum(changed))).toThrow(expect.objectContaining({ code: 'KEYSTORE_CORRUPT' }))
    }
  })
})

describe('keystore safety checks', () => {
  it('refuses to overwrite an existing keystore and leaves it untouched', async () => {
    await initKeystore(root)
    const before = await readFile(keystorePath(root))
    expect((await rejection(initKeystore(root))).code).toBe('KEYSTORE_EXISTS')
    expect((await rejection(initKeystore(root, { passphrase: PASSPHRASE }))).code).toBe('KEYSTORE_EXISTS')
    expect(hex(await readFile(keystorePath(root)))).toBe(hex(before))
    expect(await readdir(root)).toEqual([KEYSTORE_FILE_NAME])
  })

  it('of two concurrent inits exactly one wins', async () => {
    const results = await Promise.allSettled([initKeystore(root), initKeystore(root), initKeystore(root)])
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('KEYSTORE_EXISTS')
    }
    const winner = (won[0] as PromiseFulfilledResult<NodeKeys>).value
    sameNode(winner, await openKeystore(root))
    expect(await readdir(root)).toEqual([KEYSTORE_FILE_NAME])
  })

  it('refuses a keystore readable by group or others, telling the user to chmod 600', async () => {
    const created = await initKeystore(root)
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await chmod(keystorePath(root), mode)
      const err = await rejection(openKeystore(root))
      expect(err.code).toBe('KEYSTORE_PERMISSIONS')
      expect(err.message).toContain('chmod 600')
      expect((await rejection(keystoreIsSealed(root))).code).toBe('KEYSTORE_PERMISSIONS')
    }
    // Refused, not silently fixed.
    expect((await stat(keystorePath(root))).mode & 0o777).toBe(0o620)
    await chmod(keystorePath(root), 0o600)
    sameNode(created, await openKeystore(root))
  })

  it('refuses a keystore path that is not a regular file', async () => {
    await mkdir(keystorePath(root))
    expect((await rejection(openKeystore(root))).code).toBe('KEYSTORE_PERMISSIONS')
  })

  it('reports a missing keystore as KEYSTORE_NOT_FOUND', async () => {
    expect(await keystoreExists(root)).toBe(false)
    expect((await rejection(openKeystore(root))).code).toBe('KEYSTORE_NOT_FOUND')
    expect((await rejection(keystoreIsSealed(join(root, 'nowhere')))).code).toBe('KEYSTORE_NOT_FOUND')
  })
})
