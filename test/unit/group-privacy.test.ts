import { readdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/log/index.js'
import { allOperations, ingestInto, invite, Member, syncAll, text, uniqueText } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

const ids = (logIds: Uint8Array[]): string[] => logIds.map(toHex).sort()

describe('group sync policy', () => {
  it('shares a group log only with current members, and with the inviter while an invitation is pending', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')]
    const { id: groupId } = await a.manager.create()
    const { id: other } = await a.manager.create()
    expect(a.manager.sharedLogs(b.key)).toEqual([])

    const pkg = await b.manager.createKeyPackage(groupId, a.key, a.manager.ownershipNonce(groupId))
    expect(b.manager.invitations().map((i) => [toHex(i.groupId), toHex(i.inviter)])).toEqual([[toHex(groupId), a.hex]])
    expect(ids(b.manager.sharedLogs(a.key))).toEqual([toHex(groupId)])
    expect(b.manager.mayShare(a.key, groupId)).toBe(true)
    expect(b.manager.mayShare(a.key, other)).toBe(false)
    expect(b.manager.mayShare(c.key, groupId)).toBe(false)
    expect(a.manager.mayShare(b.key, groupId)).toBe(false)

    await a.manager.invite(groupId, b.key, pkg)
    expect(a.manager.mayShare(b.key, groupId)).toBe(true)
    expect(ids(a.manager.sharedLogs(b.key))).toEqual([toHex(groupId)])
    expect(a.manager.mayShare(c.key, groupId)).toBe(false)

    ingestInto(b, allOperations(a.logs, groupId))
    expect((await b.manager.processPending()).joined).toBe(1)
    expect(b.manager.invitations()).toEqual([])
    expect(b.manager.mayShare(a.key, groupId)).toBe(true)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    expect(b.manager.mayShare(c.key, groupId)).toBe(true)
    expect(ids(a.manager.sharedLogs(c.key))).toEqual([toHex(groupId)])

    for (const bad of [new Uint8Array(0), a.key.subarray(1), Uint8Array.from([...b.key, 0])]) {
      expect(a.manager.sharedLogs(bad)).toEqual([])
      expect(a.manager.mayShare(bad, groupId)).toBe(false)
    }
    // Never "shared" with ourselves.
    expect(a.manager.mayShare(a.key, groupId)).toBe(false)
  })
})

/** Every value of every row of every table, with where it was found. */
function allCells(m: Member): { table: string; column: string; value: Uint8Array }[] {
  const out: { table: string; column: string; value: Uint8Array }[] = []
  const tables = m.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
  for (const { name } of tables) {
    for (const row of m.db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
      for (const [column, value] of Object.entries(row)) {
        if (value instanceof Uint8Array) out.push({ table: name, column, value })
        else if (typeof value === 'string') out.push({ table: name, column, value: text(value) })
      }
    }
  }
  return out
}

/** The database file and its -wal/-shm companions, as raw bytes. */
function databaseFiles(m: Member): Buffer[] {
  const base = m.path.split('/').pop()!
  return readdirSync(dirname(m.path))
    .filter((f) => f.startsWith(base))
    .map((f) => readFileSync(`${dirname(m.path)}/${f}`))
}

describe('no plaintext outside the local view', () => {
  it('a non-member holding every group operation has no plaintext byte sequence; members only in group_messages', async () => {
    const [a, b, c, outsider] = [member('a'), member('b'), member('c'), member('outsider')]
    const { id: groupId } = await a.manager.create({ name: uniqueText('local-label') })
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    const plaintexts: string[] = []
    for (const [i, m] of [a, b, c, a, b].entries()) {
      const t = uniqueText(`secret-${i}`)
      plaintexts.push(t)
      await m.manager.send(groupId, text(t))
    }
    await b.manager.rotate(groupId)
    await a.manager.remove(groupId, c.key)
    const late = uniqueText('after-removal')
    plaintexts.push(late)
    await syncAll([a, b, c], groupId)
    await b.manager.send(groupId, text(late))
    await syncAll([a, b, c, outsider], groupId)

    expect(outsider.logs.counts().operations).toBe(allOperations(a.logs, groupId).length)
    expect(a.texts(groupId)).toContain(late)
    const needles = plaintexts.map((t) => Buffer.from(t))
    // Control: the raw scan does find plaintext where the local view holds it.
    expect(databaseFiles(a).some((f) => f.includes(needles[0]!))).toBe(true)
    for (const file of databaseFiles(outsider)) for (const n of needles) expect(file.includes(n)).toBe(false)
    for (const { value } of allCells(outsider)) for (const n of needles) expect(Buffer.from(value).includes(n)).toBe(false)

    for (const m of [a, b, c]) {
      const found = new Set<string>()
      for (const { table, column, value } of allCells(m)) {
        for (const n of needles) if (Buffer.from(value).includes(n)) found.add(`${table}.${column}`)
      }
      expect([...found]).toEqual(['group_messages.plaintext'])
    }
    // The group's name reaches the members only encrypted: in clear, only in their groups rows, never at the outsider.
    const name = Buffer.from(a.manager.get(groupId)!.name!)
    for (const m of [a, b, c]) {
      const found = new Set(allCells(m).filter(({ value }) => Buffer.from(value).includes(name)).map(({ table, column }) => `${table}.${column}`))
      expect([...found].sort()).toEqual(['groups.name', 'groups.shared_name'])
    }
    for (const file of databaseFiles(outsider)) expect(file.includes(name)).toBe(false)
  })
})
