import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../src/cli/errors.js'
import type { CliIo } from '../../src/cli/io.js'
import { parseCommandLine } from '../../src/cli/parse.js'
import { runCli } from '../../src/cli/run.js'
import { COMMANDS, type CommandSpec } from '../../src/cli/spec.js'
import { createContactCard, deriveNodeKeys, encodeContactCard, generateMasterSeed } from '../../src/keys/index.js'
import { MAX_SEND_BYTES, startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { MemoryNode } from '../helpers/memory-node.js'

interface Captured {
  io: CliIo
  out: () => string
  err: () => string
  stdin: PassThrough
}

function capture(env: NodeJS.ProcessEnv = {}): Captured {
  let out = ''
  let err = ''
  const stdin = new PassThrough()
  return {
    io: { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, stdin, env },
    out: () => out,
    err: () => err,
    stdin,
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const c = capture(env)
  const code = await runCli(argv, c.io)
  return { code, out: c.out(), err: c.err() }
}

function everyCommand(list: CommandSpec[] = COMMANDS): CommandSpec[] {
  return list.flatMap((c) => [c, ...everyCommand(c.subcommands ?? [])])
}

function peerCard(name: string): string {
  const keys = deriveNodeKeys(generateMasterSeed())
  return encodeContactCard(createContactCard(keys, name), keys)
}

describe('argument parsing', () => {
  it('finds the command among global flags wherever they stand', () => {
    const a = parseCommandLine(['--data-dir', '/tmp/x', 'peers', '--json', 'add', 'CARD'])
    expect(a).toMatchObject({ kind: 'run', command: { path: ['peers', 'add'] }, args: ['CARD'], globals: { dataDir: '/tmp/x', json: true } })
    const b = parseCommandLine(['read', 'g', '--limit', '5', '--data-dir=/tmp/y', '-f'])
    expect(b).toMatchObject({ kind: 'run', args: ['g'], options: { limit: '5', follow: true }, globals: { dataDir: '/tmp/y' } })
  })

  it('takes arguments after -- literally', () => {
    expect(parseCommandLine(['send', 'g', '--', '--not-a-flag'])).toMatchObject({ args: ['g', '--not-a-flag'] })
  })

  it('defaults the data directory to XDG', () => {
    expect(parseCommandLine(['status'], { XDG_DATA_HOME: '/xdg' })).toMatchObject({ globals: { dataDir: '/xdg/burrow' } })
  })

  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command'],
    [['peers'], 'needs a subcommand'],
    [['peers', 'steal'], 'unknown subcommand'],
    [['peers', 'add'], 'missing <card>'],
    [['peers', 'list', 'extra'], 'unexpected argument'],
    [['status', '--bogus'], 'Unknown option'],
    [['status', '--data-dir'], 'argument missing'],
    [['group', 'invite', 'g'], 'missing <peer>'],
    [['send', 'g', 'a', 'b'], 'unexpected argument'],
    [['help', 'nope'], 'unknown command'],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const r = await run(argv as string[])
    expect(r.code).toBe(EXIT.USAGE)
    expect(r.err).toContain(message)
    expect(r.err).toMatch(/^burrow: .* \(CLI_USAGE\)\n$/)
    expect(r.out).toBe('')
  })

  it('a usage error with --json is a JSON error document on stdout', async () => {
    const r = await run(['frobnicate', '--json'])
    expect(r.code).toBe(EXIT.USAGE)
    expect(JSON.parse(r.out)).toEqual({ error: { code: 'CLI_USAGE', message: expect.stringContaining('unknown command') } })
  })

  it('refuses bad numbers', async () => {
    for (const bad of ['0', '-1', 'x', '1001', '1e3']) {
      const r = await run(['--data-dir', '/nonexistent', 'read', 'g', '--limit', bad])
      expect(r.code, bad).toBe(EXIT.USAGE)
    }
  })
})

