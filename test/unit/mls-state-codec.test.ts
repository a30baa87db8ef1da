// Burrow's encoding of an MLS group state (group/mls/state-codec.ts) keeps
// each ratchet-tree node's encoding while the node lives. It must stay byte
// for byte ts-mls's own encodeGroupState, for states that share nodes with
// states encoded before (a commit's new state, the retained past epochs),
// through adds, removals, updates, key rotations and messages.
import { decodeGroupState as tsMlsDecodeGroupState, encodeGroupState as tsMlsEncodeGroupState, type GroupState } from 'ts-mls'
import { describe, expect, it, vi } from 'vitest'
import { decodeStoredGroup, encodeGroupState, type StoredGroup } from '../../src/group/mls/state-codec.js'
import { MlsGroup } from '../../src/group/mls/index.js'
import { addMember, newIdentity, say, threeMembers } from './mls-helpers.js'

const withoutKey = (state: GroupState): GroupState => ({ ...state, signaturePrivateKey: new Uint8Array(0) })

/** Every state MlsGroup.encodeState handed to the codec, with what Burrow's encoding and ts-mls's made of it then. */
const encoded: { state: GroupState; ours: Uint8Array; theirs: Uint8Array; stored: Uint8Array }[] = []

vi.mock('../../src/group/mls/state-codec.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/group/mls/state-codec.js')>()
  return {
    ...original,
    encodeStoredGroup: (stored: StoredGroup) => {
      const bytes = original.encodeStoredGroup(stored)
      encoded.push({ state: stored.state, ours: original.encodeGroupState(withoutKey(stored.state)), theirs: tsMlsEncodeGroupState(withoutKey(stored.state)), stored: bytes })
      return bytes
    },
  }
})

describe('the MLS group state encoding', () => {
  it('is byte for byte ts-mls’s encodeGroupState after every step of a group’s life', async () => {
    let { ids, roster, alice, bob, carol } = await threeMembers()
    const snapshot = (...groups: MlsGroup[]): void => void groups.forEach((g) => g.encodeState())
    snapshot(alice, bob, carol)
    for (let round = 0; round < 3; round++) {
      ;[alice, bob] = await say(alice, bob, `hello ${round}`)
      ;[bob, carol] = await say(bob, carol, `hi ${round}`)
      snapshot(alice, bob, carol)
      const rotated = await alice.commitPending()
      alice = rotated.group
      bob = (await bob.process(rotated.commit)).group
      carol = (await carol.process(rotated.commit)).group
      snapshot(alice, bob, carol)
    }
    const update = await bob.proposeUpdate()
    bob = update.group
    alice = (await alice.process(update.proposal)).group
    carol = (await carol.process(update.proposal)).group
    const committed = await alice.commitPending()
    alice = committed.group
    bob = (await bob.process(committed.commit)).group
    carol = (await carol.process(committed.commit)).group
    snapshot(alice, bob, carol)
    const dave = newIdentity()
    roster.add(dave)
    const withDave = await addMember(alice, dave, roster.roster)
    alice = withDave.owner
    bob = (await bob.process(withDave.commit)).group
    snapshot(alice, bob, withDave.joined)
    roster.remove(ids.carol)
    const removed = await alice.removeMembers([ids.carol.publicKey])
    alice = removed.group
    bob = (await bob.process(removed.commit)).group
    snapshot(alice, bob)
    // And once more for each, now that every node of theirs has been encoded before.
    snapshot(alice, bob, withDave.joined)

    expect(encoded.length).toBeGreaterThan(30)
    for (const { state, ours, theirs } of encoded) {
      expect(ours).toEqual(theirs)
      // Nothing of a state changed since (a changed node would have kept its old encoding).
      expect(encodeGroupState(withoutKey(state))).toEqual(theirs)
    }
  })

  it('decodes as ts-mls’s decodeGroupState does, and a decoded state encodes back to the same bytes', () => {
    expect(encoded.length).toBeGreaterThan(30)
    for (const { theirs, stored } of encoded) {
      const decoded = decodeStoredGroup(stored).state
      expect(decoded).toEqual(tsMlsDecodeGroupState(theirs, 0)![0])
      expect(encodeGroupState(decoded)).toEqual(theirs)
    }
  })
})
