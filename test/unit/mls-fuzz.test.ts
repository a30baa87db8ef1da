/**
 * Fuzzing MLS messages with fast-check. A member (Carol) signs and encrypts
 * proposals of every RFC 9420 type, with arbitrary content, and another
 * (Bob) processes them; then every kind of message Burrow exchanges
 * (application messages, proposals, commits, Welcomes, key packages, states)
 * is edited byte by byte. Bob's answers are a proposal summary naming the
 * right type and sender, or an MlsError of MLS_ERRORS; his group is never
 * changed by what he processed (MlsGroup is immutable), and an edited
 * message is never taken for something other than the original.
 */
import { createProposal, decodeGroupState, defaultAuthenticationService, encodeMlsMessage, type ClientState, type KeyPackage } from 'ts-mls'
import { beforeAll, describe, expect, it } from 'vitest'
import { createKeyPackage, MLS_ERRORS, MlsGroup, messageEpoch, type ProcessResult } from '../../src/group/mls/index.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { applyEdits, byteEdits, hexOf } from '../arbitraries/bytes.js'
import { proposalOf, proposalSpec, type ProposalSpec } from '../arbitraries/group.js'
import { fc, fuzz, typedRejectionOf, typedErrorOf } from '../helpers/fuzz.js'
import { newIdentity, text, threeMembers } from './mls-helpers.js'

let members: Awaited<ReturnType<typeof threeMembers>>
/** Carol's ts-mls state with her signing key: she can sign any proposal, as a hostile member would. */
let carolState: ClientState
let keyPackages: KeyPackage[]
/** One sample of every message kind, for editing. */
let samples: { kind: string; bytes: Uint8Array }[]

beforeAll(async () => {
  members = await threeMembers()
  const decoded = decodeGroupState(members.carol.encodeState().subarray(2), 0)
  if (decoded === undefined) throw new Error('state did not decode')
  carolState = { ...decoded[0], signaturePrivateKey: members.ids.carol.seed, clientConfig: clientConfig(defaultAuthenticationService) }
  const packages = await Promise.all([1, 2, 3].map(() => createKeyPackage(newIdentity())))
  keyPackages = packages.map((p) => decodeKeyPackage(p.publicPackage))
  const { alice, carol } = members
  const application = await alice.encrypt(text('a message to edit'))
  const update = await carol.proposeUpdate()
  const leave = await carol.proposeRemoveSelf()
  const invitee = newIdentity()
  members.roster.add(invitee)
  const invitation = await createKeyPackage(invitee)
  const added = await alice.addMembers([invitation.publicPackage])
  samples = [
    { kind: 'application', bytes: application.message },
    { kind: 'update proposal', bytes: update.proposal },
    { kind: 'leave proposal', bytes: leave.proposal },
    { kind: 'commit', bytes: added.commit },
    { kind: 'welcome', bytes: added.welcome },
    { kind: 'key package', bytes: invitation.publicPackage },
  ]
}, 60_000)

/** Carol's proposal for `spec`, as she would write it in her log (a PrivateMessage). */
async function carolProposes(spec: ProposalSpec): Promise<Uint8Array> {
  if (spec.type === 'update') return (await members.carol.proposeUpdate()).proposal
  const { message } = await createProposal(carolState, false, proposalOf(spec, keyPackages), await cipherSuite())
  return encodeMlsMessage(message)
}

const processed = new Map<string, number>()

describe('MLS messages', () => {
  fuzz('mls: proposals of every type', [proposalSpec], { runs: 150, timeoutMs: 60_000 })(
    "are summarised with their type and sender, or refused with an MlsError, and never change the receiver's group",
    async (spec) => {
      const { bob, ids } = members
      const before = hexOf(bob.encodeState())
      const message = await carolProposes(spec)
      let result: ProcessResult | undefined
      const code = await typedRejectionOf(async () => (result = await bob.process(message)), MLS_ERRORS)
      processed.set(`${spec.type}:${code ?? 'processed'}`, (processed.get(`${spec.type}:${code ?? 'processed'}`) ?? 0) + 1)
      if (result !== undefined) {
        expect(result.kind).toBe('proposal')
        if (result.kind !== 'proposal') return
        expect(result.proposal.type).toBe(spec.type)
        expect(hexOf(result.sender)).toBe(hexOf(ids.carol.publicKey))
      }
      expect(hexOf(bob.encodeState())).toBe(before)
    },
  )

  it('processed a proposal of every type', (ctx) => {
    if (processed.size === 0) ctx.skip()
    console.log(`[fuzz] mls: proposal outcomes: ${JSON.stringify(Object.fromEntries(processed))}`)
    for (const type of ['add', 'update', 'remove', 'psk', 'reinit', 'external_init', 'group_context_extensions', 'custom']) {
      expect([...processed.keys()].some((k) => k.startsWith(`${type}:`)), type).toBe(true)
    }
  })

  fuzz('mls: messages edited', [fc.nat(), byteEdits(4)], { runs: 600, timeoutMs: 60_000 })(
    'are refused with an MlsError, leave the group as it was, and are never taken for something else',
    async (which, edits) => {
      const { bob } = members
      const sample = samples[which % samples.length]!
      const edited = applyEdits(sample.bytes, edits)
      const before = hexOf(bob.encodeState())
      typedErrorOf(() => messageEpoch(edited), MLS_ERRORS)
      let result: ProcessResult | undefined
      await typedRejectionOf(async () => (result = await bob.process(edited)), MLS_ERRORS)
      if (result !== undefined) {
        // Only what the original message says may come out of an edited one.
        const original = await bob.process(sample.bytes)
        expect(result.kind).toBe(original.kind)
        if (result.kind === 'application' && original.kind === 'application') expect(hexOf(result.plaintext)).toBe(hexOf(original.plaintext))
        expect(hexOf(result.sender)).toBe(hexOf(original.sender))
      }
      expect(hexOf(bob.encodeState())).toBe(before)
    },
  )

  fuzz('mls: states edited', [byteEdits(3)], { runs: 200, timeoutMs: 60_000 })('restore from edited state bytes only as an MlsGroup or an MlsError', (edits) => {
    const { bob, ids, roster } = members
    const edited = applyEdits(bob.encodeState(), edits)
    let restored: MlsGroup | undefined
    typedErrorOf(() => (restored = MlsGroup.decodeState(edited, ids.bob, roster.roster)), MLS_ERRORS)
    if (restored !== undefined) expect(restored.epoch).toBeTypeOf('bigint')
  })
})
