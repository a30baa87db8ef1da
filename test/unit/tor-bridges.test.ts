import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli-run.js'
import { bridgeTorrcLines, findObfs4proxy, parseBridgeLine, TorError } from '../../src/tor/index.js'
import { validateConfig } from '../../src/node/config.js'

// A bridge line as BridgeDB hands it out (the documentation address 192.0.2.7; tor's own example fingerprint and certificate form).
const OBFS4 =
  'obfs4 192.0.2.7:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw iat-mode=0'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof TorError ? err.code : `not a TorError: ${String(err)}`
  }
  return undefined
}

describe('a data directory tor could not use', () => {
  it('is refused by init, as bad input, before anything is created', async () => {
    const root = mkdtempSync(join(tmpdir(), 'burrow-dir-'))
    try {
      for (const dir of [join(root, 'with blank'), join(root, 'a#b'), join(root, 'x'.repeat(100))]) {
        const r = await runCli(['--data-dir', dir, 'init', '--no-passphrase'])
        expect(r.code, dir).toBe(2)
        expect(r.err).toContain('(TOR_SOCKET_PATH_UNUSABLE)')
        expect(existsSync(dir)).toBe(false)
      }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe('bridge lines', () => {
  it('takes obfs4 and plain bridges, with or without the Bridge keyword', () => {
    expect(parseBridgeLine(OBFS4)).toEqual({
      transport: 'obfs4',
      address: '192.0.2.7:443',
      fingerprint: '4352E58420E68F5E40BF7C74FADDCCD9D1349413',
      args: ['cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw', 'iat-mode=0'],
    })
    expect(parseBridgeLine(`Bridge  ${OBFS4}  `).address).toBe('192.0.2.7:443')
    expect(parseBridgeLine('192.0.2.8:9001 $0123456789abcdef0123456789ABCDEF01234567')).toEqual({
      transport: undefined,
      address: '192.0.2.8:9001',
      fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567',
      args: [],
    })
    expect(parseBridgeLine('[2001:db8::7]:443').address).toBe('[2001:db8::7]:443')
  })

  it('refuses what it cannot use, by code, and names the transports it does not take', () => {
    expect(codeOf(() => parseBridgeLine('snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 fingerprint=2B28 url=https://x.example/'))).toBe('TOR_BRIDGE_TRANSPORT_UNSUPPORTED')
    expect(codeOf(() => parseBridgeLine('webtunnel [2001:db8::1]:443 2B280B23E1107BB62ABFC40DDCC8824814F80A72 url=https://x.example/p'))).toBe('TOR_BRIDGE_TRANSPORT_UNSUPPORTED')
    for (const bad of [
      '',
      'Bridge',
      'obfs4 bridge.example.org:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 cert=abc iat-mode=0', // a host name would be resolved in the clear
      'obfs4 192.0.2.7:443 cert=abc', // no fingerprint
      'obfs4 192.0.2.7:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 iat-mode=0', // no cert
      '192.0.2.7:0',
      '192.0.2.7:65536',
      '300.0.2.7:443',
      '192.0.2.7:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 cert=abc', // a plain bridge takes no arguments
      `${OBFS4}\nControlPort 9051`, // another option smuggled in
      `${OBFS4} # comment`,
      `${OBFS4} "quoted"`,
      'frobnicate 192.0.2.7:443',
    ]) {
      expect(codeOf(() => parseBridgeLine(bad)), bad).toBe('TOR_BRIDGE_INVALID')
    }
  })

  it("never quotes a line in its error (an unlisted bridge's address and cert), and names which of several is wrong", () => {
    const secret = ['198.51.100.23', '4352E58420E68F5E40BF7C74FADDCCD9D1349413', 'Zm9vYmFyYmF6cXV4']
    for (const bad of [
      `obfs4 ${secret[0]}:443 ${secret[1]} cert=${secret[2]} iat-mode=x"y`,
      `obfs4 ${secret[0]}:443 ${secret[1]} cert=${secret[2]} iat~mode`,
      `${secret[0]}:443 ${secret[1]} cert=${secret[2]}`,
      `obfs4 ${secret[0]}:443 cert=${secret[2]}`,
    ]) {
      let message = ''
      try {
        parseBridgeLine(bad)
      } catch (err) {
        message = (err as Error).message
      }
      expect(message, bad).toMatch(/^not a usable bridge line/)
      for (const part of secret) expect(message, bad).not.toContain(part)
    }
    expect(() => bridgeTorrcLines(['192.0.2.8:9001', `${secret[0]}:443 x`])).toThrow(/^bridge 2 of 2: not a usable bridge line/)
  })

  it('turns lines into torrc lines, with obfs4proxy only when an obfs4 bridge needs it', () => {
    expect(bridgeTorrcLines([])).toEqual([])
    expect(bridgeTorrcLines(['192.0.2.8:9001'])).toEqual(['UseBridges 1', 'Bridge 192.0.2.8:9001'])
    const obfs4proxy = findObfs4proxy()
    expect(bridgeTorrcLines([`Bridge ${OBFS4}`, '192.0.2.8:9001'])).toEqual(['UseBridges 1', `Bridge ${OBFS4}`, 'Bridge 192.0.2.8:9001', `ClientTransportPlugin obfs4 exec ${obfs4proxy}`])
    expect(codeOf(() => bridgeTorrcLines([OBFS4], { obfs4proxyPath: '/nonexistent/obfs4proxy' }))).toBe('TOR_OBFS4PROXY_NOT_FOUND')
    expect(codeOf(() => findObfs4proxy(undefined, { PATH: '/nonexistent' }))).toBe(findObfs4proxy() === '/usr/bin/obfs4proxy' ? undefined : 'TOR_OBFS4PROXY_NOT_FOUND')
  })

  it('config.json takes a list of bridge lines', () => {
    expect(validateConfig({ bridges: [OBFS4] }).bridges).toEqual([OBFS4])
    expect(() => validateConfig({ bridges: OBFS4 })).toThrow(/bridges must be an array/)
  })

  it('burrow start --bridge refuses a bad line as bad input (exit 2) before anything else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-bridge-cli-'))
    try {
      const r = await runCli(['--data-dir', dir, 'start', '--bridge', OBFS4, '--bridge', 'snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72'])
      expect(r.code).toBe(2)
      expect(r.err).toContain('(TOR_BRIDGE_TRANSPORT_UNSUPPORTED)')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
