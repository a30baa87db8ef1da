import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadTestnet, stopTestnet, testnetStatus } from '../../src/testnet/network.js'
import { findExecutable, isAlive, isTorOf } from '../../src/testnet/process.js'
import { readState, stateFile, writeState, type TestnetState } from '../../src/testnet/state.js'

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'burrow-testnet-unit-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function sampleState(dir: string, pid: number): TestnetState {
  return {
    dir,
    createdAt: '2026-11-21T00:00:00.000Z',
    nodes: [{ nickname: 'auth1', role: 'authority', pid, orPort: 1, dirPort: 2, dataDir: join(dir, 'nodes/auth1'), fingerprint: 'A'.repeat(40), v3ident: 'B'.repeat(40) }],
    dirAuthorityLines: ['DirAuthority auth1 …'],
    joinFile: join(dir, 'join.torrc'),
    profile: 'fast',
  }
}

describe('state.json', () => {
  it('round-trips a state', () => {
    const dir = tempDir()
    const state = sampleState(dir, 12345)
    writeState(state)
    expect(readState(dir)).toEqual(state)
  })

  it('throws TESTNET_NOT_FOUND for a missing or foreign state file', () => {
    const dir = tempDir()
    expect(() => loadTestnet(dir)).toThrow(expect.objectContaining({ code: 'TESTNET_NOT_FOUND' }))
    writeFileSync(stateFile(dir), '{"dir": 3}')
    expect(() => readState(dir)).toThrow(expect.objectContaining({ code: 'TESTNET_NOT_FOUND' }))
    writeFileSync(stateFile(dir), 'not json')
    expect(() => readState(dir)).toThrow(expect.objectContaining({ code: 'TESTNET_NOT_FOUND' }))
  })
})

describe('process guards', () => {
  it('never treats a non-tor process as one of the network, even if its PID is recorded', async () => {
    const dir = tempDir()
    expect(isAlive(process.pid)).toBe(true)
    expect(isTorOf(process.pid, dir)).toBe(false)
    // This very process recorded as a tor and as the link emulator.
    writeState({ ...sampleState(dir, process.pid), profile: 'live', emulator: { pid: process.pid, controlSocket: join(dir, 'links.sock') } })
    const status = await testnetStatus(dir)
    expect(status).toEqual({
      running: false,
      nodes: [{ nickname: 'auth1', pid: process.pid, alive: false }],
      profile: 'live',
      emulator: { pid: process.pid, alive: false },
    })
    // stopTestnet must not signal this very process; reaching the next line proves it.
    await stopTestnet(dir)
    expect(isAlive(process.pid)).toBe(true)
    await expect(testnetStatus(dir)).resolves.toEqual({ running: false, nodes: [] })
  })

  it('treats invalid PIDs as dead', () => {
    expect(isAlive(0)).toBe(false)
    expect(isAlive(-1)).toBe(false)
    expect(isAlive(2 ** 30)).toBe(false)
  })

  it('finds executables explicitly, on PATH or via fallbacks, and fails with TESTNET_START_FAILED otherwise', () => {
    expect(findExecutable('sh', undefined, [])).toMatch(/\/sh$/)
    expect(findExecutable('no-such-binary-xyz', undefined, ['/bin/sh'])).toBe('/bin/sh')
    expect(() => findExecutable('no-such-binary-xyz', undefined, [])).toThrow(expect.objectContaining({ code: 'TESTNET_START_FAILED' }))
    expect(() => findExecutable('tor', '/nonexistent/tor', [])).toThrow(expect.objectContaining({ code: 'TESTNET_START_FAILED' }))
  })
})
