/**
 * Fuzzing what Burrow reads from tor's control port, with fast-check:
 * replies (any mix of mid, data and end lines, events interleaved, CRLF or
 * LF, cut anywhere), keyword arguments with quoted values, the typed events,
 * PROTOCOLINFO and AUTHCHALLENGE. Valid input parses to its model; anything
 * else is a TorError of TOR_ERRORS (or, for an event, a raw event), and a
 * control port that fails the SAFECOOKIE check never gets our proof.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect } from 'vitest'
import { silentLogger } from '../../src/logging.js'
import { TOR_ERRORS, TorCommandError, TorError } from '../../src/tor/errors.js'
import { authenticate } from '../../src/tor/control/auth.js'
import { parseEvent, parseKeyValues, parseProtocolInfo, quoteString, ReplyParser, safeCookieHashes, type ControlReply } from '../../src/tor/control/index.js'
import { readQuotedString } from '../../src/tor/control/quote.js'
import { applyEdits, byteEdits, chunkSizes, splitBytes } from '../arbitraries/bytes.js'
import { keywordArgs, lineText, protocolInfo, replyStream, token, torQuote, typedEvent } from '../arbitraries/tor.js'
import { expectSameData, fc, fuzz, typedErrorOf, typedRejectionOf } from '../helpers/fuzz.js'

/** Parses `bytes` pushed in chunks of `sizes`: the replies, or the code of the error that ended the stream. */
function parseAll(bytes: Uint8Array, sizes: readonly number[], parser = new ReplyParser()): { replies: ControlReply[]; code?: string } {
  const replies: ControlReply[] = []
  const code = typedErrorOf(() => {
    for (const chunk of splitBytes(bytes, sizes)) replies.push(...parser.push(Buffer.from(chunk)))
  }, TOR_ERRORS, ['TOR_CONTROL_PROTOCOL'])
  return code === undefined ? { replies } : { replies, code }
}

/**
 * What a control client's `send` makes of `wire` as the answer to a
 * command: its reply, rejected as TorCommandError for a 4xx or 5xx status;
 * the parser's error; or, when no reply is complete, the timeout the client
 * would meet.
 */
function controlAnswer(wire: string): ControlReply {
  const [reply] = new ReplyParser().push(wire)
  if (reply === undefined) throw new TorError('TOR_CONTROL_TIMEOUT')
  if (reply.status >= 400) throw new TorCommandError('AUTHCHALLENGE', reply.status, reply.lines.at(-1)!.text)
  return reply
}

/** The one reply that `wire` holds. */
function replyOf(wire: string): ControlReply {
  const replies = new ReplyParser().push(wire)
  expect(replies).toHaveLength(1)
  return replies[0]!
}

describe('control-port replies', () => {
  fuzz('tor: control replies', [replyStream, chunkSizes], { runs: 3000 })(
    'parse to their model, events apart from the replies they interrupt, however the stream is cut',
    ({ wire, expected }, sizes) => {
      expectSameData(parseAll(Buffer.from(wire), sizes), { replies: expected })
    },
  )

  fuzz('tor: control replies mutated', [replyStream, byteEdits(4), chunkSizes], { runs: 5000 })(
    'give replies or TOR_CONTROL_PROTOCOL for edited streams, and the parser stays failed after an error',
    ({ wire }, edits, sizes) => {
      const parser = new ReplyParser({ maxLineBytes: 64, maxReplyBytes: 512 })
      const { replies, code } = parseAll(applyEdits(Buffer.from(wire), edits), sizes, parser)
      for (const reply of replies) for (const line of reply.lines) expect(line.status).toBe(reply.status)
      if (code !== undefined) expect(typedErrorOf(() => parser.push('250 OK\r\n'), TOR_ERRORS)).toBe('TOR_CONTROL_PROTOCOL')
    },
  )
})

