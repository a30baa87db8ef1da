import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeGroupPayload, encodeGroupPayload, MAX_BUNDLED_PROPOSALS, type GroupPayload } from '../../src/group/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

describe('group payload', () => {
  it('round-trips every kind, with the documented layout', () => {
    const payloads: GroupPayload[] = [
      { kind: 'application', message: bytes(40) },
      { kind: 'commit', commit: bytes(300), proposals: [] },
      { kind: 'commit', commit: bytes(300), proposals: [bytes(90), bytes(91)] },
      { kind: 'welcome', welcome: bytes(500) },
      { kind: 'proposal', proposal: bytes(120) },
      { kind: 'setting', message: bytes(60) },
      { kind: 'typed', message: bytes(60) },
    ]
    for (const p of payloads) expect(decodeGroupPayload(encodeGroupPayload(p))).toEqual(p)
    const m = bytes(3)
    expect(encodeGroupPayload({ kind: 'application', message: m })).toEqual(encodeCanonical([1, m]))
    expect(encodeGroupPayload({ kind: 'commit', commit: m, proposals: [m] })).toEqual(encodeCanonical([2, m, [m]]))
    expect(encodeGroupPayload({ kind: 'welcome', welcome: m })).toEqual(encodeCanonical([3, m]))
    expect(encodeGroupPayload({ kind: 'proposal', proposal: m })).toEqual(encodeCanonical([4, m]))
    expect(encodeGroupPayload({ kind: 'setting', message: m })).toEqual(encodeCanonical([5, m]))
    expect(encodeGroupPayload({ kind: 'typed', message: m })).toEqual(encodeCanonical([6, m]))
  })

  it('refuses malformed payloads with a typed error', () => {
    const b = bytes(4)
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0xff]),
      encodeCanonical(null),
      encodeCanonical([1]),
      encodeCanonical([0, b]),
      encodeCanonical([7, b]),
      encodeCanonical([6, b, b]),
      encodeCanonical([5, b, b]),
      encodeCanonical(['1', b]),
      encodeCanonical([1, 'text']),
      encodeCanonical([1, new Uint8Array(0)]),
      encodeCanonical([1, b, b]),
      encodeCanonical([2, b]),
      encodeCanonical([2, b, b]),
      encodeCanonical([2, b, ['x']]),
      encodeCanonical([2, b, [new Uint8Array(0)]]),
      encodeCanonical([2, b, Array.from({ length: MAX_BUNDLED_PROPOSALS + 1 }, () => b)]),
      encodeCanonical([3, b, null]),
      encodeCanonical([4]),
      new Uint8Array([0x82, 0x01, 0x18, 0x41]), // non-canonical / truncated
      new Uint8Array([0x9f, 0x01, 0x41, 0x00, 0xff]), // indefinite-length array
    ]
    for (const input of bad) expect(() => decodeGroupPayload(input)).toThrow(expect.objectContaining({ code: 'GROUP_MALFORMED_PAYLOAD' }))
  })
})
