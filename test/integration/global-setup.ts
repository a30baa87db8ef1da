/**
 * Vitest global setup of the integration project: one private Tor network
 * per test run, shared by every test file through `inject('testnetDir')`.
 *
 * With `BURROW_TESTNET_DIR` pointing at a running network (`npm run testnet
 * -- up --dir …`), that network is reused and left running, which saves the
 * bring-up on every local iteration.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startTestnet, stopTestnet, testnetStatus } from '../../src/testnet/index.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory of the running private Tor network (holds state.json and join.torrc). */
    testnetDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.BURROW_TESTNET_DIR
  if (reuse !== undefined && reuse !== '' && (await testnetStatus(reuse)).running) {
    console.log(`[testnet] reusing the running network in ${reuse}`)
    project.provide('testnetDir', reuse)
    return async () => {}
  }

  // mkdtemp creates the directory 0700.
  const dir = mkdtempSync(join(tmpdir(), 'burrow-testnet-'))
  const started = Date.now()
  try {
    // Owned by this process: if the runner is killed before teardown, the tors exit by themselves.
    await startTestnet({ dir, ownerPid: process.pid })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  console.log(`[testnet] private Tor network up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`)
  project.provide('testnetDir', dir)
  return async () => {
    await stopTestnet(dir)
    rmSync(dir, { recursive: true, force: true })
  }
}
