import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../src/cli/errors.js'
import type { CliIo } from '../../src/cli/io.js'
import { formatLogRecord, humanLogDestination, logFileDestination } from '../../src/cli/log-output.js'
import { parseCommandLine } from '../../src/cli/parse.js'
import { bootstrapProgressPrinter, LineOutput, progressLine } from '../../src/cli/progress.js'
import { runCli } from '../../src/cli/run.js'
import { COMMANDS, type CommandSpec } from '../../src/cli/spec.js'
import { createContactCard, deriveNodeKeys, encodeContactCard, generateMasterSeed, identityFingerprint } from '../../src/keys/index.js'
import { MAX_SEND_BYTES, startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { MemoryNode } from '../helpers/memory-node.js'
import { GroupError } from '../../src/group/index.js'
import { createLogger } from '../../src/logging.js'
import { createForkProof, forkProofId, forkProofToText } from '../../src/log/index.js'
import { TestAuthor } from '../helpers/logs.js'

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
    [['status', '--bogus'], 'unknown option --bogus; see `burrow status --help`'],
    [['peers', 'add', '--bogus=1', 'CARD'], 'unknown option --bogus; see `burrow peers add --help`'],
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
    for (const code of ['0  ok', '2  usage error or bad input', '3  node not running', '4  not found', '5  wrong or missing passphrase', '130  cancelled']) {
      expect(r.out).toContain(code)
    }
  })

  it('--help --json prints the help as one JSON document, for burrow and for every command', async () => {
    const root = await run(['--help', '--json'])
    expect(root.code).toBe(EXIT.OK)
    const doc = JSON.parse(root.out)
    expect(doc).toMatchObject({ usage: expect.stringContaining('burrow'), commands: expect.arrayContaining([{ command: 'peers add', summary: expect.any(String) }]) })
    expect(doc.exitCodes).toContainEqual({ code: EXIT.NOT_RUNNING, meaning: expect.stringContaining('not running') })
    expect(doc.globalOptions).toContainEqual(expect.objectContaining({ flag: '--data-dir', value: 'DIR' }))
    for (const spec of everyCommand()) {
      for (const argv of [[...spec.path, '--help', '--json'], ['help', ...spec.path, '--json']]) {
        const r = await run(argv)
        expect(r.code, argv.join(' ')).toBe(EXIT.OK)
        const help = JSON.parse(r.out)
        expect(help).toMatchObject({ command: spec.path.join(' '), description: spec.description, examples: spec.examples })
        expect(help.options.map((o: { flag: string }) => o.flag)).toEqual(spec.options.map((o) => `--${o.name}`))
      }
    }
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
      fingerprint: expect.stringMatching(/^([0-9a-f]{4} ){4}[0-9a-f]{4}$/),
      tor: { state: 'ready', bootstrap: 100 },
      reachable: true,
      peers: { total: 0, connected: 0 },
      groups: 0,
      operations: 0,
      diskFull: false,
      kept: [],
      keeperQuestions: [],
      keepingQuestions: [],
    })
    const human = await cli('status')
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/^state\s+running$/m)
    expect(human.out).toMatch(/^reachable\s+yes$/m)
    expect(human.out).not.toContain('disk')
    node.diskFull = true
    expect((await cli('status')).out).toContain('the disk is nearly full (under 1 GiB free): nothing from peers is stored until space is freed')
  })

  it('card and card --qr, with the identity fingerprint', async () => {
    const fingerprint = node.status().fingerprint
    expect(await cliJson('card')).toEqual({ card: node.contactCard(), fingerprint })
    expect(await cliJson('card', '--qr')).toEqual({ card: node.contactCard(), qr: node.contactCardQr(), fingerprint })
    expect((await cli('card')).out).toBe(`${node.contactCard()}\nfingerprint  ${fingerprint}\n`)
    expect((await cli('card', '--qr')).out).toContain(node.contactCardQr())
  })

  it('peers add shows the fingerprint and asks first: y adds, anything else adds nothing; without a terminal it needs --yes', async () => {
    const bobKeys = deriveNodeKeys(generateMasterSeed())
    const card = encodeContactCard(createContactCard(bobKeys, 'bob'), bobKeys)
    const fingerprint = identityFingerprint(bobKeys.identity.publicKey)
    // Not a terminal, no --yes: refused at once (it must not hang), with the fingerprint to compare.
    const refused = await cli('peers', 'add', card)
    expect(refused.code).toBe(EXIT.USAGE)
    expect(refused.err).toContain(fingerprint)
    expect(refused.err).toContain('--yes')
    expect(node.peers()).toEqual([])
    // On a terminal: the card's fingerprint, then the question.
    for (const [answer, added] of [['n\n', false], ['\n', false], ['yes\n', true]] as const) {
      const c = capture()
      Object.assign(c.stdin, { isTTY: true })
      const done = runCli(['--data-dir', dir, 'peers', 'add', card], c.io)
      await vi.waitFor(() => expect(c.err()).toContain('Add bob? [y/N] '), { timeout: 3000 })
      expect(c.err()).toMatch(new RegExp(`^fingerprint\\s+${fingerprint}$`, 'm'))
      expect(c.out()).toBe('')
      c.stdin.write(answer)
      expect(await done).toBe(added ? EXIT.OK : EXIT.FAILURE)
      expect(node.peers().length).toBe(added ? 1 : 0)
      if (added) expect(c.out()).toContain(`fingerprint ${fingerprint}`)
    }
  })

  it('peers add, list (table and JSON), remove; unknown peer exits 4', async () => {
    const added = await cliJson('peers', 'add', '--yes', peerCard('bob'))
    expect(added).toMatchObject({ name: 'bob', connected: false, peerId: expect.any(String), onion: expect.stringMatching(/\.onion$/), fingerprint: expect.any(String) })
    node.setConnected('bob', true)
    const list = await cliJson('peers', 'list')
    expect(list).toEqual({ peers: [expect.objectContaining({ peerId: added.peerId, connected: true, lastSeen: expect.any(Number), errors: [], forked: false })] })
    const table = (await cli('peers', 'list')).out.split('\n')
    expect(table[0]).toMatch(/^NAME\s+PEER ID\s+ONION\s+CONNECTED\s+LAST SEEN\s+LAST ERROR\s+FINGERPRINT$/)
    expect(table[1]).toMatch(new RegExp(`^bob\\s+12D3KooW…\\w{4}\\s+[a-z2-7]{10}….onion\\s+yes\\s+\\d+ s ago\\s+-\\s+${added.fingerprint}$`))
    // Columns line up: every row starts its second column at the same place.
    expect(table[1]!.indexOf('12D3')).toBe(table[0]!.indexOf('PEER ID'))
    expect(await cliJson('peers', 'remove', 'bob')).toMatchObject({ peerId: added.peerId })
    const missing = await cli('peers', 'remove', 'bob')
    expect(missing.code).toBe(EXIT.NOT_FOUND)
    expect(missing.err).toMatch(/\(PEER_UNKNOWN\)\n$/)
  })

  it("peers add refuses this node's own card before asking anything: bad input, exit 2", async () => {
    const own = node.contactCard()
    for (const argv of [['peers', 'add', own], ['peers', 'add', '--yes', peerCard('bob'), own]]) {
      const c = capture()
      Object.assign(c.stdin, { isTTY: true })
      expect(await runCli(['--data-dir', dir, ...argv], c.io)).toBe(EXIT.USAGE)
      expect(c.err()).toBe(`burrow: that is this node's own contact card (fingerprint ${node.status().fingerprint}); add the card of another node (PEER_REJECTED)\n`)
    }
    expect(node.peers()).toEqual([])
  })

  it('a pasted `burrow card` output (card and fingerprint lines) is told to be the first line only', async () => {
    const bob = peerCard('bob')
    const r = await cli('peers', 'add', '--yes', `${bob}\nfingerprint  0000 1111 2222 3333 4444`)
    expect(r.code).toBe(EXIT.USAGE)
    expect(r.err).toBe('burrow: invalid contact card: a card is one line: the first line of `burrow card` output, without the fingerprint line (INVALID_CONTACT_CARD)\n')
    expect((await cli('peers', 'add', '--yes', 'hello world')).err).toContain('checksum or character error')
  })

  it('peers add takes several cards in one call; one bad card adds none', async () => {
    const [bob, carol] = [peerCard('bob'), peerCard('carol')]
    const bad = await cli('peers', 'add', '--yes', bob, 'burrow1garbage')
    expect(bad.code).toBe(EXIT.USAGE)
    expect(node.peers()).toEqual([])
    expect(await cliJson('peers', 'add', '--yes', bob, carol)).toEqual({ peers: [expect.objectContaining({ name: 'bob' }), expect.objectContaining({ name: 'carol' })] })
    expect(node.peers().map((p) => p.name)).toEqual(['bob', 'carol'])
    const human = await cli('peers', 'add', '--yes', peerCard('dave'), peerCard('erin'))
    expect(human.out).toMatch(/^added dave: .*\nadded erin: .*\n$/)
  })

  it('a corrupted or malformed card is bad input: exit 2, nothing added', async () => {
    const card = peerCard('bob')
    const flipped = card.slice(0, 20) + (card[20] === 'q' ? 'p' : 'q') + card.slice(21)
    for (const bad of [flipped, card.slice(0, -3), 'burrow1qqqq', 'not a card']) {
      const r = await cli('peers', 'add', '--yes', bad)
      expect(r.code, bad).toBe(EXIT.USAGE)
      expect(r.err).toMatch(/\(INVALID_CONTACT_CARD\)\n$/)
      const j = await cli('peers', 'add', bad, '--json')
      expect(j.code).toBe(EXIT.USAGE)
      expect(JSON.parse(j.out)).toEqual({ error: { code: 'INVALID_CONTACT_CARD', message: expect.any(String) } })
    }
    expect((await cliJson('peers', 'list')).peers).toEqual([])
  })

  it('groups: create, invite, members, list, rotate, remove; unknown group exits 4', async () => {
    await cli('peers', 'add', '--yes', peerCard('bob'))
    node.setConnected('bob', true)
    const g = await cliJson('group', 'create', 'friends')
    expect(g).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/), name: 'friends', isOwner: true, epoch: 0, members: [expect.objectContaining({ self: true, owner: true })], active: true })
    expect(await cliJson('group', 'invite', 'friends', 'bob')).toMatchObject({ state: 'invited', group: { id: g.id, epoch: 1, members: [expect.anything(), expect.anything()] } })
    const twice = await cli('group', 'invite', 'friends', 'bob')
    expect(twice.code).toBe(EXIT.USAGE)
    expect(twice.err).toContain('(GROUP_ALREADY_A_MEMBER)')
    const members = await cliJson('group', 'members', 'friends')
    expect(members.group).toBe(g.id)
    expect(members.members).toEqual(
      expect.arrayContaining([expect.objectContaining({ self: true, owner: true }), expect.objectContaining({ name: 'bob', self: false, owner: false })]),
    )
    expect((await cli('group', 'members', 'friends')).out).toMatch(/^you\s+12D3KooW…\w{4}\s+\w+…\w+\s+owner$/m)
    expect(await cliJson('group', 'list')).toEqual({ groups: [expect.objectContaining({ id: g.id, epoch: 1 })] })
    expect((await cli('group', 'list')).out).toMatch(/^[0-9a-f]{12}\s+friends\s+owner\s+1\s+2\s+off\s+active$/m)
    expect(await cliJson('group', 'rotate', 'friends')).toMatchObject({ state: 'committed', epoch: 2 })
    expect((await cli('group', 'rotate', 'friends')).out).toMatch(/^rotated your keys in friends \([0-9a-f]{12}\): committed at epoch 3$/m)
    expect(await cliJson('group', 'remove', 'friends', 'bob')).toMatchObject({ epoch: 4, members: [expect.objectContaining({ self: true })] })
    const missing = await cli('group', 'members', 'enemies')
    expect(missing.code).toBe(EXIT.NOT_FOUND)
    expect(missing.err).toContain('(GROUP_NOT_FOUND)')
  })

  it('group keeper add, list, remove; group keepers shows the answer; kept; bad input is a usage error', async () => {
    await cli('peers', 'add', '--yes', peerCard('vault'))
    const g = await cliJson('group', 'create', 'friends')
    const added = await cliJson('group', 'keeper', 'add', 'friends', 'vault')
    expect(added).toMatchObject({ groupId: g.id, decision: 'allow', keepers: [{ name: 'vault', peerId: expect.stringMatching(/^12D3KooW/) }] })
    expect((await cli('group', 'keeper', 'list', 'friends')).out).toMatch(/^vault\s+12D3KooW\w+\s+\w{56}\.onion$/m)
    expect((await cli('group', 'keepers', 'friends')).out).toContain('friends: allowed')
    expect(await cliJson('group', 'keeper', 'remove', 'friends', 'vault')).toMatchObject({ keepers: [] })
    const gone = await cli('group', 'keeper', 'remove', 'friends', 'vault')
    expect(gone.err).toContain('(KEEPER_NOT_FOUND)')
    expect((await cli('group', 'keeper', 'steal', 'friends')).code).toBe(EXIT.USAGE)
    const owner = await cli('group', 'keepers', 'deny', 'friends')
    expect(owner.err).toContain('(GROUP_INVALID_ARGUMENT)')
    expect(await cliJson('kept')).toEqual({ kept: [], orderers: [] })
    expect((await cli('kept')).out).toBe('this node keeps no group\n')
    // Whether this node keeps a peer's groups: the user's answer, per peer.
    expect(await cliJson('kept', 'allow', 'vault')).toMatchObject({ name: 'vault', decision: 'allow', groups: 0 })
    expect((await cli('kept', 'deny', 'vault')).out).toBe('vault\'s orders are refused; no group is kept for it\n')
    expect((await cli('kept')).out).toMatch(/^vault\s+12D3KooW\w+\s+deny\s+0$/m)
    expect((await cli('kept', 'allow')).code).toBe(EXIT.USAGE)
    expect((await cli('kept', 'maybe', 'vault')).code).toBe(EXIT.USAGE)
    expect((await cli('kept', 'allow', 'nobody')).err).toContain('(PEER_UNKNOWN)')
  })

  it('send text; read with --after and --limit; binary shows as a size', async () => {
    const g = await cliJson('group', 'create', 'friends')
    const m1 = await cliJson('send', 'friends', 'hello there')
    expect(m1).toMatchObject({ id: expect.any(Number), group: g.id, self: true, text: 'hello there', data: Buffer.from('hello there').toString('base64') })
    const m2 = await cliJson('send', 'friends', 'second')
    const bin = node.receive('friends', deriveNodeKeys(generateMasterSeed()).identity.publicKey, new Uint8Array([0, 1, 2, 255]))
    expect(await cliJson('read', 'friends')).toEqual({ messages: [expect.objectContaining({ id: m1.id }), expect.objectContaining({ id: m2.id }), expect.objectContaining({ id: bin.id })], more: false })
    expect((await cliJson('read', 'friends', '--after', String(m1.id))).messages.map((m: { id: number }) => m.id)).toEqual([m2.id, bin.id])
    expect((await cliJson('read', 'friends', '--limit', '1')).messages).toHaveLength(1)
    const human = (await cli('read', 'friends')).out
    expect(human).toMatch(new RegExp(`^#${m1.id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  you: hello there$`, 'm'))
    expect(human).toContain('[4 bytes of binary data]')
  })

  it('read prints terminal escape sequences from peers harmlessly', async () => {
    const keys = deriveNodeKeys(generateMasterSeed())
    await cli('peers', 'add', '--yes', encodeContactCard(createContactCard(keys, 'mallory'), keys))
    await cli('group', 'create', 'g')
    node.receive('g', keys.identity.publicKey, 'hi\u001b[2J\u001b]0;owned\u0007 there')
    const out = (await cli('read', 'g')).out
    expect(out).not.toContain('\u001b')
    expect(out).not.toContain('\u0007')
    expect(out).toContain('mallory: hi\\u{1b}[2J\\u{1b}]0;owned\\u{7} there')
  })

  it('an error carrying what a peer sent reaches the terminal harmlessly (issue 19 item 9)', async () => {
    // A node's error can quote a peer (a key-package refusal, a name): here the node answers with escapes in its message.
    node.failNext(new GroupError('GROUP_KEY_PACKAGE_REFUSED', 'the peer refused to give a key package (\u001b]0;owned\u0007\u001b[2J)'))
    await cli('group', 'create', 'g')
    await cli('peers', 'add', '--yes', peerCard('bob'))
    const r = await cli('group', 'invite', 'g', 'bob')
    expect(r.code).not.toBe(0)
    expect(r.err).not.toContain('\u001b')
    expect(r.err).not.toContain('\u0007')
    expect(r.err).toContain('\\u{1b}]0;owned\\u{7}\\u{1b}[2J')
  })

  it('send refuses a missing file, a folder, and text plus --file', async () => {
    await cli('group', 'create', 'g')
    const missing = await cli('send', 'g', '--file', join(dir, 'nope'))
    expect(missing.code).toBe(EXIT.USAGE)
    expect(missing.err).toBe(`burrow: cannot read ${join(dir, 'nope')}: no such file or folder (CLI_FILE)\n`)
    expect((await cli('send', 'g', '--file', dir)).err).toContain('is not a regular file (CLI_FILE)')
    writeFileSync(join(dir, 'f'), 'x')
    expect((await cli('send', 'g', 'text', '--file', join(dir, 'f'))).code).toBe(EXIT.USAGE)
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

  it.each([[['--json']], [[]]])('read --follow %j ended by SIGINT or SIGTERM exits 0 and prints nothing more', async (extra) => {
    await cli('group', 'create', 'g')
    await node.send('g', 'before')
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const c = capture()
      const listeners = process.listenerCount(signal)
      const following = runCli(['--data-dir', dir, 'read', 'g', '--follow', ...extra], c.io)
      await vi.waitFor(() => expect(c.out()).toContain('before'), { timeout: 3000 })
      expect(process.listenerCount(signal)).toBe(listeners + 1)
      // What the terminal sends on Ctrl-C; emitted on the process, so only the command's own handler runs.
      process.emit(signal, signal)
      expect(await following).toBe(EXIT.OK)
      expect(c.err()).toBe('')
      expect(c.out().trim().split('\n')).toHaveLength(1)
      expect(c.out()).not.toContain('API_CONNECTION_CLOSED')
      expect(process.listenerCount(signal)).toBe(listeners)
    }
  })

  it('group invite to a peer that is away: says it waits, completes when the peer connects', async () => {
    await cli('peers', 'add', '--yes', peerCard('bob'))
    await cli('group', 'create', 'team')
    const c = capture()
    const inviting = runCli(['--data-dir', dir, 'group', 'invite', 'team', 'bob'], c.io)
    await vi.waitFor(() => expect(c.err()).toContain('waiting for bob'), { timeout: 3000 })
    expect(c.err()).toMatch(/bob is not reachable now: the invitation is queued \(it survives a restart of your node\)/)
    expect(c.err()).toContain('Ctrl-C stops waiting and leaves the invitation queued; `burrow group invite --cancel team bob` cancels it')
    expect((await cli('group', 'members', 'team')).out).toMatch(/^invitation queued for bob since \d+ s ago \(0 attempts\); sent when the peer comes online$/m)
    node.setConnected('bob', true)
    expect(await inviting).toBe(EXIT.OK)
    expect(c.out()).toMatch(/^invited bob to team \([0-9a-f]{12}\): epoch 1, 2 members$/m)
    expect((await cliJson('group', 'members', 'team')).pending).toEqual([])
  })

  it('group invite: Ctrl-C stops waiting and leaves the invitation queued; --no-wait; --cancel', async () => {
    await cli('peers', 'add', '--yes', peerCard('bob'))
    await cli('group', 'create', 'team')
    const c = capture()
    const inviting = runCli(['--data-dir', dir, 'group', 'invite', 'team', 'bob'], c.io)
    await vi.waitFor(() => expect(c.err()).toContain('waiting for bob'), { timeout: 3000 })
    process.emit('SIGINT', 'SIGINT')
    expect(await inviting).toBe(EXIT.OK)
    expect(c.err()).toMatch(/stopped waiting; the invitation of bob stays queued and goes out when bob comes online/)
    expect((await cliJson('group', 'members', 'team')).pending).toEqual([expect.objectContaining({ name: 'bob', attempts: 0 })])
    // Asking again is the same invitation; --no-wait returns at once.
    expect(await cliJson('group', 'invite', '--no-wait', 'team', 'bob')).toMatchObject({ state: 'queued', invite: { name: 'bob' } })
    expect((await cliJson('group', 'members', 'team')).pending).toHaveLength(1)
    expect(await cliJson('group', 'invite', '--cancel', 'team', 'bob')).toMatchObject({ name: 'bob' })
    expect((await cliJson('group', 'members', 'team')).pending).toEqual([])
    const again = await cli('group', 'invite', '--cancel', 'team', 'bob')
    expect(again.code).toBe(EXIT.NOT_FOUND)
    expect(again.err).toContain('(NODE_INVITE_NOT_QUEUED)')
  })

  it("group leave, rename, and a member's rotation tell what happened", async () => {
    const owner = deriveNodeKeys(generateMasterSeed())
    await cli('peers', 'add', '--yes', encodeContactCard(createContactCard(owner, 'alice'), owner))
    node.joined('club', owner.identity.publicKey)
    expect((await cli('group', 'rotate', 'club')).out).toMatch(/^proposed a key update in club \([0-9a-f]{12}\); it takes effect when the owner \(alice\) commits it/m)
    expect((await cli('group', 'list')).out).toMatch(/^[0-9a-f]{12}\s+club\s+member\s+1\s+2\s+off\s+active, update proposed$/m)
    const left = await cli('group', 'leave', 'club')
    expect(left.out).toMatch(/^asked to leave club \([0-9a-f]{12}\): it shows as "leaving" until the owner \(alice\) commits it, then as "left"/m)
    expect((await cli('group', 'list')).out).toMatch(/^[0-9a-f]{12}\s+club\s+member\s+1\s+2\s+off\s+leaving$/m)
    expect((await cli('group', 'rename', 'club', 'my club')).out).toMatch(/renamed [0-9a-f]{12} to my club on this node only \(the owner's name for it: club\)/)
    await cli('group', 'create', 'mine')
    expect((await cli('group', 'rename', 'mine', 'ours', '--description', 'we')).out).toMatch(/renamed [0-9a-f]{12} to ours for every member \(described: we\)/)
    const taken = await cli('group', 'rename', 'ours', 'my club')
    expect(taken.code).toBe(EXIT.USAGE)
    expect(taken.err).toContain('(GROUP_NAME_TAKEN)')
  })

  it("a group name with a line break stays on its line (an owner chooses it for every member)", async () => {
    const owner = deriveNodeKeys(generateMasterSeed())
    await cli('peers', 'add', '--yes', encodeContactCard(createContactCard(owner, 'alice'), owner))
    node.joined('club\n[alice] hi', owner.identity.publicKey)
    const list = await cli('group', 'list')
    expect(list.out).toMatch(/^[0-9a-f]{12}\s+club\\u\{a\}\[alice\] hi\s+member/m)
    const rotated = await cli('group', 'rotate', 'club\n[alice] hi')
    expect(rotated.out).toMatch(/^proposed a key update in club\\u\{a\}\[alice\] hi \([0-9a-f]{12}\);/)
    for (const r of [list, rotated]) expect(r.out).not.toMatch(/^\[alice\]/m)
  })

  it('forks lists and exports the proofs the node holds', async () => {
    expect((await cli('forks')).out).toMatch(/^no fork proofs/)
    const seed = randomBytes(32)
    const author = new TestAuthor(seed)
    const log = new Uint8Array(32).fill(5)
    const proof = createForkProof(author.next(log).headerBytes, new TestAuthor(seed).next(log).headerBytes)
    const view = { id: forkProofId(proof), author: Buffer.from(author.publicKey).toString('hex'), authorPeerId: 'p', authorName: 'bob', fingerprint: identityFingerprint(author.publicKey), self: false, logId: '05'.repeat(32), seq: 0, detectedAt: Date.now() }
    node.addFork(view, forkProofToText(proof), 'p')
    expect(await cliJson('forks')).toEqual({ forks: [view] })
    expect(await cliJson('forks', 'list')).toEqual({ forks: [view] })
    expect((await cli('forks')).out).toMatch(new RegExp(`^${view.id}\\s+bob\\s+${view.fingerprint}\\s+050505050505\\s+0\\s+\\d+ s ago$`, 'm'))
    expect((await cli('forks', 'export', view.id.slice(0, 6))).out).toBe(`${forkProofToText(proof)}\n`)
    const unknown = await cli('forks', 'export', 'ffffff')
    expect(unknown.code).toBe(EXIT.NOT_FOUND)
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

  const apiCommands = [['status'], ['card'], ['peers', 'list'], ['group', 'list'], ['send', 'g', 'x'], ['read', 'g'], ['read', 'g', '--follow'], ['stop']]

  it.each(apiCommands)('%s with no node in the data directory exits 4 and says to run burrow init', async (...argv) => {
    const r = await run(['--data-dir', dir, ...argv])
    expect(r.code).toBe(EXIT.NOT_FOUND)
    expect(r.err).toBe(`burrow: no node in ${dir}; create one with \`burrow init\` (NODE_NOT_FOUND)\n`)
  })

  // card and peers add work without a running node (cli-at-rest.test.ts).
  it.each(apiCommands.filter((c) => c[0] !== 'card'))('%s with a node that is not running exits 3 and says to run burrow start', async (...argv) => {
    expect((await run(['--data-dir', dir, 'init', '--no-passphrase'])).code).toBe(0)
    const r = await run(['--data-dir', dir, ...argv])
    expect(r.code).toBe(EXIT.NOT_RUNNING)
    expect(r.err).toBe(`burrow: the node in ${dir} is not running; start it with \`burrow start\` (API_NOT_RUNNING)\n`)
  })

  it('verify-fork checks a proof with no node: from the argument or stdin; a broken one exits 2', async () => {
    const seed = randomBytes(32)
    const author = new TestAuthor(seed)
    const log = new Uint8Array(32).fill(9)
    const first = author.next(log)
    const proof = createForkProof(first.headerBytes, new TestAuthor(seed).next(log).headerBytes)
    const text = forkProofToText(proof)
    const r = await run(['--data-dir', dir, 'verify-fork', text, '--json'])
    expect(r.code).toBe(EXIT.OK)
    expect(JSON.parse(r.out)).toEqual({ valid: true, id: forkProofId(proof), author: Buffer.from(author.publicKey).toString('hex'), fingerprint: identityFingerprint(author.publicKey), logId: '09'.repeat(32), seq: 0 })
    expect(readdirSync(dir)).toEqual([])
    const c = capture()
    const fromStdin = runCli(['verify-fork', '-'], c.io)
    c.stdin.end(`\n  ${text}\r\n`)
    expect(await fromStdin).toBe(EXIT.OK)
    expect(c.out()).toMatch(new RegExp(`^valid fork proof: the author signed two different operations at one position\\nid\\s+${forkProofId(proof)}\\n`))
    // The same header twice proves nothing; a flipped character breaks the signature or the encoding.
    const same = forkProofToText({ headerA: first.headerBytes, headerB: first.headerBytes })
    const flipped = text.slice(0, 60) + (text[60] === 'A' ? 'B' : 'A') + text.slice(61)
    for (const bad of [same, flipped, 'burrow-fork-proof:', 'not a proof']) {
      const b = await run(['verify-fork', bad])
      expect(b.code, bad.slice(0, 30)).toBe(EXIT.USAGE)
      expect(b.err).toMatch(/\(LOG_INVALID_FORK_PROOF\)\n$/)
    }
  })

  it('init: passphrase from BURROW_PASSPHRASE, name into config.json, JSON shape; a second init fails', async () => {
    const data = join(dir, 'node')
    const r = await run(['--data-dir', data, 'init', '--name', 'alice', '--json'], { BURROW_PASSPHRASE: 'correct horse' })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual({ peerId: expect.stringMatching(/^12D3KooW/), onion: expect.stringMatching(/^[a-z2-7]{56}\.onion$/), dataDir: data, sealed: true })
    expect(JSON.parse(readFileSync(join(data, 'config.json'), 'utf8'))).toEqual({ displayName: 'alice' })
    expect(statSync(join(data, 'config.json')).mode & 0o777).toBe(0o600)
    const again = await run(['--data-dir', data, 'init', '--no-passphrase'])
    expect(again.code).toBe(EXIT.USAGE)
    expect(again.err).toContain('(NODE_EXISTS)')
    // The hint to start carries the data directory (and config) given, ready to paste.
    const human = await run(['--data-dir', join(dir, 'a$b'), 'init', '--no-passphrase', '--config', join(dir, "it's.json")])
    expect(human.out).toContain(`; next: burrow --data-dir '${join(dir, 'a$b')}' --config '${join(dir, "it'\\''s.json")}' start\n`)
    expect((await run(['init', '--no-passphrase'], { XDG_DATA_HOME: join(dir, 'xdg') })).out).toContain('; next: burrow start\n')
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

  it('--passphrase-file: the whole file but a trailing newline; refused when every user may read it, missing or empty', async () => {
    const data = join(dir, 'sealed')
    const file = join(dir, 'passphrase')
    writeFileSync(file, 'correct horse battery\n', { mode: 0o600 })
    const made = await run(['--data-dir', data, 'init', '--passphrase-file', file, '--json'])
    expect(made.code).toBe(0)
    expect(JSON.parse(made.out).sealed).toBe(true)
    const { Burrow } = await import('../../src/node/burrow.js')
    await (await Burrow.open({ dataDir: data, passphrase: 'correct horse battery' })).stop()
    await expect(Burrow.open({ dataDir: data, passphrase: 'correct horse battery\n' })).rejects.toMatchObject({ code: 'KEYSTORE_WRONG_PASSPHRASE' })

    const wrong = join(dir, 'wrong')
    writeFileSync(wrong, 'not it', { mode: 0o600 })
    const r = await run(['--data-dir', data, 'start', '--passphrase-file', wrong])
    expect(r.code).toBe(EXIT.KEYSTORE)
    expect(r.err).toContain('(KEYSTORE_WRONG_PASSPHRASE)')
    expect(r.err + r.out).not.toContain('not it')

    // Group bits pass (systemd grants a credential to the service's user by an ACL, seen as group bits); other bits do not.
    chmodSync(wrong, 0o640)
    expect((await run(['--data-dir', data, 'start', '--passphrase-file', wrong])).err).toContain('(KEYSTORE_WRONG_PASSPHRASE)')
    chmodSync(wrong, 0o644)
    const open = await run(['--data-dir', data, 'start', '--passphrase-file', wrong])
    expect(open.code).toBe(EXIT.KEYSTORE)
    expect(open.err).toMatch(/may read it \(mode 0644\); `chmod 600` it.*\(CLI_PASSPHRASE_FILE\)\n$/)
    const missing = await run(['--data-dir', data, 'start', '--passphrase-file', join(dir, 'nope'), '--json'])
    expect(missing.code).toBe(EXIT.KEYSTORE)
    expect(JSON.parse(missing.out).error).toEqual({ code: 'CLI_PASSPHRASE_FILE', message: expect.stringContaining('ENOENT') })
    const empty = join(dir, 'empty')
    writeFileSync(empty, '\n', { mode: 0o600 })
    expect((await run(['--data-dir', data, 'start', '--passphrase-file', empty])).err).toContain('it is empty (CLI_PASSPHRASE_FILE)')

    expect((await run(['--data-dir', data, 'start', '--passphrase-file', file, '--passphrase-stdin'])).code).toBe(EXIT.USAGE)
    expect((await run(['--data-dir', join(dir, 'x'), 'init', '--passphrase-file', file, '--no-passphrase'])).code).toBe(EXIT.USAGE)
  })

  it('start asks for the passphrase up to three times at a terminal; Ctrl-C at the prompt exits 130 quietly', async () => {
    const data = join(dir, 'sealed')
    expect((await run(['--data-dir', data, 'init'], { BURROW_PASSPHRASE: 'right' })).code).toBe(0)

    /** Runs `start` on a pretend terminal, typing one answer at each prompt. */
    const startTyping = async (answers: string[], extra: string[] = []): Promise<{ code: number; err: string; out: string }> => {
      const c = capture()
      Object.assign(c.stdin, { isTTY: true, setRawMode: () => c.stdin })
      const running = runCli(['--data-dir', data, ...extra, 'start'], c.io)
      for (const [i, answer] of answers.entries()) {
        await vi.waitFor(() => expect(c.err().split('Passphrase: ').length - 1).toBe(i + 1), { timeout: 10_000 })
        c.stdin.write(answer)
      }
      return { code: await running, err: c.err(), out: c.out() }
    }

    const thrice = await startTyping(['a\r', 'b\r', 'c\r'])
    expect(thrice.code).toBe(EXIT.KEYSTORE)
    expect(thrice.err).toContain('wrong passphrase; 2 tries left')
    expect(thrice.err).toContain('wrong passphrase; 1 try left')
    expect(thrice.err).toMatch(/\(KEYSTORE_WRONG_PASSPHRASE\)\n$/)
    expect(thrice.err.split('Passphrase: ')).toHaveLength(4)

    // The third try is right: the node opens and `start` goes on, to fail only at its API socket's path (a plain file there).
    writeFileSync(join(data, 'burrow.sock'), '')
    const third = await startTyping(['a\r', 'b\r', 'right\r'], ['--tor-path', process.execPath])
    expect(third.err).not.toContain('KEYSTORE')
    expect(third.err).toMatch(/\(API_SOCKET_UNUSABLE\)\n$/)
    expect(third.code).toBe(EXIT.FAILURE)
    rmSync(join(data, 'burrow.sock'))

    const cancelled = await startTyping(['\u0003'])
    expect(cancelled.code).toBe(EXIT.CANCELLED)
    expect(cancelled.err).toBe('Passphrase: \n')
    expect(cancelled.out).toBe('')
  })

  it('start refuses an unknown --log-level and a --log-file it cannot open, before asking for anything', async () => {
    const data = join(dir, 'node')
    expect((await run(['--data-dir', data, 'init', '--no-passphrase'])).code).toBe(0)
    const level = await run(['--data-dir', data, 'start', '--log-level', 'loud'])
    expect(level.code).toBe(EXIT.USAGE)
    expect(level.err).toContain('--log-level must be one of fatal, error, warn, info, debug, trace, silent')
    const file = await run(['--data-dir', data, 'start', '--log-file', join(dir, 'missing', 'burrow.log')])
    expect(file.code).toBe(EXIT.USAGE)
    expect(file.err).toMatch(/--log-file .*missing\/burrow.log: cannot open it \(ENOENT\) \(CLI_FILE\)\n$/)
  })

  it('start checks the tor binary and the test network before asking for the passphrase or saying "starting"', async () => {
    const data = join(dir, 'node')
    expect((await run(['--data-dir', data, 'init'], { BURROW_PASSPHRASE: 'correct horse' })).code).toBe(0)
    const tor = await run(['--data-dir', data, '--tor-path', join(dir, 'no-tor'), 'start'])
    expect(tor).toMatchObject({ code: EXIT.FAILURE, out: '' })
    expect(tor.err).toMatch(/^burrow: no executable tor at .*no-tor; .* \(TOR_NOT_FOUND\)\n$/)
    const testnet = await run(['--data-dir', data, '--testnet', join(dir, 'no-net'), 'start'])
    expect(testnet).toMatchObject({ code: EXIT.FAILURE, out: '', err: `burrow: no test network in ${join(dir, 'no-net')} (no state.json) (TESTNET_NOT_FOUND)\n` })
  })

  it('a config.json key the node does not know is refused, with the known keys and the likely one', async () => {
    const data = join(dir, 'node')
    expect((await run(['--data-dir', data, 'init', '--no-passphrase'])).code).toBe(0)
    writeFileSync(join(data, 'config.json'), JSON.stringify({ displayName: 'bob', torpath: '/usr/sbin/tor' }))
    const r = await run(['--data-dir', data, 'start'])
    expect(r.code).toBe(EXIT.USAGE)
    expect(r.err).toBe(
      `burrow: the config file ${join(data, 'config.json')}: unknown config key "torpath" (did you mean "torPath"?); known keys: displayName, torPath, testnet, torrcLines, bridges, attach, logLevel, logFile, keeperGroupQuota, keeperTotalQuota (CONFIG_INVALID)\n`,
    )
    writeFileSync(join(data, 'config.json'), JSON.stringify({ attach: { controlPort: 9051, cookie: '/x' } }))
    expect((await run(['--data-dir', data, 'card'])).err).toContain('unknown config key "attach.cookie"; known keys: controlHost, controlPort, controlSocket, cookieFile (CONFIG_INVALID)')
  })

  it('start in an empty directory exits 4 (no node there)', async () => {
    const r = await run(['--data-dir', join(dir, 'empty'), 'start'])
    expect(r.code).toBe(EXIT.NOT_FOUND)
    expect(r.err).toContain('(NODE_NOT_FOUND)')
  })
})

describe('terminal output of burrow start', () => {
  const progress = (progress: number, summary: string, tag = 'x') => ({ progress, tag, summary })

  /** A stream that records writes and plays a terminal of `columns` columns (or a pipe). */
  function screen(columns: number | undefined) {
    let text = ''
    const stream = Object.assign(new EventEmitter(), { write: (t: string) => (text += t), isTTY: columns !== undefined, columns })
    return { stream, text: () => text }
  }

  it('the progress line fits the terminal and shortens tor\'s summary instead of the bar', () => {
    const summary = 'Loading relay descriptors for internal paths (45 of 6000 relays are usable)'
    for (const columns of [31, 40, 60, 80, 120, 300]) {
      const line = progressLine('tor', progress(45, summary), columns)
      expect(line.length, `${columns}: ${line}`).toBeLessThanOrEqual(columns - 1)
      expect(line).toMatch(/^tor \[#+\.+\]  45% /)
      const cells = /\[([#.]+)\]/.exec(line)![1]!.length
      expect(cells).toBeGreaterThanOrEqual(10)
      expect(cells).toBeLessThanOrEqual(30)
    }
    expect(progressLine('tor', progress(45, summary), 300)).toContain(summary)
    expect(progressLine('tor', progress(45, summary), 60)).toMatch(/…$/)
    expect(progressLine('tor', progress(100, 'Done'), 80)).toBe(`tor [${'#'.repeat(30)}] 100% Done`)
    expect(progressLine('tor', progress(5, 'x'), 20)).toBe('tor   5%')
    expect(progressLine('tor', progress(5, 'a\u001b[2Jb'), 80)).not.toContain('\u001b')
  })

  it('on a terminal, every other line erases the progress line and draws it again below itself; a stop ends it in place', () => {
    const err = screen(80)
    const out = screen(80)
    const lines = new LineOutput(out.stream, err.stream)
    const bar = bootstrapProgressPrinter('tor', lines)
    bar.update(progress(10, 'Connecting'))
    lines.err('warn: something')
    lines.out('node 12D3 starting')
    bar.update(progress(50, 'Loading'))
    bar.done('bootstrapped')
    lines.err('stopping (SIGINT)')
    bar.update(progress(60, 'Loading'))
    lines.endProgress()
    lines.err('stopping (SIGTERM)')
    const erase = '\r\u001b[2K'
    const p10 = progressLine('tor', progress(10, 'Connecting'), 80)
    const p50 = progressLine('tor', progress(50, 'Loading'), 80)
    expect(err.text()).toBe(
      `${erase}${p10}` + `${erase}warn: something\n${p10}` + `${erase}${p10}` + `${erase}${p50}` + `${erase}tor bootstrapped\n` + 'stopping (SIGINT)\n' +
        // A stop leaves the bar where it stood and writes below it.
        `${erase}${progressLine('tor', progress(60, 'Loading'), 80)}\nstopping (SIGTERM)\n`,
    )
    expect(out.text()).toBe('node 12D3 starting\n')
  })

  it('a resized terminal gets the progress line redrawn to its new width', () => {
    const err = screen(100)
    const lines = new LineOutput(screen(100).stream, err.stream)
    const stop = lines.redrawOnResize()
    const p = progress(40, 'Loading relay descriptors for internal paths')
    bootstrapProgressPrinter('tor', lines).update(p)
    err.stream.columns = 40
    err.stream.emit('resize')
    stop()
    err.stream.columns = 60
    err.stream.emit('resize')
    expect(err.text()).toBe(`\r\u001b[2K${progressLine('tor', p, 100)}\r\u001b[2K${progressLine('tor', p, 40)}`)
    expect(err.stream.listenerCount('resize')).toBe(0)
  })

  it('without a terminal, one plain line per bootstrap phase and no control characters', () => {
    const err = screen(undefined)
    const lines = new LineOutput(screen(undefined).stream, err.stream)
    const bar = bootstrapProgressPrinter('tor', lines)
    bar.update(progress(10, 'Connecting', 'conn'))
    bar.update(progress(12, 'Connecting', 'conn'))
    bar.update(progress(50, 'Loading', 'load'))
    lines.err('stopping (SIGINT)')
    expect(err.text()).toBe('tor  10% Connecting\ntor  50% Loading\nstopping (SIGINT)\n')
  })

  it('log records print as plain lines: level, message, fields; never raw JSON; control characters escaped', () => {
    expect(formatLogRecord('{"level":40,"time":1,"msg":"tor control: connection ended unexpectedly","attempt":2,"reason":"read ECONNRESET"}\n')).toBe(
      'warn: tor control: connection ended unexpectedly (attempt=2, reason="read ECONNRESET")',
    )
    expect(formatLogRecord('{"level":50,"msg":"sync failed","err":{"type":"Error","message":"boom","stack":"Error: boom\\n at x"},"peer":"12D3"}')).toBe(
      'error: sync failed (err="boom", peer=12D3)',
    )
    expect(formatLogRecord('{"level":30,"msg":"from a peer: \\u001b[2J"}')).toBe('info: from a peer: \\u{1b}[2J')
  })

  it('a logger on the human destination redacts secrets and prints no JSON', () => {
    const printed: string[] = []
    const log = createLogger({ level: 'info' }, humanLogDestination((l) => printed.push(l)))
    log.warn({ passphrase: 'hunter2', seed: 'abcd', peer: 'bob' }, 'unlocking')
    log.debug('not at this level')
    expect(printed).toEqual(['warn: unlocking (passphrase=[redacted], seed=[redacted], peer=bob)'])
  })

  it('--log-file: JSON lines appended to a file created 0600 (an existing file is tightened), secrets redacted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-log-'))
    try {
      const path = join(dir, 'burrow.log')
      const log = createLogger({ level: 'info' }, logFileDestination(path))
      log.warn({ passphrase: 'hunter2', peer: 'bob' }, 'first')
      expect(statSync(path).mode & 0o777).toBe(0o600)
      chmodSync(path, 0o644)
      createLogger({ level: 'info' }, logFileDestination(path)).info('second')
      expect(statSync(path).mode & 0o777).toBe(0o600)
      const records = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      expect(records).toMatchObject([{ msg: 'first', passphrase: '[redacted]', peer: 'bob', level: 40 }, { msg: 'second' }])
      expect(() => logFileDestination(join(dir, 'missing', 'x.log'))).toThrow(expect.objectContaining({ code: 'CLI_FILE' }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
