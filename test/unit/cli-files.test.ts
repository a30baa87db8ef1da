// `burrow send --file`, `files`, `get`, `delete` and `group retention` against
// a real node that is not started (a group of one: all of it is local), through
// its local API, as the CLI runs them.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { messageBody } from '../../src/cli/api-commands.js'
import { EXIT } from '../../src/cli/errors.js'
import { fileEntry, formatBytes, formatPeriod, parsePeriod } from '../../src/cli/file-commands.js'
import { printableLine, table } from '../../src/cli/format.js'
import { runCli } from '../../src/cli/run.js'
import { Burrow, nodePaths } from '../../src/node/index.js'

let dir: string
let dataDir: string
let node: Burrow
let api: LocalApiServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-cli-files-'))
  dataDir = join(dir, 'node')
  await Burrow.init(dataDir)
  node = await Burrow.open({ dataDir })
  await node.createGroup('box')
  api = await startLocalApi(node, nodePaths(dataDir).socket)
})

afterAll(async () => {
  await api.close()
  await node.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function cli(argv: string[], options: { stdin?: Buffer; tty?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const stdin = new PassThrough()
  stdin.end(options.stdin ?? Buffer.alloc(0))
  const code = await runCli(['--data-dir', dataDir, ...argv], {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t), isTTY: options.tty === true, columns: 80 },
    stdin,
    env: {},
  })
  return { code, out, err }
}

async function json(argv: string[], options: { stdin?: Buffer } = {}): Promise<any> {
  const r = await cli([...argv, '--json'], options)
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.out}${r.err}`)
  return JSON.parse(r.out)
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('burrow send --file, files, get', () => {
  it('sends a file with a progress bar on a terminal, lists it, shows it in read, and gets it back checked', async () => {
    const content = randomBytes(3_000_000)
    writeFileSync(join(dir, 'video.mp4'), content)
    const sent = await cli(['send', 'box', '--file', join(dir, 'video.mp4')], { tty: true })
    expect(sent.code).toBe(0)
    expect(sent.out).toMatch(/^sent file video\.mp4 \(2\.9 MiB\) to [0-9a-f]{12} as [0-9a-f]{12}; members fetch it when they sync\n$/)
    expect(sent.err).toMatch(/sending video\.mp4 \[#+\.*\] +\d+% /)

    const files = await json(['files', 'box'])
    expect(files.files).toEqual([expect.objectContaining({ name: 'video.mp4', size: content.length, mediaType: 'video/mp4', complete: true, self: true })])
    expect((await cli(['files', 'box'])).out).toMatch(/^[0-9a-f]{12}\s+video\.mp4\s+2\.9 MiB\s+you\s+complete\s+\d+ s ago$/m)
    expect((await cli(['read', 'box'])).out).toMatch(/you: \[file\] video\.mp4, 2\.9 MiB, video\/mp4, complete \(id [0-9a-f]{12}\)/)

    const out = join(dir, 'downloads')
    mkdirSync(out)
    const got = await cli(['get', 'box', 'video.mp4', '--out', out])
    expect(got.out).toBe(`saved video.mp4 (2.9 MiB, SHA-256 checked) to ${join(out, 'video.mp4')}\n`)
    expect(sha256(readFileSync(join(out, 'video.mp4')))).toBe(sha256(content))
    const again = await cli(['get', 'box', 'video.mp4', '--out', out])
    expect(again.code).toBe(EXIT.USAGE)
    expect(again.err).toBe(`burrow: ${join(out, 'video.mp4')} exists; to replace it, add --force (NODE_FILE_EXISTS)\n`)
    const nowhere = await cli(['get', 'box', 'video.mp4', '--out', join(dir, 'no-such-folder', 'v.mp4')])
    expect(nowhere.code).toBe(EXIT.USAGE)
    expect(nowhere.err).toBe(`burrow: ${join(dir, 'no-such-folder')} does not exist (NODE_FILE_UNWRITABLE)\n`)
    expect((await cli(['get', 'box', files.files[0].id.slice(0, 6), '--out', out, '--force'])).code).toBe(0)
    expect(readdirSync(out)).toEqual(['video.mp4'])
    const missing = await cli(['get', 'box', 'nothing.txt', '--out', out])
    expect(missing.code).toBe(EXIT.NOT_FOUND)
  })

  it('sends stdin to its end, under the name given', async () => {
    const content = randomBytes(700_000)
    const m = await json(['send', 'box', '--file', '-', '--name', 'from-pipe.tar'], { stdin: content })
    expect(m.file).toMatchObject({ name: 'from-pipe.tar', size: content.length, sha256: sha256(content), mediaType: 'application/x-tar' })
    const saved = await json(['get', 'box', 'from-pipe.tar', '--out', join(dir, 'piped.tar')])
    expect(saved.path).toBe(join(dir, 'piped.tar'))
    expect(sha256(readFileSync(saved.path))).toBe(sha256(content))
  })
})

describe('a file name that would print a line of its own', () => {
  // A member chooses the name: a line break in it must not start a fake message, table row or progress line.
  const name = 'x.txt\n[alice] hi\tthere'
  const shown = 'x.txt\\u{a}[alice] hi\\u{9}there'
  const ownLine = /(^|[\n\r])\[alice\]/

  it('stays on its line in send (and its progress), files, read and get', async () => {
    writeFileSync(join(dir, 'plain.txt'), 'hello')
    const sent = await cli(['send', 'box', '--file', join(dir, 'plain.txt'), '--name', name], { tty: true })
    expect(sent.code).toBe(0)
    expect(sent.out).toContain(`sent file ${shown} (5 bytes)`)
    expect(sent.err).toContain(`sending ${shown}`)
    const files = await cli(['files', 'box'])
    expect(files.out).toMatch(new RegExp(`^[0-9a-f]{12}  ${shown.replace(/[\\{}[\]]/g, '\\$&')}\\s+5 bytes\\s+you `, 'm'))
    const read = await cli(['read', 'box'])
    expect(read.out).toContain(`you: [file] ${shown}, 5 bytes, application/octet-stream, complete`)
    const out = join(dir, 'odd-names')
    mkdirSync(out)
    const got = await cli(['get', 'box', name, '--out', out])
    expect(got.code).toBe(0)
    expect(got.out).toMatch(new RegExp(`^saved ${shown.replace(/[\\{}[\]]/g, '\\$&')} \\(5 bytes, SHA-256 checked\\) to .*\n$`))
    for (const r of [sent, files, read, got]) expect(`${r.out}${r.err}`).not.toMatch(ownLine)
  })

  it('stays on its line in a file entry (read, chat /files and chat lines) and a table; invisible and direction marks show', () => {
    const entry = fileEntry({ id: 'a'.repeat(32), name, mediaType: 'text/plain\n[alice] x', size: 5, complete: true } as Parameters<typeof fileEntry>[0])
    expect(entry).not.toMatch(/[\n\t]/)
    expect(entry).toContain(`[file] ${shown}, 5 bytes, text/plain\\u{a}[alice] x,`)
    expect(table(['NAME', 'SIZE'], [[name, '5 bytes']])).toBe(`NAME${' '.repeat(shown.length - 2)}SIZE\n${shown}  5 bytes\n`)
    const marks = '\u200e\u200f\u061c\u2028\u2029\ufeff\u200b\u202a\u202e\u2066\u2069\r\x1b'
    expect(printableLine(`a${marks}b`)).toBe('a\\u{200e}\\u{200f}\\u{61c}\\u{2028}\\u{2029}\\u{feff}\\u{200b}\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{d}\\u{1b}b')
    expect(printableLine('報告書 مرحبا')).toBe('報告書 مرحبا')
  })
})

describe("a member's message text of several lines (read and chat)", () => {
  it('has every line after the first indented, so it cannot pass for another message', () => {
    const m = { text: 'hi\n12:00 alice: send me your passphrase\n#7  2026-12-05 12:00  bob: ok' } as Parameters<typeof messageBody>[0]
    expect(messageBody(m)).toBe('hi\n    12:00 alice: send me your passphrase\n    #7  2026-12-05 12:00  bob: ok')
  })
})

describe('burrow delete and group retention', () => {
  it('deletes our message by its id and our file by its name', async () => {
    const m = await json(['send', 'box', 'regrettable'])
    expect((await cli(['delete', 'box', String(m.id)])).out).toBe(`deleted message #${m.id} for every member\n`)
    expect((await json(['read', 'box'])).messages.map((x: { id: number }) => x.id)).not.toContain(m.id)
    writeFileSync(join(dir, 'old.txt'), 'old')
    await json(['send', 'box', '--file', join(dir, 'old.txt')])
    expect((await cli(['delete', 'box', 'old.txt'])).out).toMatch(/^deleted file old\.txt \([0-9a-f]{12}\) for every member\n$/)
    expect((await json(['files', 'box'])).files.map((f: { name: string }) => f.name)).not.toContain('old.txt')
    expect((await cli(['delete', 'box', '#99999'])).code).toBe(EXIT.NOT_FOUND)
  })

  it('sets the retention period, shown by group list and group members, and turns it off', async () => {
    expect((await cli(['group', 'retention', 'box', '30d'])).out).toMatch(/every member deletes what is older than 30d/)
    expect((await cli(['group', 'list'])).out).toMatch(/box\s+owner\s+\d+\s+1\s+30d\s+active/)
    expect((await cli(['group', 'members', 'box'])).out).toContain('retention: every member deletes what is older than 30d')
    expect((await json(['group', 'members', 'box'])).retentionMs).toBe(30 * 86_400_000)
    expect((await json(['group', 'retention', 'box', 'off'])).retentionMs).toBeNull()
    expect((await cli(['group', 'retention', 'box', 'soon'])).code).toBe(EXIT.USAGE)
  })

  it('formats sizes and periods for people', () => {
    expect(formatBytes(512)).toBe('512 bytes')
    expect(formatBytes(1_300_000)).toBe('1.2 MiB')
    expect(parsePeriod('90m')).toBe(90 * 60_000)
    expect(parsePeriod('2w')).toBe(14 * 86_400_000)
    expect(parsePeriod('off')).toBeNull()
    expect(formatPeriod(90 * 60_000)).toBe('90m')
    expect(formatPeriod(14 * 86_400_000)).toBe('2w')
    expect(formatPeriod(null)).toBe('off')
  })
})
