import { createApplicationMessage, createProposal, decodeGroupState, defaultAuthenticationService, encodeMlsMessage } from 'ts-mls'
import { describe, expect, it } from 'vitest'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { encodePrivateMessage } from '../../src/group/mls/messages.js'
import { hex, mlsErrorOf, say, text, threeMembers } from './mls-helpers.js'

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
