/** The festival planner's fold (examples/festival): hostile members' actions ignored, the same view in any arrival order. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { foldFestival } from '../../examples/festival/festival.js'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const M = 'c'.repeat(64)
const msg = (author: string, seq: number, body: unknown) => ({ author, seq, data: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)) })

const history = [
  msg(A, 1, { festival: 1, type: 'resource', name: 'main stage' }),
  msg(B, 1, { festival: 1, type: 'event', name: 'opening night', when: '2027-07-01T20:00' }),
  msg(B, 2, { festival: 1, type: 'request', event: `${B}:1`, resource: `${A}:1` }),
  // A hostile member answers a request for a resource it does not own, and asks for things that do not exist.
  msg(M, 1, { festival: 1, type: 'answer', request: `${B}:2`, accept: false }),
  msg(M, 2, { festival: 1, type: 'request', event: `${B}:9`, resource: `${A}:1` }),
  msg(M, 3, '{"festival":1,"type":"resource","name":"' + 'x'.repeat(500) + '"}'),
  msg(M, 4, 'just chatting'),
  msg(A, 2, { festival: 1, type: 'answer', request: `${B}:2`, accept: false }),
  msg(A, 3, { festival: 1, type: 'answer', request: `${B}:2`, accept: true }),
]

describe('festival planner fold', () => {
  it("counts only the owner's latest answer and ignores the rest", () => {
    const view = foldFestival(history)
    expect(view.resources).toEqual([{ id: `${A}:1`, name: 'main stage', owner: A }])
    expect(view.events.map((e) => e.id)).toEqual([`${B}:1`])
    expect(view.requests).toEqual([{ id: `${B}:2`, event: `${B}:1`, resource: `${A}:1`, requester: B, state: 'accepted' }])
    expect(view.ignored).toBe(4)
  })

  it('gives the same view in every arrival order', () => {
    const expected = foldFestival(history)
    fc.assert(
      fc.property(fc.shuffledSubarray(history, { minLength: history.length }), (order) => {
        expect(foldFestival(order)).toEqual(expected)
      }),
      { numRuns: 200 },
    )
  })
})