describe('--help and --version', () => {
  it.each(everyCommand().map((c) => [c.path.join(' '), c] as const))('burrow %s --help', async (_name, spec) => {
    for (const argv of [[...spec.path, '--help'], [...spec.path, '-h'], ['help', ...spec.path]]) {
      const r = await run(argv)
      expect(r.code).toBe(EXIT.OK)
      expect(r.out).toContain(`Usage: burrow ${spec.path.join(' ')}`)
      expect(r.out).toContain(spec.description)
      expect(r.out).toContain('Exit codes:')
      expect(r.out).toContain('--data-dir DIR')
      if (spec.subcommands === undefined) {
        expect(r.out).toContain('Examples:')
        expect(r.out).toContain('--json output:')
        for (const o of spec.options) expect(r.out).toContain(`--${o.name}`)
      } else {
        for (const s of spec.subcommands) expect(r.out).toContain(s.path.join(' '))
      }
    }
  })

  it('burrow --help lists every command and the exit codes', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(EXIT.OK)
    for (const c of everyCommand().filter((c) => c.subcommands === undefined)) expect(r.out).toContain(c.path.join(' '))
    for (const code of ['0  ok', '2  usage error', '3  node not running', '4  not found', '5  wrong passphrase']) expect(r.out).toContain(code)
  })

  it('--version', async () => {
    expect((await run(['--version'])).out).toMatch(/^burrow \d+\.\d+\.\d+/)
    expect(JSON.parse((await run(['--version', '--json'])).out)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })
})

