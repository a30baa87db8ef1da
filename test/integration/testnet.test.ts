import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import {
  clientTorrcLines,
  loadTestnet,
  startClientTor,
  startRelay,
  startTestnet,
  stopRelay,
  stopTestnet,
  testnetStatus,
  type Testnet,
} from '../../src/testnet/index.js'

const TOR = existsSync('/usr/sbin/tor') ? '/usr/sbin/tor' : 'tor'
const tempDirs: string[] = []
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(d)
  return d
}
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
})

describe('the shared private Tor network', () => {
  const dir = inject('testnetDir')

  it('runs 3 authorities and 3 relays, all alive and all in the consensus', async () => {
    const t = loadTestnet(dir)
    expect(t.state.nodes.filter((n) => n.role === 'authority')).toHaveLength(3)
    expect(t.state.nodes.filter((n) => n.role === 'relay')).toHaveLength(3)
    for (const n of t.state.nodes) expect(readFileSync(`/proc/${n.pid}/cmdline`, 'utf8')).toContain(n.dataDir)
    const status = await testnetStatus(dir)
    expect(status.running).toBe(true)
    expect(status.nodes.every((n) => n.alive)).toBe(true)
    expect(status.consensusRelays).toBe(6)
  })

  it('writes a join file with one DirAuthority line per authority, all on 127.0.0.1', () => {
    const t = loadTestnet(dir)
    const lines = readFileSync(t.joinFile, 'utf8').trimEnd().split('\n')
    expect(lines).toEqual(clientTorrcLines(t.state))
    expect(t.dirAuthorityLines).toHaveLength(3)
    for (const l of t.dirAuthorityLines) expect(l).toMatch(/^DirAuthority auth\d orport=\d+ no-v2 v3ident=[0-9A-F]{40} 127\.0\.0\.1:\d+ [0-9A-F]{40}$/)
  })

  it('lets a fresh client tor bootstrap to 100 %', async () => {
    // startClientTor resolves only at 100 %; otherwise it throws with the tail of the client's log.
    const client = await startClientTor(loadTestnet(dir).state, { dataDir: tempDir('burrow-testnet-client-'), timeoutMs: 60_000 })
    expect(client.socks.port).toBeGreaterThan(0)
    await client.stop()
    expect(existsSync(`/proc/${client.pid}/cmdline`) && readFileSync(`/proc/${client.pid}/cmdline`, 'utf8').includes(client.dataDir)).toBe(false)
  })
})

describe('a second network side by side', () => {
  it('starts in its own directory, restarts a relay in place, and stops by PID', async () => {
    const shared = loadTestnet(inject('testnetDir'))
    const dir = join(tempDir('burrow-testnet-second-'), 'net')
    const progress: string[] = []
    const t = await startTestnet({ dir, onProgress: (m) => progress.push(m) })
    try {
      expect(progress.at(-1)).toBe('test network ready')
      const ports = (x: Testnet): number[] => x.state.nodes.flatMap((n) => [n.orPort, ...(n.dirPort === undefined ? [] : [n.dirPort])])
      expect(ports(t).filter((p) => ports(shared).includes(p))).toEqual([])
      await expect(startTestnet({ dir })).rejects.toMatchObject({ code: 'TESTNET_START_FAILED' })

      const relay = t.state.nodes.find((n) => n.nickname === 'relay2')
      if (relay === undefined) throw new Error('no relay2')
      const oldPid = relay.pid
      await stopRelay(t, 'relay2')
      let status = await testnetStatus(dir)
      expect(status.running).toBe(false)
      expect(status.nodes.find((n) => n.nickname === 'relay2')?.alive).toBe(false)

      await startRelay(t, 'relay2')
      expect(relay.pid).not.toBe(oldPid)
      expect(loadTestnet(dir).state.nodes.find((n) => n.nickname === 'relay2')?.pid).toBe(relay.pid)
      status = await testnetStatus(dir)
      expect(status.running).toBe(true)
      await expect(stopRelay(t, 'nosuch')).rejects.toMatchObject({ code: 'TESTNET_NOT_FOUND' })
    } finally {
      await t.stop()
    }
    expect(existsSync(join(dir, 'state.json'))).toBe(false)
    expect((await testnetStatus(dir)).running).toBe(false)
    for (const n of t.state.nodes) expect(existsSync(`/proc/${n.pid}/cmdline`) && readFileSync(`/proc/${n.pid}/cmdline`, 'utf8').includes(dir)).toBe(false)
    await stopTestnet(dir) // idempotent
    expect(() => loadTestnet(dir)).toThrow(expect.objectContaining({ code: 'TESTNET_NOT_FOUND' }))
  })

  it('fails with TESTNET_START_FAILED and the tor log tail when a tor exits, and leaves nothing behind', async () => {
    // A "tor" that creates keys like the real one but refuses to run as a relay.
    const bin = join(tempDir('burrow-testnet-fake-'), 'bin')
    mkdirSync(bin)
    const fake = join(bin, 'tor')
    writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do [ "$a" = --list-fingerprint ] && exec ${TOR} "$@"; done\necho "fake tor: refusing to start"\nexit 1\n`)
    chmodSync(fake, 0o755)
    const dir = join(tempDir('burrow-testnet-broken-'), 'net')
    const err = await startTestnet({ dir, torPath: fake, readyTimeoutMs: 30_000 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TESTNET_START_FAILED' })
    expect((err as Error).message).toContain('fake tor: refusing to start')
    expect(existsSync(join(dir, 'state.json'))).toBe(false)
  })
})
