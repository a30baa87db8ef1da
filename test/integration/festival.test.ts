/**
 * Issue 23: the festival planner (examples/festival), an app on Burrow's
 * public library API alone, on two nodes of the private Tor network: a
 * resource and an event, a request, the owner's answer, a forged answer from
 * the requester ignored, and both views equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Festival } from '../../examples/festival/festival.js'
import { eventually, testNode } from '../helpers/burrow.js'

const LONG = 120_000

describe('the festival planner on two hidden nodes', () => {
  let venue: Awaited<ReturnType<typeof testNode>>
  let band: Awaited<ReturnType<typeof testNode>>

  beforeAll(async () => {
    venue = await testNode('venue')
    band = await testNode('band')
    await Promise.all([venue.node.start(), band.node.start()])
    await venue.node.addPeer(band.node.contactCard())
    await band.node.addPeer(venue.node.contactCard())
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled([venue?.node.stop(), band?.node.stop()])
    venue?.cleanup()
    band?.cleanup()
  })

  it('converges on requests and answers, and only the owner of a resource answers for it', { timeout: 240_000 }, async () => {
    const atVenue = await Festival.create(venue.node, 'summer-festival')
    await venue.node.invite(atVenue.group, 'band')
    await eventually(() => band.node.groups().some((g) => g.id === atVenue.group), LONG, 'the band to join')
    const atBand = new Festival(band.node, atVenue.group)

    const stage = await atVenue.addResource('main stage')
    const gig = await atBand.addEvent('opening night', '2027-07-01T20:00')
    await eventually(() => atBand.view().resources.length === 1, LONG, 'the band to see the stage')
    const request = await atBand.request(gig, stage)
    // The band cannot grant itself the stage.
    await atBand.answer(request, true)
    await eventually(() => atVenue.view().requests.length === 1 && atVenue.view().ignored === 1, LONG, 'the venue to see the request and the forged answer')
    expect(atVenue.view().requests[0]!.state).toBe('pending')

    await atVenue.answer(request, false)
    await atVenue.answer(request, true)
    await eventually(() => atBand.view().requests[0]?.state === 'accepted', LONG, "the venue's answer at the band")
    expect(atBand.view()).toEqual(atVenue.view())
    expect(atBand.view().requests).toEqual([{ id: request, event: gig, resource: stage, requester: band.node.status().identityKey, state: 'accepted' }])
  })
})
