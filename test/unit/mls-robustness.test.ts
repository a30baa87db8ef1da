import { randomBytes } from 'node:crypto'
import { createApplicationMessage, createProposal, decodeGroupState, defaultAuthenticationService, encodeMlsMessage } from 'ts-mls'
import { describe, expect, it } from 'vitest'
import { MlsError, MlsGroup, messageEpoch } from '../../src/group/mls/index.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { encodePrivateMessage } from '../../src/group/mls/messages.js'
import { hex, mlsErrorOf, say, text, threeMembers } from './mls-helpers.js'
import { prng } from '../helpers/prng.js'

/** Flips one bit at `i`. */
function flip(bytes: Uint8Array, i: number, mask = 0x01): Uint8Array {
  const out = bytes.slice()
  out[i] = (out[i] ?? 0) ^ mask
  return out
}


describe('MLS robustness: tampering', () => {
  it('every single-bit flip of an application message is a typed error, and the group stays usable', async () => {
    const { alice, bob } = await threeMembers()
    const sent = await alice.encrypt(text('tamper with me'))
    const before = hex(bob.encodeState())
    const codes = new Set<string>()
    for (let i = 0; i < sent.message.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const err = await mlsErrorOf(() => bob.process(flip(sent.message, i, mask)))
        expect(err.message).not.toContain('tamper')
        codes.add(err.code)
      }
    }
    // Framing, sender data and ciphertext flips fail in different layers.
    expect(codes).toContain('MLS_DECRYPT_FAILED')
    expect(codes.size).toBeGreaterThan(1)
    expect(hex(bob.encodeState())).toBe(before)
    const ok = await bob.process(sent.message)
    expect(ok.kind).toBe('application')
  })

  it('bit flips across a commit are typed errors; the untouched commit then applies', async () => {
    let { alice, bob, carol } = await threeMembers()
    const commit = await alice.commitPending()
    alice = commit.group
    const step = Math.max(1, Math.floor(commit.commit.length / 300))
    for (let i = 0; i < commit.commit.length; i += step) {
      await mlsErrorOf(() => bob.process(flip(commit.commit, i)))
    }
    bob = (await bob.process(commit.commit)).group
    carol = (await carol.process(commit.commit)).group
    ;[bob, carol] = await say(bob, carol, 'commit survived the abuse')
    await say(alice, bob, 'and the owner too')
  })

  it('a member impersonating another member (sender data names Alice, Carol signs) is rejected', async () => {
    const { ids, alice, bob, carol } = await threeMembers()
    const cs = await cipherSuite()
    // Carol's own state, with her sender index swapped for Alice's: she knows
    // every leaf's ratchet secrets, but cannot sign as Alice.
    const decoded = decodeGroupState(carol.encodeState().subarray(2), 0)
    if (decoded === undefined) throw new Error('state did not decode')
    const aliceLeaf = 0
    const forged = {
      ...decoded[0],
      privatePath: { ...decoded[0].privatePath, leafIndex: aliceLeaf },
      signaturePrivateKey: ids.carol.seed,
      clientConfig: clientConfig(defaultAuthenticationService),
    }
    const app = await createApplicationMessage(forged, text('I am Alice'), cs)
    const appErr = await mlsErrorOf(() => bob.process(encodePrivateMessage(app.privateMessage)))
    expect(appErr).toMatchObject({ code: 'MLS_REJECTED' })
    const removeBob = await createProposal(forged, false, { proposalType: 'remove', remove: { removed: 1 } }, cs)
    const propErr = await mlsErrorOf(() => bob.process(encodeMlsMessage(removeBob.message)))
    expect(propErr).toMatchObject({ code: 'MLS_REJECTED' })
    await say(alice, bob, 'Bob is still in')
  })
})

describe('MLS robustness: fuzz', () => {
  it('process and messageEpoch throw only typed errors on 2,400 random and mutated inputs', async () => {
    let { alice, bob } = await threeMembers()
    const samples: Uint8Array[] = []
    for (const m of ['short', 'x'.repeat(300), 'y'.repeat(2000)]) {
      const sent = await alice.encrypt(text(m))
      alice = sent.group
      samples.push(sent.message)
    }
    const proposal = await alice.proposeUpdate()
    samples.push(proposal.proposal)
    samples.push((await alice.commitPending()).commit)
    samples.push((await alice.exportSecret('x', text(''), 32)))

    const rand = prng(0xb0a0)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
    const mutate = (input: Uint8Array): Uint8Array => {
      const bytes = input.slice()
      switch (Math.floor(rand() * 6)) {
        case 0: // random bytes of random length
          return new Uint8Array(randomBytes(Math.floor(rand() * 700)))
        case 1: // truncate
          return bytes.subarray(0, Math.floor(rand() * bytes.length))
        case 2: // extend
          return new Uint8Array([...bytes, ...randomBytes(1 + Math.floor(rand() * 16))])
        case 3: // overwrite a few bytes
          for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256)
          return bytes
        case 4: // keep the 16-byte framing, randomize the rest
          return new Uint8Array([...bytes.subarray(0, 16), ...randomBytes(Math.max(0, bytes.length - 16))])
        default: // splice two messages
          return new Uint8Array([...bytes.subarray(0, Math.floor(rand() * bytes.length)), ...pick(samples).subarray(Math.floor(rand() * 50))])
      }
    }

    const changed = (input: Uint8Array): Uint8Array => {
      const out = mutate(input)
      return hex(out) === hex(input) ? flip(out, 0) : out
    }
    const before = hex(bob.encodeState())
    let processed = 0
    let framingRead = 0
    for (let n = 0; n < 2400; n++) {
      const input = changed(pick(samples))
      try {
        messageEpoch(input)
        framingRead++
      } catch (err) {
        expect(err).toBeInstanceOf(MlsError)
      }
      try {
        await bob.process(input)
        processed++
      } catch (err) {
        expect(err, `input ${Buffer.from(input).toString('hex').slice(0, 80)}`).toBeInstanceOf(MlsError)
      }
    }
    expect(processed).toBe(0)
    expect(framingRead).toBeGreaterThan(0) // some mutations keep a readable framing and reach the crypto
    expect(hex(bob.encodeState())).toBe(before)
    await say(alice, bob, 'fuzzed, still fine')
  })

  it('decodeState and messageEpoch reject garbage with MlsError only', async () => {
    const { ids, bob } = await threeMembers()
    const state = bob.encodeState()
    const rand = prng(7)
    for (let n = 0; n < 300; n++) {
      const bytes = state.slice(0, Math.floor(rand() * state.length))
      await mlsErrorOf(() => MlsGroup.decodeState(bytes, ids.bob, () => true))
    }
    for (const bad of [new Uint8Array(0), new Uint8Array([0, 1]), randomBytes(64)]) {
      await mlsErrorOf(() => messageEpoch(new Uint8Array(bad)))
      await mlsErrorOf(() => MlsGroup.decodeState(new Uint8Array(bad), ids.bob, () => true))
    }
  })
})
