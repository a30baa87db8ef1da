import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { parseProcNetTcp, peerSocketInode, pidListeningOn, readProcNetTcp, socketInodesOf, TCP_LISTEN } from '../../src/testnet/proc-net.js'

const SAMPLE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:B717 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 26025 1 00000000e6d4e169 100 0 0 10 0',
  '   1: 0100007F:9C4A 0100007F:B717 01 00000000:00000000 00:00000000 00000000     0        0 26391 1 00000000c9fb9f4e 20 4 30 10 -1',
  '   2: garbage line',
  '',
].join('\n')

describe('/proc/net/tcp', () => {
  it('parses addresses (little-endian words), ports, state and inode, skipping lines that do not fit', () => {
    expect(parseProcNetTcp(SAMPLE)).toEqual([
      { localAddress: '127.0.0.1', localPort: 0xb717, remoteAddress: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, inode: 26025 },
      { localAddress: '127.0.0.1', localPort: 0x9c4a, remoteAddress: '127.0.0.1', remotePort: 0xb717, state: 1, inode: 26391 },
    ])
    expect(peerSocketInode(parseProcNetTcp(SAMPLE), 0x9c4a, 0xb717)).toBe(26391)
    expect(peerSocketInode(parseProcNetTcp(SAMPLE), 0x9c4a, 1)).toBeUndefined()
  })

  it('finds which process holds the far end of an accepted connection, and who listens on a port', async () => {
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as { port: number }).port
    const accepted = once(server, 'connection')
    const client = connect({ host: '127.0.0.1', port })
    await once(client, 'connect')
    await accepted
    try {
      const inode = peerSocketInode(readProcNetTcp(), client.localPort!, port)
      expect(inode).toBeDefined()
      expect(socketInodesOf(process.pid).has(inode!)).toBe(true)
      expect(socketInodesOf(2 ** 22 + 1).size).toBe(0)
      expect(pidListeningOn(port)).toBe(process.pid)
    } finally {
      client.destroy()
      server.close()
    }
  })
})
