/**
 * `npm run demo [-- --profile live]`: three hidden Burrow nodes on a private
 * Tor network, end to end. With `--profile live` every link of the network
 * behaves like the live Tor network's (onion round trips of about 0.6 s,
 * first dials of seconds; docs/testnet.md).
 *
 * Brings up a private Tor network on 127.0.0.1, starts three nodes (each with
 * its own tor and onion service, client authorization on), has them exchange
 * contact cards and allow-list each other, creates an MLS group, sends
 * group-encrypted messages and shows them arriving decrypted at the others.
 * Prints the times that matter and tears everything down. Exits non-zero if
 * any step fails.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootstrapProgressPrinter } from '../src/cli/progress.js'
import { Burrow, type MessageView } from '../src/node/index.js'
import { startTestnet, TESTNET_PROFILES, type TestnetProfileName } from '../src/testnet/index.js'

const NAMES = ['alice', 'bob', 'carol'] as const
const USAGE = `usage: npm run demo [-- --profile ${TESTNET_PROFILES.join('|')}]`
const STEP_TIMEOUT_MS = 180_000

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const say = (text: string): void => {
  process.stderr.write(`${text}\n`)
}

/** Resolves with the first `group:message` on `node` matching `predicate`; bounded. */
function nextMessage(node: Burrow, predicate: (m: MessageView) => boolean): Promise<MessageView> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a message did not arrive in time')), STEP_TIMEOUT_MS)
    const listener = (m: MessageView): void => {
      if (!predicate(m)) return
      clearTimeout(timer)
      node.off('group:message', listener)
      resolve(m)
    }
    node.on('group:message', listener)
  })
}

function profileArgument(args: readonly string[]): TestnetProfileName {
  if (args.length === 0) return 'fast'
  const [flag, value] = args
  const profile = TESTNET_PROFILES.find((p) => p === value)
  if (flag !== '--profile' || profile === undefined || args.length > 2) throw new Error(USAGE)
  return profile
}

async function main(): Promise<void> {
  const profile = profileArgument(process.argv.slice(2))
  const root = mkdtempSync(join(tmpdir(), 'burrow-demo-'))
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(root, { recursive: true, force: true })]
  /** Runs every teardown step, even after one failed; resolves with how many failed. */
  const cleanup = async (): Promise<number> => {
    let failed = 0
    for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => failed++)
    return failed
  }
  let interrupted = false
  const onSignal = (): void => {
    interrupted = true
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const times: [string, number][] = []
  const t0 = Date.now()
  try {
    say(`\n[1/5] A private Tor network on 127.0.0.1: 3 directory authorities + 3 relays (${profile} profile)`)
    let t = Date.now()
    const testnet = await startTestnet({ dir: join(root, 'testnet'), profile, ownerPid: process.pid, onProgress: (m) => say(`      ${m}`) })
    cleanups.push(() => testnet.stop())
    times.push(['private Tor network up', Date.now() - t])
    say(`      ready in ${seconds(Date.now() - t)}`)

    say('\n[2/5] Three nodes, each with its own identity, tor and onion service')
    const nodes: Burrow[] = []
    for (const name of NAMES) {
      const dataDir = join(root, name)
      await Burrow.init(dataDir)
      const node = await Burrow.open({ dataDir, displayName: name, tor: { mode: 'managed', testnet: testnet.dir } })
      cleanups.push(() => node.stop())
      nodes.push(node)
    }
    const bar = bootstrapProgressPrinter('      tor bootstrap (alice)')
    nodes[0]!.on('tor:bootstrap', bar.update)
    t = Date.now()
    await Promise.all(
      nodes.map(async (node, i) => {
        const started = Date.now()
        node.once('onion:reachable', ({ address }) => {
          if (i === 0) bar.done('done')
          times.push([`${NAMES[i]}: start → own onion reachable`, Date.now() - started])
          say(`      ${NAMES[i]!.padEnd(5)} reachable at ${address} (${seconds(Date.now() - started)})`)
        })
        await node.start()
      }),
    )

    say('\n[3/5] Contact cards exchanged; everyone allow-lists everyone')
    const [alice, bob, carol] = nodes as [Burrow, Burrow, Burrow]
    say(`      alice's card: ${alice.contactCard().slice(0, 60)}…`)
    t = Date.now()
    for (const x of nodes) for (const y of nodes) if (x !== y) await x.addPeer(y.contactCard())
    times.push(['allow-listing (6 cards, onion re-publications)', Date.now() - t])

    say('\n[4/5] alice creates an MLS group and invites bob and carol over their onion connections')
    t = Date.now()
    const group = await alice.createGroup('demo')
    const bobJoined = new Promise<void>((resolve) => bob.on('group:changed', (g) => g.id === group.id && g.members.length === 3 && resolve()))
    const carolJoined = new Promise<void>((resolve) => carol.on('group:changed', (g) => g.id === group.id && g.members.length === 3 && resolve()))
    await alice.invite(group.id, 'bob')
    await alice.invite(group.id, 'carol')
    await Promise.race([Promise.all([bobJoined, carolJoined]), new Promise((_, reject) => setTimeout(() => reject(new Error('members did not join in time')), STEP_TIMEOUT_MS))])
    times.push(['group created, 2 members invited and joined', Date.now() - t])
    say(`      group ${group.id.slice(0, 16)}… epoch ${alice.group(group.id).epoch}, members: ${alice.group(group.id).members.map((m) => (m.self ? 'alice' : m.name)).join(', ')}`)

    say('\n[5/5] Group-encrypted messages (the logs carry only MLS ciphertext)')
    const lines: [Burrow, string][] = [
      [alice, 'Hello from alice: nobody outside this group can read this.'],
      [bob, 'bob here, reading you through three onion services.'],
      [carol, 'carol too. See you on the other side.'],
    ]
    for (const [sender, text] of lines) {
      const others = nodes.filter((n) => n !== sender)
      const arrivals = others.map((n) => nextMessage(n, (m) => m.text === text).then((m) => ({ n, m })))
      t = Date.now()
      await sender.send(group.id, text)
      const senderName = NAMES[nodes.indexOf(sender)]!
      for (const { n, m } of await Promise.all(arrivals)) {
        const ms = Date.now() - t
        if (times.every(([k]) => !k.startsWith('first message'))) times.push(['first message delivered (publish → decrypted)', ms])
        say(`      ${NAMES[nodes.indexOf(n)]!.padEnd(5)} ← ${m.authorName ?? senderName}: "${m.text}" (epoch ${m.epoch}, ${seconds(ms)})`)
      }
    }

    process.stdout.write('\nTimes\n')
    for (const [what, ms] of times) process.stdout.write(`  ${what.padEnd(48)} ${seconds(ms)}\n`)
    process.stdout.write(`  ${'whole demo'.padEnd(48)} ${seconds(Date.now() - t0)}\n`)
  } finally {
    if (!interrupted) {
      say('\nTearing down (nodes, their tors, the private network)…')
      const failed = await cleanup()
      say(failed === 0 ? 'done: nodes, tors and the private network stopped; their files removed' : `done, but ${failed} teardown step${failed === 1 ? '' : 's'} failed: look for leftovers under ${root}`)
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? `${err.message}` : String(err)}\n`)
    process.exit(1)
  },
)
