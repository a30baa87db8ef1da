/**
 * Invitations into a group that grew and shrank: ts-mls 1.6.4 refused the
 * honest Welcome of the second newcomer after the owner invited four members,
 * removed one and invited two more (mls/tree-check.ts, `unmergedListsDiffer`).
 */
import { describe, expect, it } from 'vitest'
import { invite, syncAll } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

describe('invitations after a removal', () => {
  it('invite 4, remove 1, invite 2: both newcomers join and read the owner', async () => {
    const owner = member('owner')
    const { id } = await owner.manager.create()
    const gone = member('gone')
    const stayed = [member('m1'), member('m2'), member('m3')]
    const newcomers = [member('m4'), member('m5')]
    for (const m of [gone, ...stayed]) await invite(owner, m, id)
    await syncAll([owner, gone, ...stayed], id)
    await owner.manager.remove(id, gone.key)
    await syncAll([owner, ...stayed], id)
    for (const m of newcomers) await invite(owner, m, id)
    const everyone = [owner, ...stayed, ...newcomers]
    await syncAll(everyone, id)
    await owner.manager.send(id, new TextEncoder().encode('welcome both'))
    await syncAll(everyone, id)
    for (const m of everyone) {
      expect(m.manager.rejected(id)).toEqual([])
      expect(m.texts(id)).toContain('welcome both')
    }
  })
})
