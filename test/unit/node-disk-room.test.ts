// node/disk-room.ts: what peers send is refused below the disk floor, with
// one warning per spell, and taken again (peers asked again) once space is
// freed. The file system's free space is injected (this machine's disk
// cannot be filled).
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logging.js'
import { DiskRoom } from '../../src/node/disk-room.js'

const GiB = 1024 ** 3

function room(free: () => number): { room: DiskRoom; lines: string[]; asked: () => number; advance: (ms: number) => void } {
  const lines: string[] = []
  let now = 0
  let asked = 0
  const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) })
  const disk = new DiskRoom('/unused', logger, () => void asked++, { floorBytes: GiB, free, now: () => now })
  return { room: disk, lines, asked: () => asked, advance: (ms) => void (now += ms) }
}

describe('the disk floor for what peers send', () => {
  it('counts what it lets through between looks, refuses below the floor with one warning, and asks peers again once space is freed', () => {
    let free = 2 * GiB
    const { room: disk, lines, asked, advance } = room(() => free)
    expect(disk.hasRoomFor(GiB / 2)).toBe(true)
    expect(disk.hasRoomFor(GiB / 2)).toBe(true)
    // The file system was looked at once: what went through since counts.
    expect(disk.hasRoomFor(1)).toBe(false)
    expect(lines).toEqual([])
    free = GiB / 2
    advance(1_000)
    for (let i = 0; i < 1_000; i++) expect(disk.hasRoomFor(1)).toBe(false)
    advance(1_000)
    expect(disk.hasRoomFor(0)).toBe(false)
    expect(lines).toEqual(['disk nearly full: refusing what peers send until space is freed'])
    expect(disk.full).toBe(true)
    free = 3 * GiB
    advance(999)
    expect(disk.hasRoomFor(1)).toBe(false)
    expect(asked()).toBe(0)
    advance(1)
    expect(disk.hasRoomFor(1)).toBe(true)
    expect(lines.at(-1)).toBe('disk space freed: taking what peers send again')
    expect(lines).toHaveLength(2)
    expect(asked()).toBe(1)
    expect(disk.full).toBe(false)
  })

  it('a file system whose free space cannot be read refuses nothing', () => {
    const { room: disk } = room(() => {
      throw Object.assign(new Error('ENOSYS'), { code: 'ENOSYS' })
    })
    expect(disk.hasRoomFor(64 * GiB)).toBe(true)
  })
})
