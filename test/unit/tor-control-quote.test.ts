import { describe, expect, it } from 'vitest'
import {
  assertKeyword,
  parseKeyValues,
  quoteString,
  splitArgs,
} from '../../src/tor/control/index.js'
import { readQuotedString } from '../../src/tor/control/quote.js'

describe('quoteString', () => {
  const samples = ['', 'plain', 'with space', 'back\\slash', 'a "quote"', '\\"both\\"', 'trailing\\', 'caf\u00e9 \u{1f9c5}', '\\n is not a newline', '\\0 \\12']

  it('escapes backslash and double quote only', () => {
    expect(quoteString('a "b" \\c')).toBe('"a \\"b\\" \\\\c"')
    expect(quoteString('')).toBe('""')
  })

  it('round-trips through the reader tor-style unescaping uses', () => {
    for (const s of samples) {
      const quoted = quoteString(s)
      expect(readQuotedString(quoted, 0)).toEqual({ value: s, end: quoted.length })
      // never a backslash before n, t, r or a digit that a C-style reader would misread
      expect(quoted.slice(1, -1).replace(/\\\\|\\"/g, '')).not.toContain('\\')
    }
  })

  it.each(['a\rb', 'a\nb', 'a\0b', 'bell\x07', 'tab\tx', 'esc\x1b', 'del\x7f', 'GETINFO x\r\nSIGNAL HALT'])('refuses control characters (%j)', (s) => {
    expect(() => quoteString(s)).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_ARGUMENT' }))
  })
})

describe('assertKeyword', () => {
  it.each(['version', 'net/listeners/socks', 'NEW:ED25519-V3', 'Port=80,127.0.0.1:8080', 'a+b=c.d_e-f'])('accepts %j', (s) => {
    expect(assertKeyword(s)).toBe(s)
  })

  it.each(['', 'two words', 'quote"', 'x\r\nSIGNAL HALT', 'semi;colon', 'tab\t', 'caf\u00e9', 'back\\slash'])('refuses %j without echoing it', (s) => {
    let caught: unknown
    try {
      assertKeyword(s)
    } catch (err) {
      caught = err
    }
    expect(caught).toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
    if (s.length > 3) expect((caught as Error).message).not.toContain(s)
  })
})

describe('readQuotedString', () => {
  it('reads C-style escapes tor writes (\\n, \\t, octal bytes as UTF-8)', () => {
    expect(readQuotedString('"a\\nb\\tc\\303\\251\\"\\\\"', 0).value).toBe('a\nb\tc\u00e9"\\')
  })

  it('reports the index after the closing quote', () => {
    expect(readQuotedString('X="abc" rest', 2)).toEqual({ value: 'abc', end: 7 })
  })

  it.each(['"unterminated', '"ends in backslash\\', 'no quote'])('throws TOR_CONTROL_PROTOCOL for %j', (s) => {
    expect(() => readQuotedString(s, 0)).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })
})

describe('parseKeyValues / splitArgs', () => {
  it('reads PROTOCOLINFO-style lines, skipping positional words', () => {
    expect(parseKeyValues('AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/lib/tor dir/control_auth_cookie"')).toEqual({
      METHODS: 'COOKIE,SAFECOOKIE',
      COOKIEFILE: '/var/lib/tor dir/control_auth_cookie',
    })
  })

  it('keeps = inside values and handles empty values', () => {
    expect(parseKeyValues('PrivateKey=ED25519-V3:abc+/== EMPTY= Q=""')).toEqual({ PrivateKey: 'ED25519-V3:abc+/==', EMPTY: '', Q: '' })
  })

  it('unescapes quoted values with spaces and quotes', () => {
    expect(parseKeyValues('NOTICE BOOTSTRAP PROGRESS=85 SUMMARY="say \\"hi\\" now" TAG=x')).toEqual({
      PROGRESS: '85',
      SUMMARY: 'say "hi" now',
      TAG: 'x',
    })
  })

  it('treats $fingerprint=nick and quoted words as positional', () => {
    expect(splitArgs('CIRC 1 BUILT $AB=n1,$CD~n2 "a b" K=v')).toEqual([
      { raw: 'CIRC', value: 'CIRC' },
      { raw: '1', value: '1' },
      { raw: 'BUILT', value: 'BUILT' },
      { raw: '$AB=n1,$CD~n2', value: '$AB=n1,$CD~n2' },
      { raw: '"a b"', value: 'a b' },
      { raw: 'K=v', key: 'K', value: 'v' },
    ])
  })

  it('does not let a __proto__ key touch the prototype', () => {
    const kv = parseKeyValues('__proto__=polluted a=1')
    expect(Object.getPrototypeOf(kv)).toBe(Object.prototype)
    expect(kv.__proto__).toBe('polluted')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('throws TOR_CONTROL_PROTOCOL for an unterminated quoted value', () => {
    expect(() => parseKeyValues('SUMMARY="never closed')).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })
})
