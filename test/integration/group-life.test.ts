/**
 * The life of a group, driven only through `burrow` commands on the private
 * Tor network (issue 22): fingerprints before a card is added, an invitation
 * queued while the invitee is away (surviving the owner's restart), shared
 * names, rotation outcomes, leaving, removal told to the removed member, a
 * second invitation, ephemeral messages through the local API, peer errors,
 * and a fork by two devices sharing one identity, whose proof verifies on a
 * machine without a node.
 */
import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { LocalApiClient, type ApiEvent } from '../../src/api/index.js'
import { nodePaths } from '../../src/node/paths.js'
import { RunningCommand, RunningNode, burrow, burrowJson, eventually, stopAndRemove, withBound } from '../helpers/cli.js'

const LONG = 150_000

interface Group {
  id: string
  name?: string
  sharedName?: string
  description?: string
  status: string
  epoch: number
  pendingProposal?: string
  members: { name?: string; identityKey: string; forked: boolean; self: boolean }[]
}

async function groupOf(dir: string, id: string): Promise<Group | undefined> {
  const { groups } = await burrowJson<{ groups: Group[] }>(dir, ['group', 'list'])
  return groups.find((g) => g.id === id)
}

async function texts(dir: string, group: string): Promise<string[]> {
  const r = await burrow(dir, ['read', group, '--json'])
  if (r.code !== 0) return []
  return (JSON.parse(r.stdout) as { messages: { text?: string }[] }).messages.map((m) => m.text ?? '')
}