describe('commands against a running (in-memory) node', () => {
  let dir: string
  let node: MemoryNode
  let api: LocalApiServer
  const cli = (...argv: string[]) => run(['--data-dir', dir, ...argv])
  const cliJson = async (...argv: string[]): Promise<any> => {
    const r = await cli(...argv, '--json')
    expect(r.err).toBe('')
    return JSON.parse(r.out)
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-cli-'))
    node = new MemoryNode({ displayName: 'me' })
    api = await startLocalApi(node, join(dir, 'burrow.sock'))
  })
  afterEach(async () => {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('status', async () => {
    expect(await cliJson('status')).toEqual({
      state: 'running',
      peerId: node.peerId,
      onion: node.keys.onionAddress,
      identityKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      tor: { state: 'ready', bootstrap: 100 },
      reachable: true,
      peers: { total: 0, connected: 0 },
      groups: 0,
      operations: 0,
    })
    const human = await cli('status')
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/^state\s+running$/m)
    expect(human.out).toMatch(/^reachable\s+yes$/m)
  })

  it('card and card --qr', async () => {
    expect(await cliJson('card')).toEqual({ card: node.contactCard() })
    expect(await cliJson('card', '--qr')).toEqual({ card: node.contactCard(), qr: node.contactCardQr() })
    expect((await cli('card')).out).toBe(`${node.contactCard()}\n`)
    expect((await cli('card', '--qr')).out).toContain(node.contactCardQr())
  })

  it('peers add, list (table and JSON), remove; unknown peer exits 4', async () => {
    const added = await cliJson('peers', 'add', peerCard('bob'))
    expect(added).toMatchObject({ name: 'bob', connected: false, peerId: expect.any(String), onion: expect.stringMatching(/\.onion$/) })
    node.setConnected('bob', true)
    const list = await cliJson('peers', 'list')
    expect(list).toEqual({ peers: [expect.objectContaining({ peerId: added.peerId, connected: true, lastSeen: expect.any(Number) })] })
    const table = (await cli('peers', 'list')).out.split('\n')
    expect(table[0]).toMatch(/^NAME\s+PEER ID\s+ONION\s+CONNECTED\s+LAST SEEN\s+LAST ERROR$/)
    expect(table[1]).toMatch(/^bob\s+12D3KooW…\w{4}\s+[a-z2-7]{10}….onion\s+yes\s+\d+ s ago\s+-$/)
    // Columns line up: every row starts its second column at the same place.
    expect(table[1]!.indexOf('12D3')).toBe(table[0]!.indexOf('PEER ID'))
    expect(await cliJson('peers', 'remove', 'bob')).toMatchObject({ peerId: added.peerId })
    const missing = await cli('peers', 'remove', 'bob')
    expect(missing.code).toBe(EXIT.NOT_FOUND)
    expect(missing.err).toMatch(/\(PEER_UNKNOWN\)\n$/)
  })

  it('groups: create, invite, members, list, rotate, remove; unknown group exits 4', async () => {
    await cli('peers', 'add', peerCard('bob'))
    const g = await cliJson('group', 'create', 'friends')
    expect(g).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/), name: 'friends', isOwner: true, epoch: 0, members: [expect.objectContaining({ self: true, owner: true })], active: true })
    expect(await cliJson('group', 'invite', 'friends', 'bob')).toMatchObject({ id: g.id, epoch: 1, members: [expect.anything(), expect.anything()] })
    const members = await cliJson('group', 'members', 'friends')
    expect(members.group).toBe(g.id)
    expect(members.members).toEqual(
      expect.arrayContaining([expect.objectContaining({ self: true, owner: true }), expect.objectContaining({ name: 'bob', self: false, owner: false })]),
    )
    expect((await cli('group', 'members', 'friends')).out).toMatch(/^you\s+12D3KooW…\w{4}\s+\w+…\w+\s+owner$/m)
    expect(await cliJson('group', 'list')).toEqual({ groups: [expect.objectContaining({ id: g.id, epoch: 1 })] })
    expect((await cli('group', 'list')).out).toMatch(/^[0-9a-f]{12}\s+friends\s+owner\s+1\s+2\s+active$/m)
    expect(await cliJson('group', 'rotate', 'friends')).toMatchObject({ epoch: 2 })
    expect(await cliJson('group', 'remove', 'friends', 'bob')).toMatchObject({ epoch: 3, members: [expect.objectContaining({ self: true })] })
    const missing = await cli('group', 'members', 'enemies')
    expect(missing.code).toBe(EXIT.NOT_FOUND)
    expect(missing.err).toContain('(GROUP_NOT_FOUND)')
  })

  it('send text and --file; read with --after and --limit; binary shows as a size', async () => {
    const g = await cliJson('group', 'create', 'friends')
    const m1 = await cliJson('send', 'friends', 'hello there')
    expect(m1).toMatchObject({ id: expect.any(Number), group: g.id, self: true, text: 'hello there', data: Buffer.from('hello there').toString('base64') })
    const file = join(dir, 'blob.bin')
    writeFileSync(file, Buffer.from([0, 1, 2, 255]))
    const m2 = await cliJson('send', 'friends', '--file', file)
    expect(m2.text).toBeUndefined()
    expect(Buffer.from(m2.data, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]))
    expect(await cliJson('read', 'friends')).toEqual({ messages: [expect.objectContaining({ id: m1.id }), expect.objectContaining({ id: m2.id })], more: false })
    expect((await cliJson('read', 'friends', '--after', String(m1.id))).messages.map((m: { id: number }) => m.id)).toEqual([m2.id])
    expect((await cliJson('read', 'friends', '--limit', '1')).messages).toHaveLength(1)
    const human = (await cli('read', 'friends')).out
    expect(human).toMatch(new RegExp(`^#${m1.id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  you: hello there$`, 'm'))
    expect(human).toContain('[4 bytes of binary data]')
  })

  it('read prints terminal escape sequences from peers harmlessly', async () => {
    const keys = deriveNodeKeys(generateMasterSeed())
    await cli('peers', 'add', encodeContactCard(createContactCard(keys, 'mallory'), keys))
    await cli('group', 'create', 'g')
    node.receive('g', keys.identity.publicKey, 'hi\u001b[2J\u001b]0;owned\u0007 there')
    const out = (await cli('read', 'g')).out
    expect(out).not.toContain('\u001b')
    expect(out).not.toContain('\u0007')
    expect(out).toContain('mallory: hi\\u{1b}[2J\\u{1b}]0;owned\\u{7} there')
  })

  it('send refuses a file over the size limit, a missing file, and text plus --file', async () => {
    await cli('group', 'create', 'g')
    const big = join(dir, 'big.bin')
    writeFileSync(big, Buffer.alloc(MAX_SEND_BYTES + 1))
    const r = await cli('send', 'g', '--file', big)
    expect(r.code).toBe(EXIT.FAILURE)
    expect(r.err).toMatch(/at most 131072 bytes \(128 KiB\) \(CLI_FILE\)/)
    expect((await cli('send', 'g', '--file', join(dir, 'nope'))).err).toContain('ENOENT')
    expect((await cli('send', 'g', 'text', '--file', big)).code).toBe(EXIT.USAGE)
    expect((await cli('send', 'g')).code).toBe(EXIT.USAGE)
    expect(node.messages('g')).toHaveLength(0)
  })

  it('read --follow --json prints the backlog then live messages as JSON lines, and ends when the node goes away', async () => {
    await cli('group', 'create', 'g')
    await cli('group', 'create', 'other')
    await node.send('g', 'before')
    const c = capture()
    const following = runCli(['--data-dir', dir, 'read', 'g', '--follow', '--json'], c.io)
    await vi.waitFor(() => expect(c.out()).toContain('before'), { timeout: 3000 })
    await node.send('other', 'not this group')
    await node.send('g', 'live')
    await vi.waitFor(() => expect(c.out()).toContain('live'), { timeout: 3000 })
    await api.close()
    expect(await following).toBe(EXIT.FAILURE)
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.slice(0, 2).map((l) => l.text)).toEqual(['before', 'live'])
    expect(lines[2]).toEqual({ error: { code: 'API_CONNECTION_CLOSED', message: expect.any(String) } })
  })

  it('stop asks the node to stop and waits until its socket is gone', async () => {
    // As in `burrow start`, stopping the node also closes its API, which removes the socket.
    const stop = node.stop.bind(node)
    node.stop = async () => {
      await stop()
      await api.close()
    }
    const r = await cli('stop', '--json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual({ stopped: true })
    expect(node.stopCalls).toBe(1)
  })
})

