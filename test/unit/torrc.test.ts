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

  it('listens only on unix sockets in its own folder, with the extended SOCKS errors and isolation', () => {
    expect(opts.get('SocksPort')).toEqual([`unix:${paths.socksSocket} ExtendedErrors IsolateSOCKSAuth`])
    expect(opts.get('ControlSocket')).toEqual([`unix:${paths.controlSocket}`])
    expect(opts.has('ControlPort')).toBe(false)
    for (const key of ['UnixSocksGroupWritable', 'ControlSocketsGroupWritable', 'ControlPortFileGroupReadable', 'CookieAuthFileGroupReadable']) {
      expect(opts.get(key)).toEqual(['0'])
    }
    expect(torrc).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/)
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

  it('quotes values tor would cut at # or trim, and socket paths with blanks or quotes', () => {
    const dir = '/tmp/a#b "c" d\\e f '
    const quoted = options(buildNodeTorrc(nodeTorPaths(dir), 1))
    expect(quoted.get('DataDirectory')).toEqual(['"/tmp/a#b \\"c\\" d\\\\e f "'])
    expect(quoted.get('CookieAuthFile')).toEqual(['"/tmp/a#b \\"c\\" d\\\\e f /control_auth_cookie"'])
    expect(quoted.get('Log')).toEqual(['"notice file /tmp/a#b \\"c\\" d\\\\e f /notice.log"'])
    expect(quoted.get('SocksPort')).toEqual(['"unix:\\"/tmp/a#b \\\\\\"c\\\\\\" d\\\\\\\\e f /socks.sock\\" ExtendedErrors IsolateSOCKSAuth"'])
    // Without '#', a blank or a quote in the path needs quoting only inside the port line.
    const spaced = options(buildNodeTorrc(nodeTorPaths('/tmp/a b'), 1))
    expect(spaced.get('DataDirectory')).toEqual(['/tmp/a b'])
    expect(spaced.get('ControlSocket')).toEqual(['unix:"/tmp/a b/control.sock"'])
    // '#' alone: tor cuts an unquoted unix: path there too, so both the path and the line are quoted.
    expect(options(buildNodeTorrc(nodeTorPaths('/tmp/c#1'), 1)).get('ControlSocket')).toEqual(['"unix:\\"/tmp/c#1/control.sock\\""'])
  })

  it('refuses a data directory whose socket paths would not fit a unix socket address', () => {
    const long = `/tmp/${'x'.repeat(100)}`
    expect(() => nodeTorPaths(long)).toThrow(expect.objectContaining({ code: 'TOR_SOCKET_PATH_UNUSABLE' }))
    expect(() => nodeTorPaths(long)).toThrow(/107 bytes/)
    // 107 bytes is the limit, counted in UTF-8 bytes.
    expect(nodeTorPaths(`/${'x'.repeat(107 - '/control.sock'.length - 1)}`).controlSocket).toHaveLength(107)
    expect(() => nodeTorPaths(`/${'é'.repeat(50)}`)).toThrow(expect.objectContaining({ code: 'TOR_SOCKET_PATH_UNUSABLE' }))
  })

  it('refuses templates with unresolved variables', () => {
    expect(() => renderTorrc('DataDirectory {{DATA_DIR}}', {})).toThrow(expect.objectContaining({ code: 'TORRC_INVALID' }))
  })
})
