import { describe, expect, it } from 'vitest'
import { buildNodeTorrc, nodeTorPaths, renderTorrc } from '../../src/tor/torrc.js'

function options(torrc: string): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const line of torrc.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const [key, ...rest] = trimmed.split(/\s+/)
    map.set(key!, [...(map.get(key!) ?? []), rest.join(' ')])
  }
  return map
}

describe('node torrc', () => {
  const paths = nodeTorPaths('/var/lib/burrow/tor')
  const torrc = buildNodeTorrc(paths, 4242)
  const opts = options(torrc)

  it('listens on loopback only, with the extended SOCKS errors and isolation', () => {
    expect(opts.get('SocksPort')).toEqual(['127.0.0.1:auto ExtendedErrors IsolateSOCKSAuth'])
    expect(opts.get('ControlPort')).toEqual(['127.0.0.1:auto'])
    for (const line of torrc.split('\n')) {
      const ip = line.match(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/)
      if (ip) expect(ip[1]!.startsWith('127.')).toBe(true)
    }
  })

  it('is a client only: no ORPort, DNSPort or other listeners', () => {
    expect(opts.get('ClientOnly')).toEqual(['1'])
    for (const key of ['ORPort', 'DNSPort', 'TransPort', 'NATDPort']) expect(opts.get(key)).toEqual(['0'])
    expect(opts.has('ExitRelay')).toBe(false)
    expect(opts.has('DirPort')).toBe(false)
  })

  it('uses cookie authentication, writes the control port to a file and names its owner', () => {
    expect(opts.get('CookieAuthentication')).toEqual(['1'])
    expect(opts.get('CookieAuthFile')).toEqual([paths.cookieFile])
    expect(opts.get('ControlPortWriteToFile')).toEqual([paths.controlPortFile])
    expect(opts.get('__OwningControllerProcess')).toEqual(['4242'])
    expect(opts.get('DataDirectory')).toEqual([paths.dataDir])
    expect(opts.get('AvoidDiskWrites')).toEqual(['1'])
  })

  it('appends extra lines and refuses line injection', () => {
    const extra = buildNodeTorrc(paths, 1, ['TestingTorNetwork 1', '# a comment', '  '])
    expect(options(extra).get('TestingTorNetwork')).toEqual(['1'])
    expect(() => buildNodeTorrc(paths, 1, ['Bridge x\nSocksPort 0.0.0.0:9050'])).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
    expect(() => buildNodeTorrc(nodeTorPaths('/tmp/x\nControlPort 0.0.0.0:1'), 1)).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
  })

  it('refuses templates with unresolved variables', () => {
    expect(() => renderTorrc('DataDirectory {{DATA_DIR}}', {})).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
  })
})
