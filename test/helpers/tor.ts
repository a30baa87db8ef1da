import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { Tor, type SupervisionOptions } from '../../src/tor/index.js'
import { clientTorrcLines, loadTestnet } from '../../src/testnet/index.js'

/** DirAuthority and testing lines that make a client tor join the suite's private network. */
export function testnetLines(): string[] {
  return clientTorrcLines(loadTestnet(inject('testnetDir')).state)
}

/** A fresh 0700 temp dir, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `burrow-${prefix}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A managed tor on the private network, in its own data dir. */
export function testTor(dataDir: string, options: SupervisionOptions = {}): Tor {
  return Tor.managed({ dataDir, extraTorrcLines: testnetLines(), bootstrap: { stallMs: 60_000, timeoutMs: 120_000 }, ...options })
}

/** A TCP echo server on 127.0.0.1 with an OS-assigned port. */
export async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { server, port: address.port }
}
