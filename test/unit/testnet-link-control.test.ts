import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LinkControl, linkControlSocketPath, parseLinkRequest, sendLinkRequest } from '../../src/testnet/link-control.js'
import { emulatedPorts, LIVE_LINKS, linkShapeOf } from '../../src/testnet/profile.js'
import type { TestnetNode, TestnetState } from '../../src/testnet/state.js'

const dir = mkdtempSync(join(tmpdir(), 'burrow-link-control-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const node = (nickname: string, extra: Partial<TestnetNode> = {}): TestnetNode => ({ nickname, role: 'relay', pid: 1, orPort: 1000, dataDir: '/x', fingerprint: 'A'.repeat(40), ...extra })

describe('link requests', () => {
  it('parses the requests of the wire sample and names what is wrong with others', () => {
    expect(parseLinkRequest('{"op":"drop","target":{"relay":"relay2"}}')).toEqual({ op: 'drop', target: { relay: 'relay2' } })
    expect(parseLinkRequest('{"op":"stall","target":{"pid":41234}}')).toEqual({ op: 'stall', target: { pid: 41234 } })
    expect(parseLinkRequest('{"op":"restore"}')).toEqual({ op: 'restore' })
    expect(parseLinkRequest('{"op":"restore","target":{"relay":"auth1"}}')).toEqual({ op: 'restore', target: { relay: 'auth1' } })
    expect(parseLinkRequest('{"op":"stats"}')).toEqual({ op: 'stats' })
    expect(() => parseLinkRequest('{"op":"bogus"}')).toThrow('unknown op')
    expect(() => parseLinkRequest('not json')).toThrow('not JSON')
    expect(() => parseLinkRequest('[1]')).toThrow('unknown op')
    expect(() => parseLinkRequest('{"op":"drop"}')).toThrow(/target must be/)
    for (const target of ['{"relay":"a b"}', '{"pid":0}', '{"pid":1.5}', '{"relay":"a","pid":3}', `{"relay":"${'x'.repeat(20)}"}`]) {
      expect(() => parseLinkRequest(`{"op":"drop","target":${target}}`)).toThrow()
    }
  })

  it('turns a refusal, a silent emulator and a missing socket into TESTNET_LINK_CONTROL', async () => {
    const path = join(dir, 'refuses.sock')
    const server = createServer((s) => s.on('data', () => s.write('{"ok":false,"error":"unknown op"}\n')))
    server.listen(path)
    await once(server, 'listening')
    const silent = createServer(() => {})
    silent.listen(join(dir, 'silent.sock'))
    await once(silent, 'listening')
    try {
      await expect(sendLinkRequest(path, { op: 'stats' })).rejects.toMatchObject({ code: 'TESTNET_LINK_CONTROL', message: expect.stringContaining('unknown op') })
      await expect(sendLinkRequest(join(dir, 'silent.sock'), { op: 'ping' }, 200)).rejects.toMatchObject({ code: 'TESTNET_LINK_CONTROL' })
      await expect(sendLinkRequest(join(dir, 'none.sock'), { op: 'ping' })).rejects.toMatchObject({ code: 'TESTNET_LINK_CONTROL' })
    } finally {
      server.close()
      silent.close()
    }
  })

  it('refuses link control on the fast profile and unknown targets before sending anything', async () => {
    const state: TestnetState = { dir, createdAt: '', nodes: [node('relay1')], dirAuthorityLines: [], joinFile: '', profile: 'fast' }
    expect(() => new LinkControl(state)).toThrow(expect.objectContaining({ code: 'TESTNET_LINK_CONTROL' }))
    const links = new LinkControl({ ...state, profile: 'live', emulator: { pid: 1, controlSocket: join(dir, 'none.sock') } })
    await expect(links.drop({ relay: 'nosuch' })).rejects.toMatchObject({ code: 'TESTNET_NOT_FOUND' })
    await expect(links.drop({ clientPid: 2 ** 22 + 1 })).rejects.toMatchObject({ code: 'TESTNET_NOT_FOUND' })
  })

  it('refuses a network directory too long for a unix socket', () => {
    expect(linkControlSocketPath('/tmp/net')).toBe('/tmp/net/links.sock')
    expect(() => linkControlSocketPath(`/tmp/${'x'.repeat(100)}`)).toThrow(expect.objectContaining({ code: 'TESTNET_START_FAILED' }))
  })
})

describe('the live profile', () => {
  it('spreads the relays\' delays evenly over the profile\'s range', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((i) => linkShapeOf(LIVE_LINKS, i, 6).delayMs)
    expect(delays[0]).toBe(LIVE_LINKS.delayMs.min)
    expect(delays[5]).toBe(LIVE_LINKS.delayMs.max)
    expect([...delays].sort((a, b) => a - b)).toEqual(delays)
  })

  it('puts each ORPort, and an authority\'s DirPort, in front of the port tor binds', () => {
    const nodes = [node('auth1', { role: 'authority', orPort: 1, dirPort: 2, internalOrPort: 3, internalDirPort: 4 }), node('relay1', { orPort: 5, internalOrPort: 6 }), node('fast1')]
    expect(emulatedPorts(nodes, LIVE_LINKS).map(({ relay, listenPort, targetPort, kind }) => ({ relay, listenPort, targetPort, kind }))).toEqual([
      { relay: 'auth1', listenPort: 1, targetPort: 3, kind: 'or' },
      { relay: 'auth1', listenPort: 2, targetPort: 4, kind: 'dir' },
      { relay: 'relay1', listenPort: 5, targetPort: 6, kind: 'or' },
    ])
  })
})
