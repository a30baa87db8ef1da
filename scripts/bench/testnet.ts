/**
 * One private Tor network for all network benchmarks of a run, of the run's
 * profile: reused from `BURROW_TESTNET_DIR` (`BURROW_LIVE_TESTNET_DIR` for the
 * live profile) when one of that profile runs there, otherwise started on
 * first use and stopped by {@link releaseBenchTestnet} (the dispatcher calls it at the end).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTestnet, startTestnet, testnetStatus, type Testnet, type TestnetProfileName } from '../../src/testnet/index.js'

let shared: Promise<{ testnet: Testnet; owned: boolean; upMs: number }> | undefined
let profile: TestnetProfileName = 'fast'

/** Chooses the profile of the run's network (before any suite asks for it). */
export function setBenchProfile(p: TestnetProfileName): void {
  profile = p
}

/** The profile the run's network has. */
export function benchProfile(): TestnetProfileName {
  return profile
}

/** The run's private network, and how long it took to come up (0 when reused). */
export function benchTestnet(): Promise<{ testnet: Testnet; upMs: number }> {
  shared ??= (async () => {
    // A network to reuse must have the run's profile.
    const reuse = profile === 'live' ? process.env.BURROW_LIVE_TESTNET_DIR : process.env.BURROW_TESTNET_DIR
    if (reuse !== undefined && reuse !== '') {
      const status = await testnetStatus(reuse)
      if (status.running && status.profile === profile) return { testnet: loadTestnet(reuse), owned: false, upMs: 0 }
    }
    const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-net-'))
    const started = Date.now()
    const testnet = await startTestnet({ dir, profile, ownerPid: process.pid, onProgress: (m) => process.stderr.write(`[testnet] ${m}\n`) })
    return { testnet, owned: true, upMs: Date.now() - started }
  })()
  return shared
}

/** Stops the network if this run started it. */
export async function releaseBenchTestnet(): Promise<void> {
  if (shared === undefined) return
  const { testnet, owned } = await shared
  shared = undefined
  if (!owned) return
  await testnet.stop()
  rmSync(testnet.dir, { recursive: true, force: true })
}
