import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { MlsGroup } from '../../src/group/mls/index.js'
import { hex, str, text, threeMembers } from './mls-helpers.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'burrow-mls-restart-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// The child restores Bob from bytes alone, decrypts one message, answers, and
// hands back its new state: a real process boundary, no shared memory.
const CHILD = `
import { readFileSync, writeFileSync } from 'node:fs'
import { MlsGroup } from ${JSON.stringify(resolve('src/group/mls/index.ts'))}
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'))
const hex = (b) => Buffer.from(b).toString('hex')
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const identity = { seed: bytes(input.seed), publicKey: bytes(input.publicKey) }
const group = MlsGroup.decodeState(bytes(input.state), identity, (k) => input.roster.includes(hex(k)))
const got = await group.process(bytes(input.message))
const plaintext = new TextDecoder().decode(got.plaintext)
const reply = await got.group.encrypt(new TextEncoder().encode('pong: ' + plaintext))
writeFileSync(process.argv[3], JSON.stringify({ plaintext, epoch: String(reply.group.epoch), state: hex(reply.group.encodeState()), reply: hex(reply.message) }))
`

describe('MLS state across a process restart', () => {
  it('a child process restores the state, decrypts, replies; the parent continues with the returned state', async () => {
    let { ids, roster, alice, bob } = await threeMembers()
    const ping = await alice.encrypt(text('ping'))
    alice = ping.group
    const script = join(dir, 'child.mts')
    const inPath = join(dir, 'in.json')
    const outPath = join(dir, 'out.json')
    writeFileSync(script, CHILD)
    writeFileSync(
      inPath,
      JSON.stringify({
        seed: hex(ids.bob.seed),
        publicKey: hex(ids.bob.publicKey),
        roster: [ids.alice, ids.bob, ids.carol].map((i) => hex(i.publicKey)),
        state: hex(bob.encodeState()),
        message: hex(ping.message),
      }),
      { mode: 0o600 },
    )
    await run(process.execPath, ['--import', 'tsx', script, inPath, outPath], { cwd: process.cwd(), timeout: 60_000 })
    const out = JSON.parse(readFileSync(outPath, 'utf8')) as { plaintext: string; epoch: string; state: string; reply: string }
    expect(out.plaintext).toBe('ping')
    expect(out.epoch).toBe('2')

    const pong = await alice.process(new Uint8Array(Buffer.from(out.reply, 'hex')))
    expect(pong.kind === 'application' && str(pong.plaintext)).toBe('pong: ping')
    bob = MlsGroup.decodeState(new Uint8Array(Buffer.from(out.state, 'hex')), ids.bob, roster.roster)
    // The restored state has consumed the ping's key and keeps going.
    await expect(bob.process(ping.message)).rejects.toMatchObject({ code: 'MLS_DECRYPT_FAILED' })
    const next = await pong.group.encrypt(text('after restart'))
    const got = await bob.process(next.message)
    expect(got.kind === 'application' && str(got.plaintext)).toBe('after restart')
  }, 90_000)
})
