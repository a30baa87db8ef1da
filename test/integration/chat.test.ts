/**
 * Issue 23: `burrow chat` in real terminals. Two nodes on the private Tor
 * network share a group; each runs `burrow chat` in its own tmux pane (a
 * private tmux server on a socket in a temp folder, stopped at the end).
 * Typing shows on the other side, messages cross both ways and land in the
 * group's log, a file sent from one chat is saved from the other with its
 * progress shown on both, and Ctrl-C leaves the chat.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BIN, RunningNode, burrowJson, eventually, stopAndRemove } from '../helpers/cli.js'

const root = mkdtempSync(join(tmpdir(), 'burrow-chat-'))
const tmuxSocket = join(root, 'tmux.sock')

function tmux(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('tmux', ['-S', tmuxSocket, ...args], { timeout: 10_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1, out: stdout })
    })
  })
}

const pane = async (session: string): Promise<string> => (await tmux(['capture-pane', '-p', '-t', session])).out

async function paneShows(session: string, pattern: RegExp, ms = 60_000): Promise<string> {
  return eventually(`${pattern} in the ${session} pane`, ms, async () => {
    const text = await pane(session)
    return pattern.test(text) ? text : undefined
  }).catch(async (err: Error) => {
    throw new Error(`${err.message}; the pane shows:\n${await pane(session)}`)
  })
}

/** Looks at a pane every 200 ms (for at most 5 minutes) until stopped; `stop` returns every screen seen. */
function watchPane(session: string): { stop: () => Promise<string> } {
  const screens: string[] = []
  const deadline = Date.now() + 300_000
  let watching = true
  const loop = (async () => {
    while (watching && Date.now() < deadline) {
      screens.push(await pane(session))
      await new Promise((r) => setTimeout(r, 200))
    }
  })()
  return {
    stop: async () => {
      watching = false
      await loop
      return screens.join('\n')
    },
  }
}

describe('burrow chat in a terminal', () => {
  const a = join(root, 'a')
  const b = join(root, 'b')
  let nodeA: RunningNode | undefined
  let nodeB: RunningNode | undefined

  beforeAll(async () => {
    await burrowJson(a, ['init', '--name', 'alice', '--no-passphrase'])
    await burrowJson(b, ['init', '--name', 'bob', '--no-passphrase'])
    nodeA = new RunningNode(a, inject('testnetDir'))
    nodeB = new RunningNode(b, inject('testnetDir'))
    await Promise.all([nodeA.reachable(), nodeB.reachable()])
    await burrowJson(a, ['peers', 'add', '--yes', (await burrowJson(b, ['card'])).card])
    await burrowJson(b, ['peers', 'add', '--yes', (await burrowJson(a, ['card'])).card])
    await burrowJson(a, ['group', 'create', 'team'])
    await burrowJson(a, ['group', 'invite', 'team', 'bob'], 200_000)
    await eventually('B to join the group', 120_000, async () => ((await burrowJson(b, ['group', 'list'])).groups.length === 1 ? true : undefined))
    await burrowJson(a, ['send', 'team', 'before the chat'])
  }, 300_000)

  afterAll(async () => {
    await tmux(['kill-server'])
    await stopAndRemove(root, [nodeA, nodeB])
  }, 60_000)

  it('shows typing, sends and receives both ways, moves a file, and leaves on Ctrl-C', { timeout: 240_000 }, async () => {
    for (const [session, dir] of [['a', a], ['b', b]] as const) {
      expect((await tmux(['new-session', '-d', '-s', session, '-x', '100', '-y', '20', `${process.execPath} ${BIN} --data-dir ${dir} chat team`])).code).toBe(0)
    }
    await paneShows('a', /burrow chat: team, 2 members/)
    await paneShows('b', /alice: before the chat/, 120_000)
    await paneShows('a', /in the chat: bob/)

    await tmux(['send-keys', '-t', 'b', '-l', 'hello'])
    await paneShows('a', /bob is typing…/)
    await tmux(['send-keys', '-t', 'b', '-l', ' from the chat'])
    await tmux(['send-keys', '-t', 'b', 'Enter'])
    await paneShows('b', /\d\d:\d\d you: hello from the chat/)
    await paneShows('a', /\d\d:\d\d bob: hello from the chat/, 120_000)

    await tmux(['send-keys', '-t', 'a', '-l', 'hi bob'])
    await tmux(['send-keys', '-t', 'a', 'Enter'])
    await paneShows('b', /\d\d:\d\d alice: hi bob/, 120_000)
    // Chat messages are the group's ordinary messages.
    const { messages } = await burrowJson(b, ['read', 'team'])
    expect(messages.map((m: { text?: string }) => m.text)).toEqual(['before the chat', 'hello from the chat', 'hi bob'])

    // A file from the chat: its progress in the status line on both sides, then saved from the other chat.
    const file = join(root, 'notes.bin')
    const content = randomBytes(1024 * 1024 + 17)
    writeFileSync(file, content)
    const saved = join(root, 'saved')
    mkdirSync(saved)
    // A transfer shows in the status line only while it moves and 5 s after: both panes are watched throughout
    // (on a loaded machine the whole transfer can be over before a single look at the pane).
    const [watchA, watchB] = [watchPane('a'), watchPane('b')]
    await tmux(['send-keys', '-t', 'b', '-l', `/send ${file}`])
    await tmux(['send-keys', '-t', 'b', 'Enter'])
    await paneShows('b', /sent notes\.bin \(1\.0 MiB\); members fetch it when they sync/)
    await paneShows('a', /bob: \[file\] notes\.bin, 1\.0 MiB/, 120_000)
    await eventually('the file to arrive at A', 120_000, async () => ((await burrowJson(a, ['files', 'team'])).files[0]?.complete === true ? true : undefined))
    await new Promise((r) => setTimeout(r, 1_000))
    expect(await watchB.stop()).toMatch(/↑ notes\.bin (→ alice )?\d+%/)
    expect(await watchA.stop()).toMatch(/↓ notes\.bin \d+%/)
    await tmux(['send-keys', '-t', 'a', '-l', `/get notes.bin ${saved}`])
    await tmux(['send-keys', '-t', 'a', 'Enter'])
    await paneShows('a', /saved notes\.bin \(1\.0 MiB, SHA-256 checked\)/)
    expect(readFileSync(join(saved, 'notes.bin')).equals(content)).toBe(true)

    await tmux(['send-keys', '-t', 'a', 'C-c'])
    await eventually('the chat in pane a to end', 30_000, async () => ((await tmux(['has-session', '-t', 'a'])).code !== 0 ? true : undefined))
    await paneShows('b', /nobody else in the chat/)
  })
})
