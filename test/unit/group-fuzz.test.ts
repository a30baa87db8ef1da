/**
 * Fuzzing what the group layer reads from others, with fast-check: group
 * payloads (from any member's log), what their application messages carry
 * once decrypted (typed bodies: file announcements, retention periods; the
 * owner's group setting), and both sides of `/burrow/keypackage/1`
 * (a request from any allow-listed peer, a response from an invitee).
 * Valid values round-trip; everything else is a GroupError of GROUP_ERRORS
 * (or, for a request, a refusal), and a refused request leaves nothing behind.
 */
import { createProposal, encodeMlsMessage } from 'ts-mls'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import {
  answerKeyPackageRequest,
  decodeGroupPayload,
  decodeKeyPackageRequest,
  decodeKeyPackageResponse,
  encodeGroupPayload,
  encodeKeyPackageRequest,
  GROUP_ERRORS,
  GROUP_ID_LENGTH,
  GROUP_ID_NONCE_LENGTH,
  MAX_BUNDLED_PROPOSALS,
} from '../../src/group/index.js'
import { isGroupIdOf } from '../../src/group/group-id.js'
import { createKeyPackage } from '../../src/group/mls/index.js'
import { RosterAuthService } from '../../src/group/mls/credential.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { decodeCanonical, encodeCanonical } from '../../src/log/cbor.js'
import { bytesEqual, toHex, type ExtensionValue } from '../../src/log/index.js'
import { anyBytes, mutated, opaqueBytes } from '../arbitraries/bytes.js'
import { checkAnnouncement, decodeAppBody, encodeAppBody } from '../../src/group/app-body.js'
import { decodeGroupSetting, encodeGroupSetting } from '../../src/group/setting.js'
import { appBody, groupPayload, inviterKey, nearAppBodyValue, keyPackageMessage, keyPackageRequest, payloadBytes, proposalOf, proposalSpec, type ProposalSpec } from '../arbitraries/group.js'
import { cborText, cborValue } from '../arbitraries/log.js'
import { dataText, expectSameData, fc, fuzz, typedErrorOf, typedRejectionOf } from '../helpers/fuzz.js'
import { appendRaw, deliver, invite, Member, newIdentity, syncAll } from '../helpers/group.js'

const isBody = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length > 0

/** The payload rules of src/group/payload.ts, restated: which decoded values are payloads. */
function isPayload(value: ExtensionValue): boolean {
  if (!Array.isArray(value)) return false
  const [kind, body, bundle] = value as readonly ExtensionValue[]
  if (kind === 1 || kind === 3 || kind === 4 || kind === 5 || kind === 6) return value.length === 2 && isBody(body)
  if (kind === 2) return value.length === 3 && isBody(body) && Array.isArray(bundle) && bundle.length <= MAX_BUNDLED_PROPOSALS && bundle.every(isBody)
  return false
}

describe('group payloads', () => {
  fuzz('group: payloads round trip', [groupPayload], { runs: 2000 })('decode back to what was encoded, canonically', (payload) => {
    const bytes = encodeGroupPayload(payload)
    expectSameData(decodeGroupPayload(bytes), payload)
    expectSameData(decodeCanonical(bytes), decodeCanonical(encodeCanonical(decodeCanonical(bytes))))
  })

  fuzz('group: payloads mutated', [payloadBytes(encodeGroupPayload)], { runs: 5000 })(
    'are decoded exactly when they are the canonical encoding of a payload, else GROUP_MALFORMED_PAYLOAD',
    ({ bytes, value }) => {
      let decoded: ReturnType<typeof decodeGroupPayload> | undefined
      const code = typedErrorOf(() => (decoded = decodeGroupPayload(bytes)), GROUP_ERRORS, ['GROUP_MALFORMED_PAYLOAD'])
      if (decoded !== undefined) expect(Buffer.from(encodeGroupPayload(decoded)).equals(bytes), 'a decoded payload re-encodes to its bytes').toBe(true)
      if (value !== undefined) {
        const canonical = bytesEqual(encodeCanonical(value), bytes)
        if ((code === undefined) !== (canonical && isPayload(value))) expect.fail(`${code ?? 'decoded'} for ${dataText(value)}`)
      }
    },
  )
})

