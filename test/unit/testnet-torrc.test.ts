import { describe, expect, it } from 'vitest'
import { clientTorrcLines, dirAuthorityLine, nodeTorrc } from '../../src/testnet/torrc.js'

const auth = {
  nickname: 'auth1',
  orPort: 35797,
  dirPort: 32857,
  v3ident: '78017ABAE266D89B668E40740974DEAFDE91409F',
  fingerprint: '0B36C048FA8042B9B8CF196B8E40863E6A17E019',
}
const line = dirAuthorityLine(auth)

/** Every address:port or bare address a rendered torrc mentions. */
function addresses(torrc: string): string[] {
  return [...torrc.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})\b/g)].map((m) => m[1] ?? '')
}

/** Options as tor sees them: non-comment lines, keyword → values. */
function options(torrc: string): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const raw of torrc.split('\n')) {
    const l = raw.trim()
    if (l === '' || l.startsWith('#')) continue
    const [k = '', ...rest] = l.split(' ')
    map.set(k, [...(map.get(k) ?? []), rest.join(' ')])
  }
  return map
}

describe('dirAuthorityLine', () => {
  it('has the exact format tor expects', () => {
    expect(line).toBe(
      'DirAuthority auth1 orport=35797 no-v2 v3ident=78017ABAE266D89B668E40740974DEAFDE91409F 127.0.0.1:32857 0B36C048FA8042B9B8CF196B8E40863E6A17E019',
    )
  })

  it('rejects malformed nicknames, fingerprints and ports', () => {
    expect(() => dirAuthorityLine({ ...auth, nickname: 'bad name' })).toThrow(RangeError)
    expect(() => dirAuthorityLine({ ...auth, nickname: 'x'.repeat(20) })).toThrow(RangeError)
    expect(() => dirAuthorityLine({ ...auth, v3ident: auth.v3ident.toLowerCase() })).toThrow(RangeError)
    expect(() => dirAuthorityLine({ ...auth, fingerprint: `${auth.fingerprint}\nExitRelay 1` })).toThrow(RangeError)
    expect(() => dirAuthorityLine({ ...auth, dirPort: 0 })).toThrow(RangeError)
    expect(() => dirAuthorityLine({ ...auth, orPort: 70000 })).toThrow(RangeError)
  })
})

describe('nodeTorrc', () => {
  const authority = nodeTorrc({ nickname: 'auth1', role: 'authority', orPort: 35797, dirPort: 32857, dataDir: '/tmp/net/nodes/auth1' }, [line])
  const relay = nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 41399, dataDir: '/tmp/net/nodes/relay1' }, [line])

  it('uses only 127.0.0.1 addresses', () => {
    for (const torrc of [authority, relay]) {
      const found = addresses(torrc)
      expect(found.length).toBeGreaterThan(0)
      expect(new Set(found)).toEqual(new Set(['127.0.0.1']))
    }
  })

  it('renders an authority with its ports, data directory and authority options', () => {
    const o = options(authority)
    expect(o.get('Nickname')).toEqual(['auth1'])
    expect(o.get('DataDirectory')).toEqual(['/tmp/net/nodes/auth1'])
    expect(o.get('Log')).toEqual(['notice file /tmp/net/nodes/auth1/notice.log'])
    expect(o.get('ORPort')).toEqual(['127.0.0.1:35797'])
    expect(o.get('DirPort')).toEqual(['127.0.0.1:32857'])
    expect(o.get('Address')).toEqual(['127.0.0.1'])
    expect(o.get('SocksPort')).toEqual(['0'])
    for (const k of ['TestingTorNetwork', 'AuthoritativeDirectory', 'V3AuthoritativeDirectory', 'AssumeReachable']) expect(o.get(k)).toEqual(['1'])
    expect(o.get('ShutdownWaitLength')).toEqual(['0'])
    expect(o.get('TestingDirAuthVoteHSDir')).toEqual(['*'])
    expect(o.get('DirAuthority')).toEqual([line.slice('DirAuthority '.length)])
    expect(authority).not.toMatch(/\{\{/)
  })

  it('renders a relay without DirPort or authority options', () => {
    const o = options(relay)
    expect(o.get('ORPort')).toEqual(['127.0.0.1:41399'])
    expect(o.get('AssumeReachable')).toEqual(['1'])
    expect(o.get('SocksPort')).toEqual(['0'])
    expect(o.has('DirPort')).toBe(false)
    expect(o.has('AuthoritativeDirectory')).toBe(false)
    expect(o.get('DirAuthority')).toHaveLength(1)
  })

  it('on the live profile advertises the emulator\'s ports without binding them and binds internal ports without advertising them', () => {
    const live = nodeTorrc(
      { nickname: 'auth1', role: 'authority', orPort: 35797, dirPort: 32857, internalOrPort: 40001, internalDirPort: 40002, dataDir: '/tmp/net/nodes/auth1' },
      [line],
    )
    const o = options(live)
    expect(o.get('ORPort')).toEqual(['127.0.0.1:35797 NoListen', '127.0.0.1:40001 NoAdvertise'])
    expect(o.get('DirPort')).toEqual(['127.0.0.1:32857 NoListen', '127.0.0.1:40002 NoAdvertise'])
    expect(() => nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 1, internalOrPort: 70000, dataDir: '/tmp/x' }, [line])).toThrow(RangeError)
  })

  it('adds an owning process only when asked', () => {
    expect(options(relay).has('__OwningControllerProcess')).toBe(false)
    const owned = nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 41399, dataDir: '/tmp/net/nodes/relay1' }, [line], 4242)
    expect(options(owned).get('__OwningControllerProcess')).toEqual(['4242'])
    expect(() => nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 1, dataDir: '/tmp/x' }, [line], 0)).toThrow(RangeError)
  })

  it('refuses values that would inject torrc lines', () => {
    expect(() => nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 1, dataDir: '/tmp/x\nExitRelay 1' }, [line])).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
    expect(() => nodeTorrc({ nickname: 'relay1', role: 'relay', orPort: 1, dataDir: '/tmp/x' }, ['DirAuthority a\nExitRelay 1'])).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
    expect(() => nodeTorrc({ nickname: 'auth1', role: 'authority', orPort: 1, dataDir: '/tmp/x' }, [line])).toThrow(RangeError)
  })
})

describe('clientTorrcLines', () => {
  it('carries the DirAuthority lines and the settings a client on loopback needs, one option per line', () => {
    const lines = clientTorrcLines({ dirAuthorityLines: [line] })
    expect(lines).toContain(line)
    expect(lines).toEqual(expect.arrayContaining(['TestingTorNetwork 1', 'LearnCircuitBuildTimeout 0', 'CircuitBuildTimeout 30', 'GeoIPFile /dev/null', 'GeoIPv6File /dev/null']))
    for (const l of lines) expect(l).not.toMatch(/[\r\n]/)
  })
})
