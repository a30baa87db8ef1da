import { describe, expect, it } from 'vitest'
import { createGroup, createKeyPackage, joinFromWelcome } from '../../src/group/mls/index.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { hex, mlsErrorOf, newIdentity, rosterOf, text } from './mls-helpers.js'

/** The leaf node of a key package, where its lifetime is. */
function leafOf(publicPackage: Uint8Array): { lifetime: { notBefore: bigint; notAfter: bigint } } {
  const { leafNode } = decodeKeyPackage(publicPackage)
  if (leafNode.leafNodeSource !== 'key_package') throw new Error('not a key package leaf')
  return leafNode
}

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

  it('its lifetime is whole UTC days from the day before it was made: it does not tell the second it was made', async () => {
    const id = newIdentity()
    const day = 24 * 3600
    const midnight = Date.UTC(2026, 11, 14) // 14 December 2026, 00:00 UTC
    const lifetimes = []
    for (const offset of [0, 1, 3_599_999, 86_399_999]) {
      const { lifetime } = leafOf((await createKeyPackage(id, new Date(midnight + offset))).publicPackage)
      lifetimes.push({ notBefore: lifetime.notBefore, notAfter: lifetime.notAfter })
    }
    const expected = { notBefore: BigInt(midnight / 1000 - day), notAfter: BigInt(midnight / 1000 - day + 28 * day) }
    expect(lifetimes).toEqual([expected, expected, expected, expected])
    const nextDay = leafOf((await createKeyPackage(id, new Date(midnight + day * 1000))).publicPackage).lifetime
    expect(nextDay.notBefore - expected.notBefore).toBe(BigInt(day))
  })

  it('a package is accepted by an owner whose clock is 23 hours behind, and 26 days after it was made', async () => {
    const alice = newIdentity()
    const bob = newIdentity()
    const roster = rosterOf(alice, bob)
    const group = await createGroup(text('g'), alice, roster.roster)
    const fresh = await createKeyPackage(bob, new Date(Date.now() + 23 * 3_600_000))
    expect((await group.addMembers([fresh.publicPackage])).group.members()).toHaveLength(2)
    const madeLongAgo = await createKeyPackage(bob, new Date(Date.now() - 26 * 86_400_000))
    expect((await group.addMembers([madeLongAgo.publicPackage])).group.members()).toHaveLength(2)
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
