import { describe, expect, it } from 'vitest'
import { ReplyParser, type ControlReply } from '../../src/tor/control/index.js'
import { chunkSizes, splitBytes } from '../arbitraries/bytes.js'
import { expectSameData, fuzz } from '../helpers/fuzz.js'

const PRIVATE_KEY = `ED25519-V3:${Buffer.alloc(64, 9).toString('base64')}`
const SERVICE_ID = 'z3eg73s63ledjjmmma2wceunr7cefwy2lvznwsuqvnuqg5foduzaefid'

// Realistic traffic as tor 0.4.9 writes it, events interleaved between replies.
const CORPUS = [
  '250-PROTOCOLINFO 1\r\n',
  '250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/tmp/tor data/control_auth_cookie"\r\n',
  '250-VERSION Tor="0.4.9.11"\r\n',
  '250 OK\r\n',
  '250 AUTHCHALLENGE SERVERHASH=8C4C1F7A0A5FE9E5B9B5F33EFE85A7FEE4C0B4A2E0E2AD7F1E5C7A8B0A1E2F30 SERVERNONCE=1F0E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0\r\n',
  '250 OK\r\n',
  '650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=85 TAG=ap_conn_done SUMMARY="Connecting to a relay to build circuits"\r\n',
  '250-version=0.4.9.11\r\n',
  '250+config-text=\r\n',
  'ControlPort auto\r\n',
  '..hidden line that started with a dot\r\n',
  'SocksPort 0\r\n',
  '.\r\n',
  '250 OK\r\n',
  '650-CONF_CHANGED\r\n',
  '650-ConnectionPadding=0\r\n',
  '650 OK\r\n',
  `250-ServiceID=${SERVICE_ID}\r\n`,
  `250-PrivateKey=${PRIVATE_KEY}\r\n`,
  '250 OK\r\n',
  '650+NS\r\n',
  'r relay1 AAAA BBBB 2026-11-01 00:00:00 127.0.0.1 5000 0\r\n',
  's Fast Guard HSDir Running Stable V2Dir Valid\r\n',
  '.\r\n',
  '650 OK\r\n',
  `650 HS_DESC UPLOAD ${SERVICE_ID} UNKNOWN $0A1B2C3D4E5F60718293A4B5C6D7E8F901234567~relay1 aGVsbG8gd29ybGQgdGhpcyBpcyBhIGJsaW5kZWQga2V5 HSDIR_INDEX=0123\r\n`,
  '552 Unrecognized key "no/such/key"\r\n',
  '650 CIRC 7 BUILT $AAAA~a,$BBBB~b,$CCCC~c BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_SERVICE_HSDIR TIME_CREATED=2026-11-01T00:00:00.000000\n',
  '250 closing connection\n',
].join('')

function parseAll(chunks: (Buffer | string)[]): ControlReply[] {
  const parser = new ReplyParser()
  return chunks.flatMap((c) => parser.push(c))
}