describe('typed bodies and group settings (decrypted application messages)', () => {
  fuzz('group: typed bodies round trip', [appBody], { runs: 2000 })('decode back to what was encoded', (body) => {
    expectSameData(decodeAppBody(encodeAppBody(body)), body)
  })

  const bodyBytes = fc.oneof(
    nearAppBodyValue.map((value) => encodeCanonical(value)),
    mutated(appBody.map(encodeAppBody)),
    cborValue().map((value) => encodeCanonical(value)),
    anyBytes(200),
  )
  fuzz('group: typed bodies mutated', [bodyBytes], { runs: 4000 })(
    'are a body within the bounds a member accepts, re-encoding to the same bytes, else GROUP_MALFORMED_PAYLOAD',
    (bytes) => {
      let decoded: ReturnType<typeof decodeAppBody> | undefined
      typedErrorOf(() => (decoded = decodeAppBody(bytes)), GROUP_ERRORS, ['GROUP_MALFORMED_PAYLOAD'])
      if (decoded === undefined) return
      expect(Buffer.from(encodeAppBody(decoded)).equals(bytes), 'a decoded body re-encodes to its bytes').toBe(true)
      if (decoded.type === 'file') checkAnnouncement(decoded.file)
    },
  )

  const settingBytes = fc.oneof(
    mutated(fc.record({ name: fc.option(fc.string({ minLength: 1, maxLength: 30 }).filter((n) => n.trim().length > 0 && !/[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/.test(n)), { nil: null }), description: fc.constant(null) }).map(encodeGroupSetting)),
    fc.tuple(fc.oneof(fc.constant(1), cborValue(2)), fc.oneof(cborText, cborValue(2)), fc.oneof(cborText, cborValue(2))).map((v) => encodeCanonical(v)),
    anyBytes(120),
  )
  fuzz('group: settings mutated', [settingBytes], { runs: 3000 })('are a setting that re-encodes to the same bytes, else GROUP_MALFORMED_PAYLOAD', (bytes) => {
    let decoded: ReturnType<typeof decodeGroupSetting> | undefined
    typedErrorOf(() => (decoded = decodeGroupSetting(bytes)), GROUP_ERRORS, ['GROUP_MALFORMED_PAYLOAD'])
    if (decoded !== undefined) expect(Buffer.from(encodeGroupSetting(decoded)).equals(bytes)).toBe(true)
  })
})

const requestBytes = keyPackageMessage(keyPackageRequest.map(encodeKeyPackageRequest))

describe('key-package requests and responses', () => {
  fuzz('group: key-package request round trip', [keyPackageRequest], { runs: 2000 })('decode back to what was encoded', (request) => {
    expectSameData(decodeKeyPackageRequest(encodeKeyPackageRequest(request)), request)
  })

  fuzz('group: key-package request mutated', [requestBytes], { runs: 5000 })(
    'never throw: a request comes out only of the canonical encoding of two 32-byte strings',
    (bytes) => {
      const request = decodeKeyPackageRequest(bytes)
      if (request === undefined) return
      expect(request.groupId.length).toBe(GROUP_ID_LENGTH)
      expect(request.nonce.length).toBe(GROUP_ID_NONCE_LENGTH)
      expect(Buffer.from(encodeKeyPackageRequest(request)).equals(bytes)).toBe(true)
    },
  )

  const response = fc.oneof(
    opaqueBytes(0, 400).map((kp) => encodeCanonical([1, kp])),
    fc.oneof(fc.constantFrom('GROUP_ID_NOT_OWNED', 'GROUP_RATE_LIMITED', 'MALFORMED_REQUEST'), cborText, fc.string({ unit: 'binary', maxLength: 80 })).map((code) => encodeCanonical([0, code])),
  )

  fuzz('group: key-package response', [keyPackageMessage(response)], { runs: 5000 })(
    'gives the key package of [1, bytes], and GROUP_KEY_PACKAGE_REFUSED with a short code-like reason for anything else',
    (bytes) => {
      let keyPackage: Uint8Array | undefined
      let message = ''
      try {
        keyPackage = decodeKeyPackageResponse(bytes)
      } catch (err) {
        typedErrorOf(() => {
          throw err
        }, GROUP_ERRORS, ['GROUP_KEY_PACKAGE_REFUSED'])
        message = (err as Error).message
      }
      if (keyPackage !== undefined) expect(Buffer.from(encodeCanonical([1, keyPackage])).equals(bytes)).toBe(true)
      // The peer's refusal text reaches the message only as upper-case letters, digits, _ and ?, at most 40 of them.
      const reason = /\((.*)\)$/.exec(message)?.[1]
      if (reason !== undefined) expect(reason).toMatch(/^[A-Z0-9_?]{0,40}$/)
    },
  )

  const invitee = new Member('invitee')
  invitee.remanage({ limits: { requestBurst: 1e9, pendingPerInviter: 6 } })
  afterAll(() => invitee.close())

  fuzz('group: key-package request answered', [requestBytes, fc.boolean()], { runs: 200, timeoutMs: 60_000 })(
    'answers any request with a key package only for a group the inviter owns, and a refusal otherwise, recording nothing for a refusal',
    async (request, allowed) => {
      const before = invitee.manager.invitations().length
      const pending: Uint8Array[] = []
      const answer = await answerKeyPackageRequest(invitee.manager, allowed ? inviterKey : undefined, request, (groupId) => pending.push(groupId))
      const decoded = decodeCanonical(answer) as [number, Uint8Array | string]
      const asked = decodeKeyPackageRequest(request)
      if (decoded[0] === 1) {
        expect(asked !== undefined && allowed && isGroupIdOf(asked.groupId, inviterKey, asked.nonce)).toBe(true)
        expect(await typedRejectionOf(async () => decodeKeyPackageResponse(answer), GROUP_ERRORS)).toBeUndefined()
        expect(invitee.manager.invitations().length).toBe(before + 1)
        expect(pending).toHaveLength(1)
        return
      }
      const refusal = decoded[1] as string
      const expected = !allowed ? ['PEER_NOT_ALLOWED'] : asked === undefined ? ['MALFORMED_REQUEST'] : isGroupIdOf(asked.groupId, inviterKey, asked.nonce) ? ['GROUP_TOO_MANY_INVITATIONS', 'GROUP_ALREADY_A_MEMBER'] : ['GROUP_ID_NOT_OWNED']
      expect(expected).toContain(refusal)
      expect(invitee.manager.invitations().length).toBe(before)
      expect(pending).toEqual([])
    },
  )
})

describe("a member's proposals of every type, at the owner", () => {
  const [a, b, c] = [new Member('owner'), new Member('member'), new Member('other')]
  let groupId: Uint8Array
  const keyPackages: Parameters<typeof proposalOf>[1][number][] = []
  afterAll(() => [a, b, c].forEach((m) => m.close()))

  beforeAll(async () => {
    groupId = (await a.manager.create()).id
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    for (let i = 0; i < 2; i++) keyPackages.push(decodeKeyPackage((await createKeyPackage(newIdentity())).publicPackage))
  }, 60_000)

  const ownerState = (): string => toHex((a.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }).state)

  // A member may ask only to update its own key or to leave: everything else it signs is a proposal the owner must not commit.
  const forbidden = proposalSpec.filter((spec): spec is Exclude<ProposalSpec, { type: 'update' }> => spec.type !== 'update')

  fuzz('group: forbidden proposals at the owner', [forbidden], { runs: 40, timeoutMs: 120_000 })(
    'are refused and recorded by the owner, whose group state stays byte for byte the same',
    async (spec) => {
      // The member's own keys and state, as a hostile client holds them: it can sign any proposal.
      const row = b.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }
      const { state } = decodeStoredGroup(new Uint8Array(row.state))
      const memberState = { ...state, signaturePrivateKey: b.identity.seed.slice(), clientConfig: clientConfig(new RosterAuthService(() => true)) }
      // A remove of the member's own leaf is a leave, which is allowed: aim removes elsewhere.
      const own = memberState.privatePath.leafIndex
      const target = spec.type === 'remove' && spec.leaf === own ? { ...spec, leaf: own + 1 } : spec
      const { message } = await createProposal(memberState, false, proposalOf(target, keyPackages), await cipherSuite())
      const before = ownerState()
      const op = appendRaw(b, groupId, encodeGroupPayload({ kind: 'proposal', proposal: encodeMlsMessage(message) }), { epoch: Number(state.groupContext.epoch) })
      deliver(b, a, groupId, b)
      await a.manager.processPending()
      const refusal = a.manager.rejected(groupId).find((r) => bytesEqual(r.hash, op.hash))
      expect(refusal, `a ${spec.type} proposal was not refused`).toBeDefined()
      expect(refusal!.code).toBe('GROUP_PROPOSAL_REFUSED')
      expect(ownerState()).toBe(before)
    },
  )
})
