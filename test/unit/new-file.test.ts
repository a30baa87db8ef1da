// util/new-file.ts on a file system without hard links (FAT, exFAT: most USB
// sticks). This machine has none to mount, so link() is made to fail the
// way the kernel's vfat does (EPERM); everything else is the real disk.
import { link } from 'node:fs/promises'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { writeNewFile } from '../../src/util/new-file.js'

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return { ...actual, link: vi.fn(actual.link) }
})

const work = mkdtempSync(join(tmpdir(), 'burrow-new-file-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const noHardLinks = (): void => {
  vi.mocked(link).mockRejectedValueOnce(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }))
}

describe('writing a new file where hard links are refused', () => {
  it('still writes it whole, and leaves no temporary file', async () => {
    const target = join(work, 'stick.bin')
    noHardLinks()
    await writeNewFile(target, [Buffer.from('first '), Buffer.from('second')])
    expect(vi.mocked(link)).toHaveBeenCalled()
    expect(readFileSync(target, 'utf8')).toBe('first second')
    expect(readdirSync(work).filter((n) => n.endsWith('.part'))).toEqual([])
  })

  it('still never replaces a file already at the target', async () => {
    const target = join(work, 'taken.txt')
    writeFileSync(target, 'mine')
    noHardLinks()
    await expect(writeNewFile(target, [Buffer.from('theirs')])).rejects.toMatchObject({ code: 'EEXIST' })
    expect(readFileSync(target, 'utf8')).toBe('mine')
    expect(readdirSync(work).filter((n) => n.endsWith('.part'))).toEqual([])
  })

  it('passes on any other link error as it is', async () => {
    vi.mocked(link).mockRejectedValueOnce(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }))
    await expect(writeNewFile(join(work, 'full.txt'), [Buffer.from('x')])).rejects.toMatchObject({ code: 'ENOSPC' })
    expect(readdirSync(work)).not.toContain('full.txt')
  })
})
