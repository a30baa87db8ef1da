import { describe, expect, it } from 'vitest'
import { createGroup, createKeyPackage, joinFromWelcome } from '../../src/group/mls/index.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { hex, mlsErrorOf, newIdentity, rosterOf, text } from './mls-helpers.js'

describe('MLS key packages', () => {
  it('binds the credential and the signature key to the identity key; the private half holds no seed', async () => {
    const id = newIdentity()
    const kp = await createKeyPackage(id)
    const decoded = decodeKeyPackage(kp.publicPackage)
    expect(decoded.cipherSuite).toBe('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519')
    expect(decoded.leafNode.credential.credentialType).toBe('basic')
    if (decoded.leafNode.credential.credentialType === 'basic') expect(hex(decoded.leafNode.credential.identity)).toBe(hex(id.publicKey))
    expect(hex(decoded.leafNode.signaturePublicKey)).toBe(hex(id.publicKey))
    expect(kp.privatePackage.length).toBe(65)
    expect(hex(kp.privatePackage)).not.toContain(hex(id.seed))
  })

  it('a welcome joined with someone else\'s identity, or with a mangled private package, fails typed', async () => {
    const alice = newIdentity()
    const bob = newIdentity()
    const roster = rosterOf(alice, bob)
    const group = await createGroup(text('g'), alice, roster.roster)
    const kp = await createKeyPackage(bob)
    const added = await group.addMembers([kp.publicPackage])
    expect(await mlsErrorOf(() => joinFromWelcome(added.welcome, kp, alice, roster.roster))).toMatchObject({ code: 'MLS_USAGE' })
    const mangled = { ...kp, privatePackage: kp.privatePackage.subarray(0, 10) }
    expect(await mlsErrorOf(() => joinFromWelcome(added.welcome, mangled, bob, roster.roster))).toMatchObject({ code: 'MLS_MALFORMED' })
    expect(await mlsErrorOf(() => joinFromWelcome(kp.publicPackage, kp, bob, roster.roster))).toMatchObject({ code: 'MLS_MALFORMED' })
    const joined = await joinFromWelcome(added.welcome, kp, bob, roster.roster)
    expect(joined.epoch).toBe(1n)
  })

  it('an expired key package cannot be added; garbage is MLS_MALFORMED', async () => {
    const alice = newIdentity()
    const bob = newIdentity()
    const roster = rosterOf(alice, bob)
    const group = await createGroup(text('g'), alice, roster.roster)
    const old = await createKeyPackage(bob, new Date(Date.now() - 60 * 24 * 3600 * 1000))
    expect(await mlsErrorOf(() => group.addMembers([old.publicPackage]))).toMatchObject({ code: 'MLS_REJECTED' })
    expect(await mlsErrorOf(() => group.addMembers([new Uint8Array([0, 1, 0, 5])]))).toMatchObject({ code: 'MLS_MALFORMED' })
  })
})
