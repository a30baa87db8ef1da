import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { inject } from 'vitest'
import { loadTestnet, type Testnet } from '../../src/testnet/index.js'
import { sleep } from '../../src/util/async.js'
import { LIVE_FAILED_FILE, LIVE_READY_FILE } from './markers.js'

const WAIT_MS = 300_000

/** The run's live-profile network (see global-setup.ts), once it is ready; throws if its start failed. */
export async function liveTestnet(): Promise<Testnet> {
  const dir = inject('liveTestnetDir')
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    if (existsSync(join(dir, LIVE_READY_FILE))) return loadTestnet(dir)
    const failed = join(dirname(dir), LIVE_FAILED_FILE)
    if (existsSync(failed)) throw new Error(`the live-profile network did not start: ${readFileSync(failed, 'utf8')}`)
    if (Date.now() >= deadline) throw new Error(`the live-profile network was not ready within ${WAIT_MS} ms`)
    await sleep(500)
  }
}
