import { afterEach } from 'vitest'
import { Member } from './group.js'

/** A factory of group test members that are all closed after each test. Call it at the top of a test file. */
export function trackedMembers(): (name: string) => Member {
  const open: Member[] = []
  afterEach(() => {
    for (const m of open.splice(0)) m.close()
  })
  return (name) => {
    const m = new Member(name)
    open.push(m)
    return m
  }
}
