/**
 * Offline delivery (part of `npm run bench -- node`): a recipient that was
 * away comes online and catches up on 1,000 messages the group's owner wrote
 * meanwhile, the owner itself offline by then. Once through a keeper (a node
 * that holds the group's logs, ciphertext only), once through a member that
 * stayed online (the strongest baseline: it relays what it decrypted), in the
 * same run, on the same nodes: two groups of the same owner and recipient,
 * one with the member, one with the keeper; only the relay of the group
 * measured is online, restarted just before the recipient comes back.
 */
import { join } from 'node:path'
import { Burrow, type MessageView } from '../../src/node/index.js'
import { spread, type BenchRow } from './report.js'

const MESSAGES = 1000
/** Catch-ups of each kind, alternating which goes first. */
const ROUNDS = 2
const STEP_MS = 600_000

const msSince = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STEP_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Counts `group`'s messages decrypted by a node from now on. */
function counter(node: Burrow, group: string): { count: () => number } {
  let n = 0
  node.on('group:message', (m: MessageView) => {
    if (m.groupId === group) n++
  })
  return { count: () => n }
}

/** Runs the two catch-ups on nodes of `testnetDir`, with data directories under `root`. */
export async function offlineDelivery(testnetDir: string, root: string): Promise<BenchRow[]> {
  const names = ['alice', 'bob', 'carol', 'keeper'] as const
  const options = (name: string): { dataDir: string; displayName: string; tor: { mode: 'managed'; testnet: string } } => ({
    dataDir: join(root, `offline-${name}`),
    displayName: name,
    tor: { mode: 'managed', testnet: testnetDir },
  })
  const live = new Map<string, Burrow>()
  const start = async (name: string): Promise<Burrow> => {
    const node = await Burrow.open(options(name))
    await node.start()
    live.set(name, node)
    return node
  }
  const stop = async (name: string): Promise<void> => {
    await live.get(name)?.stop()
    live.delete(name)
  }
  try {
    for (const name of names) await Burrow.init(options(name).dataDir)
    const [alice, bob, carol, keeper] = await Promise.all(names.map(start))
    await alice!.addPeers([bob!.contactCard(), carol!.contactCard(), keeper!.contactCard()])
    await bob!.addPeers([alice!.contactCard(), carol!.contactCard()])
    await carol!.addPeers([alice!.contactCard(), bob!.contactCard()])
    await keeper!.addPeer(alice!.contactCard())
    const viaMember = (await alice!.createGroup('via-member')).id
    const viaKeeper = (await alice!.createGroup('via-keeper')).id
    for (const [group, members] of [[viaMember, ['bob', 'carol']], [viaKeeper, ['bob']]] as const) {
      for (const m of members) await alice!.invite(group, m)
      for (const m of members) await until(() => live.get(m)!.groups().some((g) => g.id === group), `${m} to join ${group}`)
    }
    // The keeper keeps groups only for the peers its user allowed.
    await keeper!.decideKeeping(alice!.peerId, 'allow')
    await alice!.addKeeper(viaKeeper, 'keeper')
    await until(() => bob!.keepers(viaKeeper).keepers.length === 1, 'bob to learn of the keeper')
    await bob!.decideKeepers(viaKeeper, 'allow')
    await until(() => keeper!.keptGroups().some((g) => g.groupId === viaKeeper), 'the keeper to take the order')

    /** Bob comes back with only `relay` online, itself just restarted: ms to reachable, and to every message of `group`. */
    const catchUp = async (group: string, relay: 'carol' | 'keeper'): Promise<{ reachable: number; all: number }> => {
      await stop(relay === 'carol' ? 'keeper' : 'carol')
      await stop(relay)
      await start(relay)
      const node = await Burrow.open(options('bob'))
      const got = counter(node, group)
      const started = process.hrtime.bigint()
      await node.start()
      live.set('bob', node)
      const reachable = msSince(started)
      await until(() => got.count() >= MESSAGES, `bob to read every message of ${group}`)
      const all = msSince(started)
      await stop('bob')
      return { reachable, all }
    }
    const member: { reachable: number; all: number }[] = []
    const kept: { reachable: number; all: number }[] = []
    await stop('bob')
    for (let round = 0; round < ROUNDS; round++) {
      // Alice writes while bob is away; carol reads along, the keeper stores; then alice leaves too.
      const [a, c, k] = await Promise.all(['alice', 'carol', 'keeper'].map(async (n) => live.get(n) ?? (await start(n))))
      const atCarol = counter(c!, viaMember)
      const keptBefore = k!.keptGroups().find((g) => g.groupId === viaKeeper)!.operations
      for (let i = 0; i < MESSAGES; i++) await a!.send(viaMember, `m${round}-${i} ${'x'.repeat(80)}`)
      for (let i = 0; i < MESSAGES; i++) await a!.send(viaKeeper, `k${round}-${i} ${'x'.repeat(80)}`)
      await until(() => atCarol.count() >= MESSAGES, 'carol to read every message')
      await until(() => k!.keptGroups().find((g) => g.groupId === viaKeeper)!.operations >= keptBefore + MESSAGES, 'the keeper to hold every message')
      await stop('alice')
      // Alternate which goes first, so that neither always meets the machine in the same state.
      if (round % 2 === 0) {
        member.push(await catchUp(viaMember, 'carol'))
        kept.push(await catchUp(viaKeeper, 'keeper'))
      } else {
        kept.push(await catchUp(viaKeeper, 'keeper'))
        member.push(await catchUp(viaMember, 'carol'))
      }
    }
    const memberAll = spread(member.map((r) => r.all))
    const keptAll = spread(kept.map((r) => r.all))
    const note = (rs: { reachable: number; all: number }[]): string =>
      `of which onion reachable ${rs.map((r) => Math.round(r.reachable)).join(', ')} ms, then catch-up ${rs.map((r) => Math.round(r.all - r.reachable)).join(', ')} ms`
    return [
      { metric: `recipient online → all ${MESSAGES} messages written while away, through a member that stayed online`, ...memberAll, unit: 'ms', note: note(member) },
      {
        metric: `recipient online → all ${MESSAGES} messages written while away, through a keeper (owner and members offline)`,
        ...keptAll,
        unit: 'ms',
        note: `${note(kept)}; ${(keptAll.value / memberAll.value).toFixed(2)} × through a member`,
      },
    ]
  } finally {
    await Promise.allSettled([...live.values()].map((n) => n.stop()))
  }
}
