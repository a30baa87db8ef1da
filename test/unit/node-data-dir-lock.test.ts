/**
 * One open node per data directory (node/data-dir-lock.ts), and a node
 * stopped for good says so with a typed error, not the database driver's.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Burrow } from '../../src/node/burrow.js'

const root = mkdtempSync(join(tmpdir(), 'burrow-lock-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0

async function freshNode(): Promise<string> {
  const dir = join(root, `node-${n++}`)
  await Burrow.init(dir)
  return dir
}

/** Field 22 of /proc/<pid>/stat: the process's start time, as the lock records it. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!
}

describe('a data directory', () => {
  it('is open in one node at a time in a process, and free again once that node stopped', async () => {
    const dir = await freshNode()
    const first = await Burrow.open({ dataDir: dir })
    await expect(Burrow.open({ dataDir: dir })).rejects.toMatchObject({ code: 'NODE_IN_USE', message: expect.stringContaining('already open in this process') })
    await first.createGroup('still mine')
    await first.stop()
    expect(existsSync(join(dir, 'burrow.lock'))).toBe(false)
    const second = await Burrow.open({ dataDir: dir })
    expect(second.groups().map((g) => g.name)).toEqual(['still mine'])
    await second.stop()
  })

  it('is refused while a live process holds its lock, and taken over from a process that died or whose pid was reused', async () => {
    const dir = await freshNode()
    const lock = join(dir, 'burrow.lock')
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      const pid = other.pid!
      writeFileSync(lock, `${pid} ${startTimeOf(pid)}\n`, { mode: 0o600 })
      await expect(Burrow.open({ dataDir: dir })).rejects.toMatchObject({ code: 'NODE_IN_USE', message: expect.stringContaining(`pid ${pid}`) })
      // The same pid with another start time: a process that died, its pid given to this one since.
      writeFileSync(lock, `${pid} 1\n`)
      const node = await Burrow.open({ dataDir: dir })
      expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${startTimeOf(process.pid)}\n`)
      await node.stop()
    } finally {
      other.kill()
    }
    await new Promise((resolve) => other.once('exit', resolve))
    // A holder that is gone, and a lock a crash left half written.
    for (const stale of [`${other.pid} ${startTimeOf(process.pid)}\n`, '12']) {
      writeFileSync(lock, stale)
      const node = await Burrow.open({ dataDir: dir })
      await node.stop()
    }
  })
})

describe('a node stopped for good', () => {
  it('answers every call with NODE_STATE, never a database error, and a second stop does nothing', async () => {
    const dir = await freshNode()
    const node = await Burrow.open({ dataDir: dir })
    const group = await node.createGroup('before')
    await node.stop()
    const calls: [string, () => unknown][] = [
      ['send', () => node.send(group.id, 'after')],
      ['messages', () => node.messages(group.id)],
      ['groups', () => node.groups()],
      ['peers', () => node.peers()],
      ['start', () => node.start()],
      ['addKeeper', () => node.addKeeper(group.id, 'x')],
      ['files', () => node.content.files(group.id)],
      ['forks', () => node.forks.list()],
    ]
    for (const [name, call] of calls) {
      const outcome = await (async () => call())().then(
        () => 'resolved',
        (err: unknown) => err,
      )
      expect(outcome, name).toMatchObject({ code: 'NODE_STATE', message: expect.stringContaining('stopped') })
    }
    await node.stop()
  })
})