describe('the life of a group over Tor, from the command line', () => {
  let root: string
  const dirs: Record<'a' | 'b' | 'c' | 'b2', string> = { a: '', b: '', c: '', b2: '' }
  const nodes: Partial<Record<'a' | 'b' | 'c' | 'b2', RunningNode>> = {}
  const keys: Record<string, string> = {}
  let groupId: string
  let testnet: string

  const start = async (who: 'a' | 'b' | 'c' | 'b2'): Promise<RunningNode> => {
    const node = new RunningNode(dirs[who], testnet)
    nodes[who] = node
    await node.waitFor(/local API on/, 60_000)
    return node
  }
  const stop = async (who: 'a' | 'b' | 'c' | 'b2'): Promise<void> => {
    expect(await burrowJson(dirs[who], ['stop'])).toEqual({ stopped: true })
    await withBound(nodes[who]!.exited, 20_000, `${who} to exit`)
  }
  const logs = (): string => Object.entries(nodes).map(([who, n]) => `--- ${who} ---\n${n.stdout.slice(-3000)}\n${n.stderr.slice(-3000)}`).join('\n')
  const explain = <T>(p: Promise<T>): Promise<T> => p.catch((err: Error) => Promise.reject(new Error(`${err.message}\n${logs()}`)))

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'burrow-life-it-'))
    for (const who of ['a', 'b', 'c', 'b2'] as const) dirs[who] = join(root, who)
    testnet = inject('testnetDir')
  })

  afterAll(() => stopAndRemove(root, Object.values(nodes)), 60_000)

  it('cards carry a fingerprint that peers add shows first; three nodes connect', async () => {
    for (const [who, name] of [['a', 'alice'], ['b', 'bob'], ['c', 'carol']] as const) await burrowJson(dirs[who], ['init', '--name', name, '--no-passphrase'])
    await Promise.all((['a', 'b', 'c'] as const).map((who) => start(who).then((n) => n.reachable())))
    const cards: Record<string, { card: string; fingerprint: string }> = {}
    for (const who of ['a', 'b', 'c'] as const) {
      cards[who] = await burrowJson(dirs[who], ['card'])
      keys[who] = (await burrowJson(dirs[who], ['status'])).identityKey
      expect(cards[who]!.fingerprint.replace(/ /g, '')).toBe(keys[who]!.slice(0, 20))
    }
    // Without a terminal and without --yes nothing is added, and the refusal shows the fingerprint to compare.
    const refused = await burrow(dirs.a, ['peers', 'add', cards.b!.card])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(cards.b!.fingerprint)
    expect((await burrowJson(dirs.a, ['peers', 'list'])).peers).toEqual([])
    for (const x of ['a', 'b', 'c'] as const) for (const y of ['a', 'b', 'c'] as const) if (x !== y) await burrowJson(dirs[x], ['peers', 'add', '--yes', cards[y]!.card])
    const listed = await burrowJson(dirs.a, ['peers', 'list'])
    expect(listed.peers.map((p: { fingerprint: string }) => p.fingerprint).sort()).toEqual([cards.b!.fingerprint, cards.c!.fingerprint].sort())
    await explain(
      eventually('every node connected to the two others', LONG, async () => {
        for (const who of ['a', 'b', 'c'] as const) {
          const { peers } = await burrowJson(dirs[who], ['peers', 'list'])
          if (!peers.every((p: { connected: boolean }) => p.connected)) return undefined
        }
        return true
      }),
    )
  }, 400_000)

  it('an invitation to a peer that is away waits, survives the owner restarting, and completes when it comes online', async () => {
    const created = await burrowJson<Group>(dirs.a, ['group', 'create', 'team', '--description', 'the team'])
    groupId = created.id
    expect((await burrowJson(dirs.a, ['group', 'invite', 'team', 'bob'])).state).toBe('invited')
    // Carol holds a group named "team" of her own: the shared name arrives as "team-2" there.
    await burrowJson(dirs.c, ['group', 'create', 'team'])
    await stop('c')

    const waiting = new RunningCommand(dirs.a, ['group', 'invite', 'team', 'carol'])
    await waiting.waitFor(/waiting for carol… Ctrl-C stops waiting and leaves the invitation queued/, 120_000, 'stderr')
    // Unreachable as such, or (when carol's old connection had not closed yet) an attempt that failed: either way, queued.
    expect(waiting.stderr).toMatch(/carol (is not reachable now|could not be invited yet \([A-Z_]+\)): the invitation is queued \(it survives a restart of your node\)/)
    waiting.signal('SIGINT')
    expect(await withBound(waiting.exited, 10_000, 'the waiting invite to end')).toBe(0)
    expect(waiting.stderr).toContain('stopped waiting; the invitation of carol stays queued')
    const members = await burrowJson(dirs.a, ['group', 'members', 'team'])
    expect(members.pending).toEqual([expect.objectContaining({ name: 'carol', identityKey: keys.c })])
    expect((await burrow(dirs.a, ['group', 'members', 'team'])).stdout).toMatch(/^invitation queued for carol since /m)
    await burrowJson(dirs.a, ['group', 'invite', '--cancel', 'team', 'carol'])
    expect((await burrowJson(dirs.a, ['group', 'members', 'team'])).pending).toEqual([])
    expect((await burrowJson(dirs.a, ['group', 'invite', '--no-wait', 'team', 'carol'])).state).toBe('queued')

    // A's dials of carol fail meanwhile: peers list shows the error and its time.
    const failing = await explain(
      eventually('A to record an error for carol', LONG, async () => {
        const { peers } = await burrowJson(dirs.a, ['peers', 'list'])
        const carol = peers.find((p: { name?: string }) => p.name === 'carol')
        return carol?.lastError !== undefined ? carol : undefined
      }),
    )
    expect(failing.lastError).toEqual({ code: expect.any(String), message: expect.any(String), at: expect.any(Number) })
    expect((await burrow(dirs.a, ['peers', 'list'])).stdout).toMatch(new RegExp(`^carol\\s.*\\s${failing.lastError.code} \\(\\d+ (s|min) ago\\)\\s`, 'm'))

    await stop('a')
    await start('a')
    expect((await burrowJson(dirs.a, ['group', 'members', 'team'])).pending).toEqual([expect.objectContaining({ name: 'carol' })])
    await start('c')
    const joined = await explain(eventually('carol to join, with the shared name and description', LONG, async () => {
      const g = await groupOf(dirs.c, groupId)
      return g?.status === 'active' && g.description === 'the team' ? g : undefined
    }))
    expect(joined).toMatchObject({ name: 'team-2', sharedName: 'team' })
    expect((await burrowJson(dirs.a, ['group', 'members', 'team'])).pending).toEqual([])
    await nodes.a!.waitFor(/invitation of carol to [0-9a-f]{12}: sent/, 10_000)
    // Carol was heard from since: the error is history, not her state now.
    const now = (await burrowJson(dirs.a, ['peers', 'list'])).peers.find((p: { name?: string }) => p.name === 'carol')
    expect(now.lastError).toBeUndefined()
    expect(now.errors.length).toBeGreaterThan(0)
  }, 700_000)

  it('the owner renames the group for everyone; rotation says what happened', async () => {
    await burrowJson(dirs.a, ['group', 'rename', 'team', 'crew'])
    for (const who of ['b', 'c'] as const) {
      await explain(eventually(`${who} to see the new name`, LONG, async () => ((await groupOf(dirs[who], groupId))?.name === 'crew' ? true : undefined)))
    }
    const before = (await groupOf(dirs.a, groupId))!.epoch
    const proposed = await burrow(dirs.b, ['group', 'rotate', 'crew'])
    expect(proposed.stdout).toMatch(/^proposed a key update in crew \([0-9a-f]{12}\); it takes effect when the owner \(alice\) commits it/)
    await explain(eventually("the owner's commit of bob's update to reach bob", LONG, async () => {
      const g = await groupOf(dirs.b, groupId)
      return g !== undefined && g.pendingProposal === undefined && g.epoch > before ? true : undefined
    }))
    const committed = await burrow(dirs.a, ['group', 'rotate', 'crew'])
    expect(committed.stdout).toMatch(new RegExp(`^rotated your keys in crew \\([0-9a-f]{12}\\): committed at epoch ${before + 2}$`, 'm'))
  }, 400_000)

  it('a member leaves; the owner removes another, who is told, cannot send, and is invited again', async () => {
    // Leaving until the owner's node commits it (which may take it only a second over Tor).
    expect((await burrowJson(dirs.c, ['group', 'leave', 'crew'])).status).toBe('leaving')
    await explain(eventually("carol's group to show as left", LONG, async () => ((await groupOf(dirs.c, groupId))?.status === 'left' ? true : undefined)))
    expect((await burrow(dirs.c, ['group', 'list'])).stdout).toMatch(/^[0-9a-f]{12}\s+crew\s+member\s+\d+\s+\d+\s+off\s+left$/m)
    expect((await groupOf(dirs.a, groupId))!.members.map((m) => m.identityKey)).not.toContain(keys.c)

    await burrowJson(dirs.b, ['send', 'crew', 'bob before removal'])
    await explain(eventually("A to read bob's message", LONG, async () => ((await texts(dirs.a, 'crew')).includes('bob before removal') ? true : undefined)))
    await burrowJson(dirs.a, ['group', 'remove', 'crew', 'bob'])
    await burrowJson(dirs.a, ['send', 'crew', 'after bob left'])
    await explain(eventually('bob to learn of his removal', LONG, async () => ((await groupOf(dirs.b, groupId))?.status === 'removed' ? true : undefined)))
    expect((await burrow(dirs.b, ['group', 'list'])).stdout).toMatch(/^[0-9a-f]{12}\s+crew\s+member\s+\d+\s+\d+\s+off\s+removed by the owner$/m)
    const refused = await burrow(dirs.b, ['send', 'crew', 'still here?'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/you were removed from this group by its owner.*\(GROUP_INACTIVE\)/)
    expect(await texts(dirs.b, 'crew')).not.toContain('after bob left')

    const again = await burrowJson(dirs.a, ['group', 'invite', 'crew', 'bob'], 200_000)
    expect(['invited', 'queued']).toContain(again.state)
    await explain(eventually('bob to be a member again', LONG, async () => ((await groupOf(dirs.b, groupId))?.status === 'active' ? true : undefined)))
    await burrowJson(dirs.a, ['send', 'crew', 'welcome back'])
    await explain(eventually('bob to read the new message', LONG, async () => ((await texts(dirs.b, 'crew')).includes('welcome back') ? true : undefined)))
    // His old messages stayed readable in his local view.
    expect(await texts(dirs.b, 'crew')).toContain('bob before removal')
  }, 700_000)

  it('ephemeral messages go through the local API to the connected members', async () => {
    const listener = await LocalApiClient.connect(nodePaths(dirs.b).socket)
    const sender = await LocalApiClient.connect(nodePaths(dirs.a).socket)
    try {
      const got: ApiEvent[] = []
      await listener.subscribe(['group:ephemeral'], (e) => got.push(e), { group: groupId })
      const typing = await eventually('bob to get the ephemeral message', LONG, async () => {
        await sender.call('group.ephemeral', { group: groupId, text: 'alice is typing' })
        return got.find((e) => (e.data as { text?: string }).text === 'alice is typing')
      })
      expect(typing.data).toMatchObject({ group: groupId, name: 'alice', data: Buffer.from('alice is typing').toString('base64') })
    } finally {
      await listener.close()
      await sender.close()
    }
  }, 200_000)

  it("two devices sharing bob's identity fork his log: alice holds the proof, marks bob, and the proof verifies without a node", async () => {
    await stop('b')
    cpSync(dirs.b, dirs.b2, { recursive: true })
    // Device 1 writes its next message and alice gets it.
    await start('b')
    const first = await burrowJson(dirs.b, ['send', 'crew', 'from device 1'])
    await explain(eventually('alice to read device 1', LONG, async () => ((await texts(dirs.a, 'crew')).includes('from device 1') ? true : undefined)))
    await stop('b')
    // Device 2 never saw it: it writes another operation at the same position before it syncs.
    await start('b2')
    const second = await burrowJson(dirs.b2, ['send', 'crew', 'from device 2'])
    expect(second.seq).toBe(first.seq)
    const fork = await explain(eventually('alice to detect the fork', LONG, async () => {
      const { forks } = await burrowJson(dirs.a, ['forks'])
      return forks.find((f: { author: string }) => f.author === keys.b)
    }))
    expect(fork).toMatchObject({ authorName: 'bob', logId: groupId, self: false })
    await nodes.a!.waitFor(new RegExp(`fork detected: bob signed two different operations at seq \\d+; proof ${fork.id}`), 10_000)
    expect((await burrow(dirs.a, ['peers', 'list'])).stdout).toMatch(/^bob \[forked\]\s/m)
    expect((await groupOf(dirs.a, groupId))!.members.find((m) => m.identityKey === keys.b)?.forked).toBe(true)
    expect((await burrow(dirs.a, ['group', 'members', 'crew'])).stdout).toMatch(/^bob \[forked\]\s/m)

    const proof = (await burrow(dirs.a, ['forks', 'export', fork.id.slice(0, 8)])).stdout.trim()
    expect(proof).toMatch(/^burrow-fork-proof:[A-Za-z0-9_-]+$/)
    // Another machine: no node, a data dir that does not even exist.
    const elsewhere = join(root, 'no-node-here')
    const verified = await burrowJson(elsewhere, ['verify-fork', proof])
    expect(verified).toEqual({ valid: true, id: fork.id, author: keys.b, fingerprint: expect.any(String), logId: groupId, seq: fork.seq })
    const tampered = await burrow(elsewhere, ['verify-fork', proof.slice(0, -2) + (proof.endsWith('AA') ? 'BA' : 'AA')])
    expect(tampered.code).toBe(2)
    await stop('b2')
  }, 600_000)
})
