/**
 * Vitest global setup of the `live` project: one private Tor network on the
 * live profile per test run, shared by the files under test/live through
 * {@link liveTestnet}. It is started in the background, so its bring-up
 * overlaps the unit project; the first test to need it waits for it.
 *
 * With `BURROW_LIVE_TESTNET_DIR` pointing at a running live network (`npm run
 * testnet -- up --profile live --dir …`), that network is reused and left running.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startTestnet, stopTestnet, testnetStatus } from '../../src/testnet/index.js'
import { LIVE_FAILED_FILE, LIVE_READY_FILE } from './markers.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory of the live-profile network; wait for it with liveTestnet(). */
    liveTestnetDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.BURROW_LIVE_TESTNET_DIR
  if (reuse !== undefined && reuse !== '') {
    const status = await testnetStatus(reuse)
    if (status.running && status.profile === 'live') {
      console.log(`[testnet] reusing the running live-profile network in ${reuse}`)
      writeFileSync(join(reuse, LIVE_READY_FILE), '')
      project.provide('liveTestnetDir', reuse)
      return async () => {}
    }
  }

  // mkdtemp creates the directory 0700; the path stays short enough for the emulator's unix socket.
  const dir = mkdtempSync(join(tmpdir(), 'burrow-live-'))
  const started = Date.now()
  // Owned by this process: if the runner is killed before teardown, the tors and the emulator exit by themselves.
  const bringUp = startTestnet({ dir: join(dir, 'net'), profile: 'live', ownerPid: process.pid }).then(
    () => {
      console.log(`[testnet] live-profile network up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir}/net)`)
      writeFileSync(join(dir, 'net', LIVE_READY_FILE), '')
    },
    (err: unknown) => {
      writeFileSync(join(dir, LIVE_FAILED_FILE), err instanceof Error ? `${err.message}` : String(err))
    },
  )
  project.provide('liveTestnetDir', join(dir, 'net'))
  return async () => {
    await bringUp
    await stopTestnet(join(dir, 'net'))
    rmSync(dir, { recursive: true, force: true })
  }
}
