/**
 * `npm run demo`: a hidden Burrow node on a private Tor network, end to end.
 *
 * Brings up a private Tor network on 127.0.0.1, starts a node's own tor,
 * publishes the node's onion service (client authorization on), waits until
 * the node can reach itself through Tor, prints its address and the times
 * that matter, and tears everything down. Exits non-zero if any step fails.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootstrapProgressPrinter } from '../src/cli/progress.js'
import { deriveNodeKeys, generateMasterSeed } from '../src/keys/index.js'
import { clientTorrcLines, startTestnet, type Testnet } from '../src/testnet/index.js'
import { OnionService, Tor } from '../src/tor/index.js'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const step = (n: number, total: number, text: string): void => {
  process.stderr.write(`\n[${n}/${total}] ${text}\n`)
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'burrow-demo-'))
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(root, { recursive: true, force: true })]
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {})
  }
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const times: Record<string, number> = {}
  try {
    const total = 4
    step(1, total, 'Private Tor network on 127.0.0.1 (3 directory authorities + 3 relays)')
    let t = Date.now()
    const testnet: Testnet = await startTestnet({ dir: join(root, 'testnet'), onProgress: (m) => process.stderr.write(`      ${m}\n`) })
    cleanups.push(() => testnet.stop())
    times.networkUp = Date.now() - t
    process.stderr.write(`      network ready in ${seconds(times.networkUp)}\n`)

    step(2, total, 'A new node identity')
    const keys = deriveNodeKeys(generateMasterSeed())
    process.stderr.write(`      onion address derived from the node's onion key: ${keys.onionAddress}\n`)

    step(3, total, "The node's own tor")
    t = Date.now()
    const tor = Tor.managed({ dataDir: join(root, 'node', 'tor'), extraTorrcLines: clientTorrcLines(testnet.state) })
    cleanups.push(() => tor.stop())
    const bar = bootstrapProgressPrinter('      bootstrap')
    tor.on('bootstrap', bar.update)
    await tor.start()
    times.torBootstrapped = Date.now() - t
    bar.done(`done in ${seconds(times.torBootstrapped)}`)

    step(4, total, 'The onion service (client authorization on), then a self-check through Tor')
    const listener = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => listener.close(() => resolve())))
    const port = (listener.address() as { port: number }).port
    const onion = new OnionService(tor, {
      seed: keys.onionServiceSeed,
      virtualPort: 443,
      target: { host: '127.0.0.1', port },
      ownClientAuth: keys.clientAuth,
    })
    t = Date.now()
    await onion.publish()
    times.published = Date.now() - t
    process.stderr.write(`      descriptors uploaded in ${seconds(times.published)}\n`)
    const check = await onion.selfCheck()
    times.reachable = Date.now() - t
    process.stderr.write(`      self-check passed after ${check.attempts} attempt(s)\n`)
    cleanups.push(() => onion.remove())

    process.stdout.write(`\nThe node is reachable at ${onion.address}\n\n`)
    process.stdout.write('Times\n')
    process.stdout.write(`  private network up             ${seconds(times.networkUp)}\n`)
    process.stdout.write(`  node tor start → bootstrapped  ${seconds(times.torBootstrapped)}\n`)
    process.stdout.write(`  ADD_ONION → self-check ok      ${seconds(times.reachable)}\n`)
  } finally {
    process.stderr.write('\nTearing down…\n')
    await cleanup()
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
