/**
 * Issue 23, bridges: on the suite's private network, one relay runs as an
 * obfs4 bridge that no authority lists. A node given only that bridge line
 * bootstraps, publishes its onion service and is reached by a peer (a group
 * message crosses), while its tor and the obfs4proxy tor started for it open
 * TCP connections to nothing but the bridge's obfs4 port.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Burrow } from '../../src/node/index.js'
import { loadTestnet, startObfs4Bridge, type Obfs4Bridge } from '../../src/testnet/index.js'
import { TCP_LISTEN, readProcNetTcp, socketInodesOf } from '../../src/testnet/proc-net.js'
import { eventually, testNode, texts } from '../helpers/burrow.js'
import { tempDir } from '../helpers/tor.js'

const TCP_ESTABLISHED = 1

/** The PIDs whose parent is `pid` (obfs4proxy is a child of the tor that runs it). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
      } catch {
        return false
      }
    })
}

/** Where the TCP connections that `pids` opened lead (remote ports), leaving out those they accepted on their own listeners. */
function outgoingPorts(pids: readonly number[]): Set<number> {
  const inodes = new Set(pids.flatMap((p) => [...socketInodesOf(p)]))
  const sockets = readProcNetTcp().filter((s) => inodes.has(s.inode))
  const listening = new Set(sockets.filter((s) => s.state === TCP_LISTEN).map((s) => s.localPort))
  return new Set(sockets.filter((s) => s.state === TCP_ESTABLISHED && !listening.has(s.localPort)).map((s) => s.remotePort))
}

describe('a node that reaches Tor only through an obfs4 bridge', () => {
  const testnetDir = inject('testnetDir')
  let bridge: Obfs4Bridge
  let bridged: Burrow
  let peer: Awaited<ReturnType<typeof testNode>>
  const dirs = [tempDir('bridge'), tempDir('node-bridged')]

  beforeAll(async () => {
    bridge = await startObfs4Bridge(loadTestnet(testnetDir).state, { dataDir: join(dirs[0]!.dir, 'tor') })
    await Burrow.init(dirs[1]!.dir)
    bridged = await Burrow.open({ dataDir: dirs[1]!.dir, displayName: 'bridged', tor: { mode: 'managed', testnet: testnetDir, bridges: [bridge.bridgeLine] } })
    peer = await testNode('open')
  }, 120_000)

  afterAll(async () => {
    await bridged?.stop()
    await peer?.node.stop()
    await bridge?.stop()
    peer?.cleanup()
    for (const d of dirs) d.cleanup()
  })

  it('bootstraps, publishes, is reached, and its tor talks to the bridge alone', { timeout: 240_000 }, async () => {
    await Promise.all([bridged.start(), peer.node.start()])
    expect(bridged.status().reachable).toBe(true)

    await bridged.addPeer(peer.node.contactCard())
    await peer.node.addPeer(bridged.contactCard())
    await eventually(() => bridged.peers()[0]?.connected, 120_000, 'the peer to connect to the bridged node')

    const group = await peer.node.createGroup('through-the-bridge')
    await peer.node.invite(group.id, bridged.peerId)
    await peer.node.send(group.id, 'hello over obfs4')
    await eventually(() => texts(bridged, group.id).includes('hello over obfs4'), 120_000, 'the message at the bridged node')

    const torPid = bridged.status().tor.pid!
    const pluginPids = childrenOf(torPid)
    expect(pluginPids.length).toBeGreaterThan(0)
    const pluginListeners = new Set(
      readProcNetTcp()
        .filter((s) => s.state === TCP_LISTEN && pluginPids.some((p) => socketInodesOf(p).has(s.inode)))
        .map((s) => s.localPort),
    )
    const state = loadTestnet(testnetDir).state
    const relayPorts = new Set(state.nodes.flatMap((n) => [n.orPort, ...(n.dirPort !== undefined ? [n.dirPort] : [])]))
    const fromTor = outgoingPorts([torPid])
    const fromPlugin = outgoingPorts(pluginPids)
    // tor speaks only to its obfs4proxy, which speaks only to the bridge's obfs4 port.
    expect([...fromTor].every((p) => pluginListeners.has(p))).toBe(true)
    expect([...fromPlugin]).toEqual([bridge.obfs4Port])
    expect([...fromTor, ...fromPlugin].filter((p) => relayPorts.has(p) || p === bridge.orPort)).toEqual([])
  })
})