describe('keyword arguments and events', () => {
  fuzz('tor: keyword arguments', [fc.array(token, { maxLength: 3 }), keywordArgs()], { runs: 3000 })(
    'give every keyword value back, quoted values unescaped as tor escapes them',
    (positional, args) => {
      expect(parseKeyValues([...positional, ...args.wire].join(' '))).toEqual(args.expected)
    },
  )

  fuzz('tor: quoted strings', [fc.string({ unit: 'binary', maxLength: 40 }), fc.boolean()], { runs: 3000 })(
    'read back what tor or Burrow quoted',
    (value, ours) => {
      if (ours && /[\x00-\x1f\x7f]/.test(value)) {
        expect(typedErrorOf(() => quoteString(value), TOR_ERRORS)).toBe('TOR_CONTROL_ARGUMENT')
        return
      }
      const quoted = ours ? quoteString(value) : torQuote(value)
      expect(readQuotedString(`${quoted} rest`, 0)).toEqual({ value, end: quoted.length })
    },
  )

  fuzz('tor: keyword arguments mutated', [fc.oneof(lineText, keywordArgs().map((a) => a.wire.join(' '))), byteEdits(3)], { runs: 5000 })(
    'give a record of strings or TOR_CONTROL_PROTOCOL, never anything else',
    (text, edits) => {
      const edited = Buffer.from(applyEdits(Buffer.from(text), edits)).toString('utf8')
      let kv: Record<string, string> | undefined
      typedErrorOf(() => (kv = parseKeyValues(edited)), TOR_ERRORS, ['TOR_CONTROL_PROTOCOL'])
      if (kv !== undefined) for (const value of Object.values(kv)) expect(typeof value).toBe('string')
      if (kv !== undefined) expect(Object.getPrototypeOf(kv)).toBe(Object.prototype)
    },
  )

  fuzz('tor: typed events', [typedEvent], { runs: 3000 })('parse to their model', ({ line, expected }) => {
    expectSameData(parseEvent(replyOf(`650 ${line}\r\n`)), expected)
  })

  fuzz('tor: events mutated', [fc.oneof(typedEvent.map((e) => e.line), lineText), byteEdits(3)], { runs: 5000 })(
    'never throw: a typed event or the raw event',
    (line, edits) => {
      const edited = Buffer.from(applyEdits(Buffer.from(`650 ${line}`), edits)).toString('utf8').replace(/[\x00-\x08\x0a-\x1f]/g, '')
      const replies = parseAll(Buffer.from(`${edited}\r\n`), [4096]).replies
      for (const reply of replies) {
        const event = parseEvent(reply)
        expect(typeof event.type).toBe('string')
      }
    },
  )
})

describe('authentication replies', () => {
  fuzz('tor: PROTOCOLINFO', [protocolInfo], { runs: 2000 })('parses to its model', ({ wire, expected }) => {
    expectSameData(parseProtocolInfo(replyOf(wire)), expected)
  })

  fuzz('tor: PROTOCOLINFO mutated', [protocolInfo, byteEdits(4)], { runs: 3000 })(
    'gives methods or a TorError, for edited replies',
    ({ wire }, edits) => {
      const parsed = parseAll(applyEdits(Buffer.from(wire), edits), [4096])
      for (const reply of parsed.replies) {
        let info: ReturnType<typeof parseProtocolInfo> | undefined
        typedErrorOf(() => (info = parseProtocolInfo(reply)), TOR_ERRORS, ['TOR_CONTROL_PROTOCOL'])
        if (info !== undefined) for (const m of info.methods) expect(m).not.toBe('')
      }
    },
  )

  const dir = mkdtempSync(join(tmpdir(), 'burrow-auth-fuzz-'))
  const cookie = Buffer.alloc(32, 0x5c)
  const cookieFile = join(dir, 'control_auth_cookie')
  writeFileSync(cookieFile, cookie, { mode: 0o600 })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const challengeEdit = fc.option(byteEdits(3), { nil: undefined, freq: 4 })

  fuzz('tor: AUTHCHALLENGE', [fc.uint8Array({ minLength: 32, maxLength: 32 }), challengeEdit, fc.boolean()], { runs: 1000 })(
    'authenticates against a port that proves it knows the cookie, and refuses any other answer before sending our proof',
    async (serverNonce, edits, upper) => {
      const sent: string[] = []
      const hex = (b: Uint8Array): string => (upper ? Buffer.from(b).toString('hex').toUpperCase() : Buffer.from(b).toString('hex'))
      let honest: { hash: string; nonce: string } | undefined
      let given = ''
      const send = async (line: string): Promise<ControlReply> => {
        sent.push(line)
        if (line === 'PROTOCOLINFO 1') return replyOf(`250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=${torQuote(cookieFile)}\r\n250 OK\r\n`)
        if (line.startsWith('AUTHCHALLENGE SAFECOOKIE ')) {
          const clientNonce = Buffer.from(line.slice('AUTHCHALLENGE SAFECOOKIE '.length), 'hex')
          honest = { hash: hex(safeCookieHashes(cookie, clientNonce, serverNonce).serverHash), nonce: hex(serverNonce) }
          const wire = Buffer.from(`250 AUTHCHALLENGE SERVERHASH=${honest.hash} SERVERNONCE=${honest.nonce}\r\n`)
          given = Buffer.from(edits === undefined ? wire : applyEdits(wire, edits)).toString('latin1')
          return controlAnswer(given)
        }
        return replyOf('250 OK\r\n')
      }
      const code = await typedRejectionOf(() => authenticate(send, { cookieFile }, silentLogger), TOR_ERRORS, ['TOR_CONTROL_PROTOCOL', 'TOR_CONTROL_TIMEOUT', 'TOR_AUTH_FAILED'])
      const proved = sent.some((l) => l.startsWith('AUTHENTICATE '))
      expect(proved).toBe(code === undefined)
      if (edits === undefined) expect(code).toBeUndefined()
      // Our proof goes only to a port whose answer carries the honest hash and nonce.
      if (proved) {
        expect(given.toLowerCase()).toContain(honest!.hash.toLowerCase())
        expect(given.toLowerCase()).toContain(honest!.nonce.toLowerCase())
      }
    },
  )
})
