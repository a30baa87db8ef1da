/**
 * Network loss: every link of one node's tor dropped by the link emulator for
 * 2 minutes (connections reset, new ones refused: a lost Wi-Fi), then
 * restored, while its peers go on writing. The node must see its tor go
 * offline and come back, re-publish its onion (tor alone leaves it
 * unreachable for minutes: docs/testnet.md), reconnect and catch up.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Testnet } from '../../src/testnet/index.js'
import { sleep } from '../../src/util/async.js'
import { liveTestnet } from './live-testnet.js'
import { recoveryOfX, sameMessages, sentSoFar, startTrio, startWriting, xLogSince, xTorLogSince, type Trio } from './trio.js'

const DROP_MS = 120_000
const RECOVERY_LIMIT_MS = 180_000
const WRITE_EVERY_MS = 2_000

describe('network loss on the live profile', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'burrow-loss-'))
  let trio: Trio | undefined
  let net: Testnet | undefined
  let dropped: number | undefined
  afterAll(async () => {
    if (dropped !== undefined) await net?.links.restore({ clientPid: dropped }).catch(() => {})
    await trio?.stop()
    rmSync(scratch, { recursive: true, force: true })
  })

  it(`a node whose links are all dropped for ${DROP_MS / 1000} s comes back, re-publishes and catches up`, { timeout: 900_000 }, async () => {
    net = await liveTestnet()
    trio = await startTrio(net, scratch, 'loss')
    const writing = startWriting(trio, WRITE_EVERY_MS)
    try {
      await sleep(10_000)
      const before = sentSoFar(trio)
      dropped = trio.x.torPid
      const connections = await net.links.drop({ clientPid: dropped })
      const droppedAt = Date.now()
      await sleep(DROP_MS)
      await net.links.restore({ clientPid: dropped })
      dropped = undefined
      const restoredAt = Date.now()
      const during = sentSoFar(trio)
      const figures = await recoveryOfX(trio, restoredAt, RECOVERY_LIMIT_MS)
      const events = await trio.x.events()
      const offline = events.find((e) => e.name === 'tor:offline' && e.at >= droppedAt)
      const recovering = events.find((e) => e.name === 'node:recovering' && e.at >= restoredAt)
      console.log(
        `[loss] ${connections} connections reset, links down ${restoredAt - droppedAt} ms while A and B sent ${during.a - before.a + during.b - before.b} messages; ` +
          `tor offline ${offline === undefined ? 'never seen' : `${offline.at - droppedAt} ms after the drop`}; ` +
          `restore → recovering ${recovering === undefined ? 'never' : `${recovering.at - restoredAt} ms (${JSON.stringify(recovering.detail)})`}, ` +
          `→ own onion reachable ${figures.reachableMs} ms, → caught up with both peers ${figures.caughtUpMs} ms`,
      )
      console.log(`[loss] X after the restore:\n  ${xLogSince(trio, restoredAt).slice(0, 60).join('\n  ')}`)
      console.log(`[loss] X's tor after the restore:\n  ${xTorLogSince(trio, restoredAt).slice(0, 40).join('\n  ')}`)
      expect(offline).toBeDefined()
      expect(recovering?.detail).toMatchObject({ reason: 'network' })
    } finally {
      await writing.stop()
    }
    const digests = await sameMessages(trio, 120_000)
    console.log(`[loss] each holds ${digests.x.count} messages (A ${digests.a.count}, B ${digests.b.count})`)
    expect(digests.x).toEqual(digests.a)
    expect(digests.b).toEqual(digests.a)
  })
})
