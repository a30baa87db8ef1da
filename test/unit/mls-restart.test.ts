import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { MlsGroup, type ProcessResult, type RatchetStep } from '../../src/group/mls/index.js'
import { hex, mlsErrorOf, str, text, threeMembers } from './mls-helpers.js'

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

/** The latest step per epoch and leaf, as the group store keeps them. */
class Steps {
  readonly #latest = new Map<string, RatchetStep>()
  add(step: RatchetStep): void {
    this.#latest.set(`${step.epoch}:${step.leafIndex}`, step)
  }
  get list(): RatchetStep[] {
    return [...this.#latest.values()]
  }
}

function application(result: ProcessResult): Extract<ProcessResult, { kind: 'application' }> {
  if (result.kind !== 'application') throw new Error(`expected an application message, got ${result.kind}`)
  return result
}

describe('MLS state restored from a stored state and the ratchet steps since', () => {
  it('equals the live state after messages sent, received in and out of order, and received late from a past epoch', async () => {
    let { ids, roster, alice, bob } = await threeMembers()
    const storedAlice = alice.encodeState()
    const storedBob = bob.encodeState()
    const aliceSteps = new Steps()
    const bobSteps = new Steps()
    const sent = []
    for (let i = 0; i < 3; i++) {
      const out = await alice.encrypt(text(`m${i}`))
      alice = out.group
      aliceSteps.add(out.step)
      sent.push(out.message)
    }
    for (const message of [sent[0]!, sent[2]!]) {
      const got = application(await bob.process(message))
      bob = got.group
      bobSteps.add(got.step)
    }
    const reply = await bob.encrypt(text('reply'))
    bob = reply.group
    bobSteps.add(reply.step)
    expect(hex(MlsGroup.decodeState(storedAlice, ids.alice, roster.roster, aliceSteps.list).encodeState())).toBe(hex(alice.encodeState()))
    expect(hex(MlsGroup.decodeState(storedBob, ids.bob, roster.roster, bobSteps.list).encodeState())).toBe(hex(bob.encodeState()))

    // The skipped message, out of order: its kept key is used and gone from what is restored.
    const skipped = application(await bob.process(sent[1]!))
    bob = skipped.group
    bobSteps.add(skipped.step)
    const restored = MlsGroup.decodeState(storedBob, ids.bob, roster.roster, bobSteps.list)
    expect(hex(restored.encodeState())).toBe(hex(bob.encodeState()))
    for (const message of sent) expect((await mlsErrorOf(() => restored.process(message))).code).toBe('MLS_DECRYPT_FAILED')

    // A message of the previous epoch read after the commit moves that epoch's retained ratchet.
    const late = await alice.encrypt(text('late'))
    const rotated = await late.group.commitPending()
    bob = (await bob.process(rotated.commit)).group
    const storedAfterCommit = bob.encodeState()
    const got = application(await bob.process(late.message))
    expect(got.step.epoch).toBe(bob.epoch - 1n)
    const restoredLate = MlsGroup.decodeState(storedAfterCommit, ids.bob, roster.roster, [got.step])
    expect(hex(restoredLate.encodeState())).toBe(hex(got.group.encodeState()))
    expect((await mlsErrorOf(() => restoredLate.process(late.message))).code).toBe('MLS_DECRYPT_FAILED')
  }, 60_000)

  it('refuses a step for an epoch or leaf the state lacks, a step behind the state, and malformed bytes', async () => {
    const { ids, roster, alice } = await threeMembers()
    const { step, group } = await alice.encrypt(text('x'))
    const stored = alice.encodeState()
    const malformed = async (steps: RatchetStep[], bytes = stored): Promise<string> =>
      (await mlsErrorOf(() => MlsGroup.decodeState(bytes, ids.alice, roster.roster, steps))).code
    expect(await malformed([{ ...step, epoch: step.epoch + 5n }])).toBe('MLS_MALFORMED')
    expect(await malformed([{ ...step, leafIndex: 1000 }])).toBe('MLS_MALFORMED')
    expect(await malformed([{ ...step, ratchet: step.ratchet.subarray(1) }])).toBe('MLS_MALFORMED')
    expect(await malformed([{ ...step, ratchet: new Uint8Array([...step.ratchet, 0]) }])).toBe('MLS_MALFORMED')
    // The step of the first message applied over the state after the second: ratchets never go back.
    const second = await group.encrypt(text('y'))
    expect(await malformed([step], second.group.encodeState())).toBe('MLS_MALFORMED')
  }, 60_000)
})