describe('ReplyParser', () => {
  const whole = parseAll([CORPUS])

  it('parses the corpus into the expected replies', () => {
    expect(whole.map((r) => r.status)).toEqual([250, 250, 250, 650, 250, 650, 250, 650, 650, 552, 650, 250])
    expect(whole[0]).toEqual({
      status: 250,
      lines: [
        { status: 250, kind: 'mid', text: 'PROTOCOLINFO 1' },
        { status: 250, kind: 'mid', text: 'AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/tmp/tor data/control_auth_cookie"' },
        { status: 250, kind: 'mid', text: 'VERSION Tor="0.4.9.11"' },
        { status: 250, kind: 'end', text: 'OK' },
      ],
    })
    expect(whole[4]?.lines).toEqual([
      { status: 250, kind: 'mid', text: 'version=0.4.9.11' },
      {
        status: 250,
        kind: 'data',
        text: 'config-text=',
        data: 'ControlPort auto\n.hidden line that started with a dot\nSocksPort 0',
      },
      { status: 250, kind: 'end', text: 'OK' },
    ])
    expect(whole[5]?.lines.map((l) => l.kind)).toEqual(['mid', 'mid', 'end'])
    expect(whole[6]?.lines[1]?.text).toBe(`PrivateKey=${PRIVATE_KEY}`)
    expect(whole[7]?.lines[0]).toMatchObject({ kind: 'data', text: 'NS', data: expect.stringContaining('s Fast Guard HSDir') })
    expect(whole[9]).toEqual({ status: 552, lines: [{ status: 552, kind: 'end', text: 'Unrecognized key "no/such/key"' }] })
    // bare LF line endings are tolerated
    expect(whole[11]?.lines[0]?.text).toBe('closing connection')
  })

  fuzz('tor: control corpus cut anywhere', [chunkSizes], { runs: 200 })('gives identical parses however the corpus is cut, 1-byte chunks included', (sizes) => {
    expectSameData(parseAll(splitBytes(Buffer.from(CORPUS, 'utf8'), sizes).map((c) => Buffer.from(c))), whole)
  })

  it('accepts strings as well as buffers, and multi-byte UTF-8 split across chunks', () => {
    const line = Buffer.from('250 OK caf\u00e9 \u{1f9c5}\r\n', 'utf8')
    const parser = new ReplyParser()
    const out: ControlReply[] = []
    for (let i = 0; i < line.length; i++) out.push(...parser.push(line.subarray(i, i + 1)))
    expect(out[0]?.lines[0]?.text).toBe('OK caf\u00e9 \u{1f9c5}')
    expect(new ReplyParser().push('250 OK\r\n')).toEqual([{ status: 250, lines: [{ status: 250, kind: 'end', text: 'OK' }] }])
  })

  it('keeps a 650 line that arrives between the lines of a reply apart from that reply', () => {
    const replies = parseAll(['250-a=1\r\n650 CIRC 1 LAUNCHED\r\n250-b=2\r\n250 OK\r\n'])
    expect(replies).toEqual([
      { status: 650, lines: [{ status: 650, kind: 'end', text: 'CIRC 1 LAUNCHED' }] },
      {
        status: 250,
        lines: [
          { status: 250, kind: 'mid', text: 'a=1' },
          { status: 250, kind: 'mid', text: 'b=2' },
          { status: 250, kind: 'end', text: 'OK' },
        ],
      },
    ])
  })

  it('returns nothing until a reply is complete', () => {
    const parser = new ReplyParser()
    expect(parser.push('250-version=1\r\n250+x=\r\nabc\r\n')).toEqual([])
    expect(parser.push('.\r\n')).toEqual([])
    expect(parser.push('250 O')).toEqual([])
    expect(parser.push('K\r\n')).toHaveLength(1)
  })

  const malformed: [string, string | Buffer][] = [
    ['non-digit status', 'abc OK\r\n'],
    ['two-digit status', '25 OK\r\n'],
    ['status out of range', '999 OK\r\n'],
    ['missing separator', '250\r\n'],
    ['bad separator', '250*OK\r\n'],
    ['empty line', '\r\n'],
    ['mixed status in one reply', '250-a=1\r\n251 OK\r\n'],
    ['mixed error status', '250-a=1\r\n552 nope\r\n'],
    ['NUL byte', '250 O\0K\r\n'],
    ['stray CR inside a line', '250 O\rK\r\n'],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x9c, 0x0a])],
    ['garbage in a data block', '250+x=\r\nok\r\n\x07bell\r\n'],
  ]
  for (const [name, input] of malformed) {
    it(`rejects ${name} with TOR_CONTROL_PROTOCOL`, () => {
      expect(() => new ReplyParser().push(input)).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
    })
  }

  it('rejects an over-long line, even before its newline arrives', () => {
    const parser = new ReplyParser({ maxLineBytes: 100 })
    expect(() => parser.push(`250 ${'x'.repeat(200)}`)).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
    const exact = new ReplyParser({ maxLineBytes: 10 })
    expect(exact.push('250 ABCDEF\r\n')).toHaveLength(1) // 10 bytes: at the limit
    expect(() => exact.push('250 ABCDEFG\r\n')).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })

  it('rejects an over-large reply', () => {
    const parser = new ReplyParser({ maxReplyBytes: 1000 })
    parser.push('250+big=\r\n')
    expect(() => {
      for (let i = 0; i < 100; i++) parser.push(`${'y'.repeat(50)}\r\n`)
    }).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })

  it('stays failed after an error', () => {
    const parser = new ReplyParser()
    expect(() => parser.push('xyz\r\n')).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
    expect(() => parser.push('250 OK\r\n')).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })
})