describe('without a running node', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-cli-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it.each([['status'], ['card'], ['peers', 'list'], ['group', 'list'], ['send', 'g', 'x'], ['read', 'g'], ['stop']])('%s exits 3 and says to run burrow start', async (...argv) => {
    const r = await run(['--data-dir', dir, ...argv])
    expect(r.code).toBe(EXIT.NOT_RUNNING)
    expect(r.err).toMatch(/burrow start.*\(API_NOT_RUNNING\)\n$/)
  })

  it('init: passphrase from BURROW_PASSPHRASE, name into config.json, JSON shape; a second init fails', async () => {
    const data = join(dir, 'node')
    const r = await run(['--data-dir', data, 'init', '--name', 'alice', '--json'], { BURROW_PASSPHRASE: 'correct horse' })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual({ peerId: expect.stringMatching(/^12D3KooW/), onion: expect.stringMatching(/^[a-z2-7]{56}\.onion$/), dataDir: data, sealed: true })
    expect(JSON.parse(readFileSync(join(data, 'config.json'), 'utf8'))).toEqual({ displayName: 'alice' })
    expect(statSync(join(data, 'config.json')).mode & 0o777).toBe(0o600)
    const again = await run(['--data-dir', data, 'init', '--no-passphrase'])
    expect(again.code).toBe(EXIT.FAILURE)
    expect(again.err).toContain('(NODE_EXISTS)')
  })

  it('init: --passphrase-stdin reads the first line; conflicting flags and a missing source are usage errors', async () => {
    const c = capture()
    c.stdin.end('from stdin\nignored\n')
    expect(await runCli(['--data-dir', join(dir, 'a'), 'init', '--passphrase-stdin', '--json'], c.io)).toBe(0)
    expect(JSON.parse(c.out()).sealed).toBe(true)
    expect((await run(['--data-dir', join(dir, 'b'), 'init', '--passphrase-stdin', '--no-passphrase'])).code).toBe(EXIT.USAGE)
    const none = await run(['--data-dir', join(dir, 'c'), 'init'])
    expect(none.code).toBe(EXIT.USAGE)
    expect(none.err).toContain('BURROW_PASSPHRASE')
    const badName = await run(['--data-dir', join(dir, 'd'), 'init', '--no-passphrase', '--name', 'a\u001bb'])
    expect(badName.err).toContain('(INVALID_DISPLAY_NAME)')
  })

  it('start with a wrong passphrase exits 5 before starting anything', async () => {
    const data = join(dir, 'sealed')
    expect((await run(['--data-dir', data, 'init'], { BURROW_PASSPHRASE: 'right' })).code).toBe(0)
    const wrong = await run(['--data-dir', data, 'start'], { BURROW_PASSPHRASE: 'wrong' })
    expect(wrong.code).toBe(EXIT.KEYSTORE)
    expect(wrong.err).toContain('(KEYSTORE_WRONG_PASSPHRASE)')
    const missing = await run(['--data-dir', data, 'start', '--json'])
    expect(missing.code).toBe(EXIT.KEYSTORE)
    expect(JSON.parse(missing.out)).toEqual({ error: { code: 'KEYSTORE_PASSPHRASE_REQUIRED', message: expect.any(String) } })
  })

  it('start in an empty directory exits 4 (no node there)', async () => {
    const r = await run(['--data-dir', join(dir, 'empty'), 'start'])
    expect(r.code).toBe(EXIT.NOT_FOUND)
    expect(r.err).toContain('(NODE_NOT_FOUND)')
  })
})
