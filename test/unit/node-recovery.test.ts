import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/logging.js'
import type { PeerConnector } from '../../src/net/index.js'
import type { OnionAccess } from '../../src/node/onion-access.js'
import { Recovery } from '../../src/node/recovery.js'
import type { Tor } from '../../src/tor/index.js'

/** What a recovery did, in order, with stand-ins for tor, our onion's access and the connector. */
function rig(options: { recheck?: (signal?: AbortSignal) => Promise<{ republished: boolean }> } = {}) {
  const calls: string[] = []
  const tor = Object.assign(new EventEmitter(), {
    freshStart: async () => void calls.push('freshStart'),
  })
  const access = {
    recheck: options.recheck ?? (async () => (calls.push('recheck'), { republished: false })),
    renew: async () => void calls.push('renew'),
  }
  const connector = { redialAll: () => void calls.push('redialAll') }
  const events: string[] = []
  const recovery = new Recovery(
    { tor: tor as unknown as Tor, access: access as unknown as OnionAccess, connector: connector as unknown as PeerConnector },
    {
      started: ({ reason, awayMs }) => events.push(`started ${reason} ${awayMs}`),
      reachable: ({ republished }) => events.push(`reachable${republished ? ' (republished)' : ''}`),
      offline: () => events.push('offline'),
    },
    silentLogger,
  )
  recovery.start()
  return { tor, recovery, calls, events }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

describe('Recovery', () => {
  let stop: (() => Promise<void>) | undefined
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })

  it('after a wake: fresh circuits and keys, every peer dialled, our onion checked, dialled again', async () => {
    const r = rig()
    stop = () => r.recovery.stop()
    r.recovery.trigger('wake', 300_000)
    await settle()
    expect(r.calls).toEqual(['freshStart', 'redialAll', 'recheck', 'redialAll'])
    expect(r.events).toEqual(['started wake 300000', 'reachable'])
  })

  it("after an outage (tor's offline, then online): re-published without a check", async () => {
    const r = rig()
    stop = () => r.recovery.stop()
    r.tor.emit('offline')
    r.tor.emit('online', { offlineMs: 120_000 })
    await settle()
    expect(r.events).toEqual(['offline', 'started network 120000', 'reachable (republished)'])
    expect(r.calls).toEqual(['freshStart', 'redialAll', 'renew', 'redialAll'])
  })

  it('abandons a round when tor goes offline, and starts over when it is back', async () => {
    let checks = 0
    const r = rig({
      // The first check hangs until its round is abandoned.
      recheck: (signal) =>
        ++checks === 1
          ? new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
          : Promise.resolve({ republished: false }),
    })
    stop = () => r.recovery.stop()
    r.recovery.trigger('wake', 60_000)
    await settle()
    r.tor.emit('offline')
    await settle()
    expect(r.events).toEqual(['started wake 60000', 'offline'])
    r.tor.emit('online', { offlineMs: 30_000 })
    await settle()
    expect(r.events).toEqual(['started wake 60000', 'offline', 'started network 30000', 'reachable (republished)'])
  })

  it('does nothing once stopped', async () => {
    const r = rig()
    await r.recovery.stop()
    r.recovery.trigger('wake', 60_000)
    r.tor.emit('online', { offlineMs: 1 })
    await settle()
    expect(r.calls).toEqual([])
  })
})
