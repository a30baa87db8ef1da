/**
 * A peer's disconnect carries the reason its last connection ended (trial
 * finding: it carried the last dial error, so a peer that simply stopped
 * showed `onion-client-auth-wrong`). libp2p is an event target standing in
 * for the node: it dispatches the events libp2p 3 dispatches, in its order.
 */
import { EventEmitter } from 'node:events'
import { StreamCloseEvent, type Libp2p } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import type { AddressTable, SyncManager } from '../../src/net/index.js'
import { disconnectReason, forwardNetEvents } from '../../src/node/wiring.js'
import type { BurrowEvents } from '../../src/node/types.js'

const PEER = '12D3KooWPeerOfTheTest'

/** A connection opened on `libp2p`, in libp2p's order: its close event reaches libp2p's own listener first, which announces the disconnect. */
function open(libp2p: EventTarget): EventTarget {
  const connection = Object.assign(new EventTarget(), { remotePeer: { toString: () => PEER } })
  connection.addEventListener('close', () => libp2p.dispatchEvent(new CustomEvent('peer:disconnect', { detail: { toString: () => PEER } })))
  libp2p.dispatchEvent(new CustomEvent('connection:open', { detail: connection }))
  return connection
}

/** The node's events for a peer whose table entry still holds a dial error, and their detach. */
function wired(): { libp2p: EventTarget; node: EventEmitter<BurrowEvents>; detach: () => void } {
  const node = new EventEmitter<BurrowEvents>()
  const table = { get: () => ({ displayName: 'alice', lastError: { code: 'onion-client-auth-wrong' } }) } as unknown as AddressTable
  const libp2p = new EventTarget()
  const detach = forwardNetEvents(libp2p as unknown as Libp2p, new EventEmitter() as unknown as SyncManager, table, node)
  return { libp2p, node, detach }
}

async function disconnectAfter(close: StreamCloseEvent): Promise<BurrowEvents['peer:disconnected'][0]> {
  const { libp2p, node, detach } = wired()
  const seen = new Promise<BurrowEvents['peer:disconnected'][0]>((resolve) => node.once('peer:disconnected', resolve))
  open(libp2p).dispatchEvent(close)
  const event = await seen
  detach()
  return event
}

describe('a disconnect says why the connection ended', () => {
  it('a peer that stopped: closed by the peer, never the last dial error', async () => {
    expect(await disconnectAfter(new StreamCloseEvent())).toEqual({ peerId: PEER, name: 'alice', reason: 'closed by the peer' })
  })

  it('our own hang-up, a ping that timed out, a broken connection', async () => {
    expect((await disconnectAfter(new StreamCloseEvent(true))).reason).toBe('closed here')
    expect((await disconnectAfter(new StreamCloseEvent(true, new DOMException('timed out', 'TimeoutError')))).reason).toBe('timed out')
    expect((await disconnectAfter(new StreamCloseEvent(true, new Error('the connection to tor failed')))).reason).toBe('connection failed')
  })

  it('maps close events without a node', () => {
    expect(disconnectReason({})).toBe('closed by the peer')
    expect(disconnectReason({ local: true })).toBe('closed here')
    expect(disconnectReason({ error: Object.assign(new Error('aborted'), { name: 'AbortError' }) })).toBe('timed out')
  })

  it('emits nothing once detached (the node is stopping)', async () => {
    const { libp2p, node, detach } = wired()
    const connection = open(libp2p)
    let emitted = false
    node.on('peer:disconnected', () => (emitted = true))
    connection.dispatchEvent(new StreamCloseEvent())
    detach()
    await new Promise((r) => setTimeout(r, 10))
    expect(emitted).toBe(false)
  })
})
