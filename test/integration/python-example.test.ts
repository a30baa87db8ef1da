/**
 * The Python example of docs/local-api.md (examples/python/burrow_client.py,
 * standard library only) against two nodes on the private Tor network: it
 * sends to a group through one node's local API and follows the group
 * through the other's.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { RunningNode, burrowJson, eventually, stopAndRemove, withBound, type Result } from '../helpers/cli.js'

const EXAMPLE = resolve(import.meta.dirname, '../../examples/python/burrow_client.py')

/** Runs the example with `args`, bounded. */
function python(args: string[], timeoutMs = 30_000): Promise<Result> {
  return new Promise((done) => {
    execFile('python3', ['-B', EXAMPLE, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      done({ code, stdout, stderr })
    })
  })
}

describe('the Python local API example on the private Tor network', () => {
  let root: string
  let a: string
  let b: string
  let nodeA: RunningNode | undefined
  let nodeB: RunningNode | undefined

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'burrow-py-'))
    a = join(root, 'a')
    b = join(root, 'b')
  })

  afterAll(() => stopAndRemove(root, [nodeA, nodeB]), 60_000)

  it('sends through one node and follows the group through the other', async () => {
    await burrowJson(a, ['init', '--name', 'alice', '--no-passphrase'])
    await burrowJson(b, ['init', '--name', 'bob', '--no-passphrase'])
    const testnet = inject('testnetDir')
    nodeA = new RunningNode(a, testnet)
    nodeB = new RunningNode(b, testnet)
    await Promise.all([nodeA.reachable(60_000), nodeB.reachable(60_000)])
    await burrowJson(a, ['peers', 'add', '--yes', (await burrowJson(b, ['card'])).card])
    await burrowJson(b, ['peers', 'add', '--yes', (await burrowJson(a, ['card'])).card])
    await burrowJson(a, ['group', 'create', 'team'])
    expect((await burrowJson(a, ['group', 'invite', 'team', 'bob'], 60_000)).state).toBe('invited')
    const groupId = (await eventually('B to join the group', 30_000, async () => (await burrowJson(b, ['group', 'list'])).groups[0])).id as string

    // Before B follows: a message from Python that B's follow must print from the backlog.
    const sent = await python(['--data-dir', a, 'send', 'team', 'first from python'])
    expect(sent).toMatchObject({ code: 0, stderr: '' })
    expect(sent.stdout).toMatch(/^sent #\d+ to [0-9a-f]{12} \(17 bytes\)\n$/)
    await eventually('B to decrypt the first message', 30_000, async () =>
      (await burrowJson(b, ['read', groupId])).messages.some((m: { text?: string }) => m.text === 'first from python') ? true : undefined,
    )

    // B follows by group id prefix through its socket; a second message arrives while it follows.
    const follow = spawn('python3', ['-B', EXAMPLE, '--socket', join(b, 'burrow.sock'), 'follow', groupId.slice(0, 8), '--count', '2', '--timeout', '45'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    follow.stdout.setEncoding('utf8').on('data', (t: string) => (out += t))
    follow.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
    const exited = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)))
    try {
      await eventually('follow to print the backlog', 15_000, async () => (out.includes('first from python') ? true : undefined))
      expect((await python(['--data-dir', a, 'send', groupId, 'second, live'])).code).toBe(0)
      expect(await withBound(exited, 45_000, 'follow to print the live message and exit')).toBe(0)
    } finally {
      if (follow.exitCode === null) follow.kill('SIGKILL')
    }
    expect(err).toBe('')
    expect(out.trim().split('\n')).toEqual([expect.stringMatching(/^#\d+ {2}alice: first from python$/), expect.stringMatching(/^#\d+ {2}alice: second, live$/)])

    // A group the node does not know: the node's code on stderr, exit 1, nothing sent.
    const unknown = await python(['--data-dir', a, 'send', 'no-such-group', 'x'])
    expect(unknown).toMatchObject({ code: 1, stdout: '' })
    expect(unknown.stderr).toBe('burrow_client: no such group: "no-such-group" (GROUP_NOT_FOUND)\n')
  }, 85_000)
})
