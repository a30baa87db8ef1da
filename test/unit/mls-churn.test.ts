/**
 * Honest churn at the MLS layer: the owner invites, removes and rotates, and
 * members rotate their keys, in a seeded random order; every invitee must
 * join from its Welcome and read the owner's last message. ts-mls 1.6.4 refused
 * some honest Welcomes once unmerged leaves built up (tree-check.ts,
 * `unmergedListsDiffer`); the owner now rotates first when an add would
 * build such a tree.
 */
import { describe, expect, it } from 'vitest'
import { createGroup, createKeyPackage, joinFromWelcome, type MlsGroup, type MlsIdentity } from '../../src/group/mls/index.js'
import { prng } from '../helpers/prng.js'
import { newIdentity, rosterOf, str, text } from './mls-helpers.js'

interface Joined {
  readonly id: MlsIdentity
  group: MlsGroup
}

/** Applies the owner's handshake messages, in order, at every member. */
async function deliver(members: readonly Joined[], messages: readonly Uint8Array[]): Promise<void> {
  for (const m of members) for (const message of messages) m.group = (await m.group.process(message)).group
}

async function churn(seed: number, steps: number): Promise<{ joins: number; rotationsForAdds: number }> {
  const random = prng(seed)
  const pick = (n: number): number => Math.floor(random() * n)
  const ownerId = newIdentity()
  const roster = rosterOf(ownerId)
  let owner = await createGroup(text(`churn-${seed}`), ownerId, roster.roster)
  const members: Joined[] = []
  let joins = 0
  let rotationsForAdds = 0
  for (let step = 0; step < steps; step++) {
    const r = pick(10)
    if (r < 5 || members.length < 2) {
      const id = newIdentity()
      roster.add(id)
      const kp = await createKeyPackage(id)
      const added = await owner.addMembers([kp.publicPackage])
      owner = added.group
      if (added.rotation !== undefined) rotationsForAdds++
      await deliver(members, added.rotation === undefined ? [added.commit] : [added.rotation, added.commit])
      members.push({ id, group: await joinFromWelcome(added.welcome, kp, id, roster.roster) })
      joins++
    } else if (r < 7) {
      const [gone] = members.splice(pick(members.length), 1)
      const removed = await owner.removeMembers([gone!.id.publicKey])
      owner = removed.group
      await deliver(members, [removed.commit])
    } else if (r < 8) {
      const rotated = await owner.commitPending()
      owner = rotated.group
      await deliver(members, [rotated.commit])
    } else {
      const m = members[pick(members.length)]!
      const proposed = await m.group.proposeUpdate()
      m.group = proposed.group
      owner = (await owner.process(proposed.proposal)).group
      const committed = await owner.commitPending()
      owner = committed.group
      // The commit refers to the proposal: the others need it first.
      await deliver(members.filter((other) => other !== m), [proposed.proposal])
      await deliver(members, [committed.commit])
    }
  }
  const sent = await owner.encrypt(text(`after ${steps} steps`))
  for (const m of members) {
    const got = await m.group.process(sent.message)
    expect(got.kind === 'application' && str(got.plaintext)).toBe(`after ${steps} steps`)
  }
  return { joins, rotationsForAdds }
}

describe('honest churn', () => {
  it('every invitee joins and reads the owner, whatever the order of invites, removals and rotations', async () => {
    let rotationsForAdds = 0
    // Seeds whose 40 steps reach such trees (2 and 6 of the first six do).
    for (const seed of [2, 6]) {
      const run = await churn(seed, 40)
      expect(run.joins).toBeGreaterThan(15)
      rotationsForAdds += run.rotationsForAdds
    }
    // The runs reach the trees ts-mls refuses: without the rotations some joins fail.
    expect(rotationsForAdds).toBeGreaterThan(0)
  }, 60_000)
})
