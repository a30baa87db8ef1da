/**
 * Two nodes on the private Tor network, driven only through `burrow`
 * commands run as child processes (`node bin/burrow.js …`).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { findSecrets } from '../helpers/at-rest.js'
import { decodeContactCard } from '../../src/keys/index.js'
import { BIN, COMMAND_TIMEOUT_MS, RunningNode, burrow, burrowJson, eventually, stopAndRemove, withBound, type Result } from '../helpers/cli.js'

const INVITE_TIMEOUT_MS = 220_000

/** B's keystore and database are sealed with this passphrase. */
const PASSPHRASE_B = { BURROW_PASSPHRASE: 'bob at rest' }

describe('burrow CLI on the private Tor network', () => {
  let root: string
  let a: string
  let b: string
  let nodeA: RunningNode | undefined
  let nodeB: RunningNode | undefined
  let nodeC: RunningNode | undefined
  let groupId: string
  /** Plaintexts that must never be found in B's sealed data directory. */
  const secretsOfB = { 'message of A': 'hello from alice', 'message of B': 'hello from bob' }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'burrow-cli-it-'))
    a = join(root, 'a')
    b = join(root, 'b')
  })

  afterAll(() => stopAndRemove(root, [nodeA, nodeB, nodeC]), 60_000)

  it('init and start two nodes; each prints its onion when reachable', async () => {
    expect((await burrowJson(a, ['init', '--name', 'alice', '--no-passphrase'])).sealed).toBe(false)
    const initB = await burrow(b, ['init', '--name', 'bob'], COMMAND_TIMEOUT_MS)
    // Not a terminal and no passphrase source: a usage error, nothing created.
    expect(initB.code).toBe(2)
    expect(await burrowJson(b, ['init', '--name', 'bob'], COMMAND_TIMEOUT_MS, PASSPHRASE_B)).toMatchObject({ peerId: expect.stringMatching(/^12D3KooW/), sealed: true })

    const testnet = inject('testnetDir')
    nodeA = new RunningNode(a, testnet)
    nodeB = new RunningNode(b, testnet, PASSPHRASE_B)
    const [reachA, reachB] = await Promise.all([nodeA.waitFor(/reachable at ([a-z2-7]{56}\.onion)/, 150_000), nodeB.waitFor(/reachable at ([a-z2-7]{56}\.onion)/, 150_000)])
    const statusA = await burrowJson(a, ['status'])
    expect(statusA).toMatchObject({ state: 'running', reachable: true, onion: reachA[1] })
    expect((await burrowJson(b, ['status'])).onion).toBe(reachB[1])
    // A second node on the same data dir is refused while the first runs.
    const twice = await burrow(a, ['--testnet', testnet, 'start'])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('(API_ALREADY_RUNNING)')
  }, 200_000)

  it('exchange cards, add each other, and connect', async () => {
    const cardA = (await burrowJson(a, ['card'])).card as string
    const cardB = (await burrowJson(b, ['card'])).card as string
    expect((await burrowJson(a, ['peers', 'add', '--yes', cardB])).name).toBe('bob')
    expect((await burrowJson(b, ['peers', 'add', '--yes', cardA])).name).toBe('alice')
    await eventually('A to list B as connected', 120_000, async () => {
      const { peers } = await burrowJson(a, ['peers', 'list'])
      return peers[0]?.connected === true ? peers : undefined
    })
    await nodeA!.waitFor(/peer connected: bob/, 30_000)
    const human = await burrow(a, ['peers', 'list'])
    expect(human.stdout).toMatch(/^bob\s+12D3KooW\S+\s+[a-z2-7]{10}….onion\s+yes\s/m)
  }, 200_000)

  it('A creates a group and invites B; both send and read the other\'s message', async () => {
    const group = await burrowJson(a, ['group', 'create', 'team'])
    groupId = group.id
    const invited = await burrowJson(a, ['group', 'invite', 'team', 'bob'], INVITE_TIMEOUT_MS)
    expect(invited).toMatchObject({ state: 'invited', group: { members: [expect.anything(), expect.anything()] } })

    await burrowJson(a, ['send', 'team', 'hello from alice'])
    let lastRead: Result | undefined
    const seenByB = await eventually('B to decrypt A\'s message', 120_000, async () => {
      lastRead = await burrow(b, ['read', groupId, '--json'])
      if (lastRead.code !== 0) return undefined
      const { messages } = JSON.parse(lastRead.stdout) as { messages: { text?: string; authorName?: string }[] }
      return messages.find((m) => m.text === 'hello from alice')
    }).catch(async (err: Error) => {
      const groups = await burrow(b, ['group', 'list', '--json'])
      const status = await burrow(b, ['status', '--json'])
      throw new Error(
        `${err.message}\nB read: ${JSON.stringify(lastRead)}\nB groups: ${groups.stdout}${groups.stderr}\nB status: ${status.stdout}\nB log:\n${nodeB!.stderr.slice(-4000)}\nA log:\n${nodeA!.stderr.slice(-4000)}`,
      )
    })
    expect(seenByB.authorName).toBe('alice')

    await burrowJson(b, ['send', groupId, 'hello from bob'])
    const seenByA = await eventually('A to decrypt B\'s message', 120_000, async () => {
      const { messages } = await burrowJson(a, ['read', 'team'])
      return (messages as { text?: string; authorName?: string }[]).find((m) => m.text === 'hello from bob')
    })
    expect(seenByA.authorName).toBe('bob')
    // A user's Ctrl-C on `read --follow` (SIGINT to the process) ends it with exit 0 and nothing on stderr.
    const follow = spawn(process.execPath, [BIN, '--data-dir', a, 'read', 'team', '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let followOut = ''
    let followErr = ''
    follow.stdout.setEncoding('utf8').on('data', (t: string) => (followOut += t))
    follow.stderr.setEncoding('utf8').on('data', (t: string) => (followErr += t))
    const followExit = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)))
    await eventually('read --follow to print the backlog', 30_000, async () => (followOut.includes('hello from bob') ? true : undefined))
    follow.kill('SIGINT')
    expect(await withBound(followExit, 10_000, 'read --follow to exit')).toBe(0)
    expect(followErr).toBe('')
    expect(followOut.trim().split('\n').map((l) => JSON.parse(l).text)).toEqual(['hello from alice', 'hello from bob'])

    const human = await burrow(a, ['read', 'team'])
    expect(human.stdout).toMatch(/you: hello from alice/)
    expect(human.stdout).toMatch(/bob: hello from bob/)
    expect((await burrowJson(b, ['group', 'members', groupId])).members).toHaveLength(2)
    // B runs with a sealed database: none of it is readable in any file of its data directory (database, WAL, -shm, tor's files).
    expect(findSecrets(b, secretsOfB)).toEqual([])
  }, 400_000)

  it('status and peers list while connected; a backup of A while it runs; stop A with `burrow stop` and B with SIGTERM', async () => {
    const backup = await burrowJson(a, ['backup', '--out', join(root, 'a.backup')], COMMAND_TIMEOUT_MS, { BURROW_PASSPHRASE: 'for the backup' })
    expect(backup).toMatchObject({ sealed: true })
    const status = await burrowJson(a, ['status'])
    expect(status).toMatchObject({ state: 'running', reachable: true, groups: 1, peers: { total: 1, connected: 1 } })
    expect(status.operations).toBeGreaterThan(0)

    const torPid = status.tor.pid as number
    expect(readFileSync(`/proc/${torPid}/cmdline`, 'utf8')).toContain('tor')
    const stopStarted = Date.now()
    expect(await burrowJson(a, ['stop'])).toEqual({ stopped: true })
    const stopReturned = Date.now()
    // `stop` returns once the node has stopped: its tor has exited (and was reaped), not just its API socket gone.
    expect(existsSync(`/proc/${torPid}`)).toBe(false)
    expect(await withBound(nodeA!.exited, 3_000, 'A to exit soon after stop returned (no timer keeps it alive)')).toBe(0)
    expect(nodeA!.stdout).toMatch(/stopped\n$/)
    console.log(`burrow stop took ${stopReturned - stopStarted} ms; burrow start exited ${nodeA!.exitedAt! - stopReturned} ms after it returned`)
    expect((await burrow(a, ['status'])).code).toBe(3)

    // B notices when A's side closes; without a clean close, only libp2p's connection monitor (a ping a minute) does.
    await nodeB!.waitFor(/peer disconnected: alice \(12D3KooW\w+\): \S+/, 150_000)
    process.kill(nodeB!.child.pid!, 'SIGTERM')
    expect(await withBound(nodeB!.exited, 40_000, 'B to exit')).toBe(0)
    expect(nodeB!.stdout).toMatch(/stopped\n$/)
    // Human output: info-level logs and bootstrap progress as plain lines (stderr is not a terminal: no bar), never raw JSON.
    for (const node of [nodeA!, nodeB!]) {
      const lines = node.stderr.split('\n').filter((l) => l !== '')
      expect(lines.filter((l) => l.startsWith('{'))).toEqual([])
      expect(lines).toContainEqual(expect.stringMatching(/^tor +\d+% /))
      expect(lines).toContainEqual(expect.stringMatching(/^info: /))
      expect(node.stderr).not.toContain('\r')
    }
    expect(findSecrets(b, secretsOfB)).toEqual([])
  }, 260_000)

  it('restore A\'s backup into a new data directory (refused while A exists, unless --force) and run it: its group is there', async () => {
    const c = join(root, 'c')
    const file = join(root, 'a.backup')
    const refused = await burrow(c, ['restore', file], COMMAND_TIMEOUT_MS, { BURROW_PASSPHRASE: 'for the backup' })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('(CLI_SECOND_COPY)')
    // A stays stopped from here on: the restored copy is the only one that runs.
    const restored = await burrowJson(c, ['restore', file, '--force'], COMMAND_TIMEOUT_MS, { BURROW_PASSPHRASE: 'for the backup' })
    const onionA = (await burrowJson(a, ['card'])).card as string
    expect(restored.onion).toBe(decodeOnion(onionA))
    nodeC = new RunningNode(c, inject('testnetDir'))
    const reach = await nodeC.waitFor(/reachable at ([a-z2-7]{56}\.onion)/, 150_000)
    expect(reach[1]).toBe(restored.onion)
    expect((await burrowJson(c, ['group', 'list'])).groups.map((g: { name?: string }) => g.name)).toEqual(['team'])
    const { messages } = await burrowJson(c, ['read', 'team'])
    expect((messages as { text?: string }[]).map((m) => m.text)).toEqual(['hello from alice', 'hello from bob'])
    expect(await burrowJson(c, ['stop'])).toEqual({ stopped: true })
    expect(await withBound(nodeC.exited, 10_000, 'C to exit')).toBe(0)
  }, 240_000)
})

/** The .onion address a contact card carries. */
function decodeOnion(card: string): string {
  return decodeContactCard(card).onionAddress
}
