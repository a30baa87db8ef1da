import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  TorControl,
  type RawTorEvent,
  type StatusClientEvent,
  type TorEvent,
} from '../../src/tor/control/index.js'
import { TorError, TorCommandError } from '../../src/tor/errors.js'
import { authScript, COOKIE, FakeTor } from '../helpers/fake-tor-control.js'

const SERVICE_ID = 'z3eg73s63ledjjmmma2wceunr7cefwy2lvznwsuqvnuqg5foduzaefid'

/** Resolves with the argument of the next `close` event. */
function nextClose(control: TorControl): Promise<Error | undefined> {
  return new Promise((resolve) => control.once('close', (err?: Error) => resolve(err)))
}

describe('TorControl against a fake control port', () => {
  let fake: FakeTor
  let dir: string
  const controls: TorControl[] = []

  const connect = async (opts: { commandTimeoutMs?: number } = {}): Promise<TorControl> => {
    const control = await TorControl.connect({ host: '127.0.0.1', port: fake.port }, { timeoutMs: 2000, ...opts })
    controls.push(control)
    return control
  }

  beforeEach(async () => {
    fake = await FakeTor.start()
    dir = await mkdtemp(join(tmpdir(), 'burrow-torctl-'))
    await writeFile(join(dir, 'control_auth_cookie'), COOKIE)
  })

  afterEach(async () => {
    await Promise.all(controls.splice(0).map((c) => c.close()))
    await fake.close()
    await rm(dir, { recursive: true, force: true })
  })

  describe('authentication', () => {
    const cookieFile = (): string => join(dir, 'control_auth_cookie')

    it('does the SAFECOOKIE handshake with the configured cookie file', async () => {
      fake.script = authScript({ methods: 'COOKIE,SAFECOOKIE', cookieFile: cookieFile() })
      const control = await connect()
      await control.authenticate({ cookieFile: cookieFile() })
      expect(fake.received.map((l) => l.split(' ')[0])).toEqual(['PROTOCOLINFO', 'AUTHCHALLENGE', 'AUTHENTICATE'])
      expect(fake.received[1]).toMatch(/^AUTHCHALLENGE SAFECOOKIE [0-9a-f]{64}$/)
      expect(fake.received[2]).toMatch(/^AUTHENTICATE [0-9a-f]{64}$/)
      expect(fake.received.join('\n')).not.toContain(COOKIE.toString('hex'))
      expect(await control.getInfo(['version'])).toEqual({ version: '0.4.9.11' })
    })

    it('uses the configured cookie file, not the one PROTOCOLINFO names', async () => {
      fake.script = authScript({ methods: 'SAFECOOKIE', cookieFile: join(dir, 'does-not-exist') })
      const control = await connect()
      await control.authenticate({ cookieFile: cookieFile() })
      expect(fake.received[2]).toMatch(/^AUTHENTICATE [0-9a-f]{64}$/)
    })

    it('never sends plain COOKIE, even with the configured cookie file', async () => {
      fake.script = authScript({ methods: 'COOKIE', cookieFile: cookieFile() })
      const control = await connect()
      await expect(control.authenticate({ cookieFile: cookieFile() })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect(fake.received).toEqual(['PROTOCOLINFO 1'])
    })

    it('sends a quoted, escaped password for HASHEDPASSWORD', async () => {
      fake.script = authScript({ methods: 'HASHEDPASSWORD', password: '"pa ss\\"w\\\\rd"' })
      const control = await connect()
      await control.authenticate({ password: 'pa ss"w\\rd' })
      expect(fake.received[1]).toBe('AUTHENTICATE "pa ss\\"w\\\\rd"')
    })

    it('prefers SAFECOOKIE when both a cookie file and a password are configured', async () => {
      fake.script = authScript({ methods: 'HASHEDPASSWORD,SAFECOOKIE', password: '"pw"' })
      const control = await connect()
      await control.authenticate({ cookieFile: cookieFile(), password: 'pw' })
      expect(fake.received.map((l) => l.split(' ')[0])).toEqual(['PROTOCOLINFO', 'AUTHCHALLENGE', 'AUTHENTICATE'])
      expect(fake.received.join('\n')).not.toContain('pw')
    })

    it('refuses NULL authentication', async () => {
      fake.script = authScript({ methods: 'NULL' })
      const control = await connect()
      await expect(control.authenticate({ cookieFile: cookieFile() })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect(fake.received).toEqual(['PROTOCOLINFO 1'])
    })

    it('refuses to authenticate with no configured credential, before sending anything', async () => {
      fake.script = authScript({ methods: 'NULL' })
      const control = await connect()
      await expect(control.authenticate({} as { cookieFile: string })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect(fake.received).toEqual([])
    })

    it('refuses a wrong server hash with TOR_AUTH_FAILED and never sends AUTHENTICATE', async () => {
      fake.script = authScript({ methods: 'COOKIE,SAFECOOKIE', cookieFile: cookieFile(), corruptServerHash: true })
      const control = await connect()
      await expect(control.authenticate({ cookieFile: cookieFile() })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
      // One more round trip proves nothing else was queued behind the failure.
      await control.getInfo(['version'])
      expect(fake.received.some((l) => l.startsWith('AUTHENTICATE'))).toBe(false)
    })

    it('does not fall back when tor refuses AUTHCHALLENGE', async () => {
      const script = authScript({ methods: 'COOKIE,SAFECOOKIE,HASHEDPASSWORD', cookieFile: cookieFile(), password: '"pw"' })
      fake.script = (line, conn) => (line.startsWith('AUTHCHALLENGE') ? conn.write('513 Invalid argument\r\n') : script(line, conn))
      const control = await connect()
      await expect(control.authenticate({ cookieFile: cookieFile(), password: 'pw' })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect(fake.received.map((l) => l.split(' ')[0])).toEqual(['PROTOCOLINFO', 'AUTHCHALLENGE'])
    })

    it('rejects a configured cookie file that is not 32 bytes, naming it', async () => {
      const short = join(dir, 'short_cookie')
      await writeFile(short, COOKIE.subarray(0, 31))
      fake.script = authScript({ methods: 'COOKIE,SAFECOOKIE', cookieFile: short })
      const control = await connect()
      const err = await control.authenticate({ cookieFile: short }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect((err as Error).message).toContain(short)
      expect(fake.received).toEqual(['PROTOCOLINFO 1'])
    })

    it('names the configured path when the cookie file is missing, and shows the offered one as a hint only', async () => {
      const missing = join(dir, 'no-such-cookie')
      fake.script = authScript({ methods: 'COOKIE,SAFECOOKIE', cookieFile: cookieFile() })
      const control = await connect()
      const err = await control.authenticate({ cookieFile: missing }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect((err as Error).message).toContain(`${missing} (ENOENT)`)
      expect((err as Error).message).toContain(`names the cookie file "${cookieFile()}"`)
      expect(fake.received).toEqual(['PROTOCOLINFO 1'])
    })

    it('refuses a device configured as the cookie file without reading it', async () => {
      fake.script = authScript({ methods: 'SAFECOOKIE' })
      const control = await connect()
      await expect(control.authenticate({ cookieFile: '/dev/zero' })).rejects.toMatchObject({ code: 'TOR_AUTH_FAILED' })
    })

    it('reports TOR_AUTH_FAILED when tor rejects the credential', async () => {
      fake.script = authScript({ methods: 'HASHEDPASSWORD', password: '"right"' })
      const control = await connect()
      const err = await control.authenticate({ password: 'wrong' }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect((err as Error).message).not.toContain('wrong')
      expect((err as Error).cause).toBeInstanceOf(TorCommandError)
    })

    it('reports TOR_AUTH_FAILED when no configured method is offered', async () => {
      fake.script = authScript({ methods: 'HASHEDPASSWORD' })
      const control = await connect()
      await expect(control.authenticate({ cookieFile: cookieFile() })).rejects.toThrow(/offers HASHEDPASSWORD; Burrow authenticates only by SAFECOOKIE/)
    })
  })

  describe('commands and replies', () => {
    it('matches pipelined commands to their replies, with events in between', async () => {
      const events: TorEvent[] = []
      fake.script = (line, conn) => {
        if (fake.received.length < 3) return
        expect(fake.received).toEqual(['GETINFO k1', 'GETINFO k2', 'GETINFO k3'])
        conn.write(
          '250-k1=v1\r\n250 OK\r\n' +
            '650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n' +
            '250-k2=v2\r\n250 OK\r\n' +
            '650 CIRC 1 LAUNCHED PURPOSE=GENERAL\r\n' +
            '250-k3=v3\r\n250 OK\r\n',
        )
      }
      const control = await connect()
      control.on('event', (ev) => events.push(ev))
      const results = await Promise.all(['k1', 'k2', 'k3'].map((k) => control.getInfo([k])))
      expect(results).toEqual([{ k1: 'v1' }, { k2: 'v2' }, { k3: 'v3' }])
      expect(events.map((e) => e.type)).toEqual(['STATUS_CLIENT', 'CIRC'])
    })

    it('delivers events that arrive in the middle of a reply, split byte by byte, without disturbing it', async () => {
      const wire =
        '250-a=1\r\n' +
        '650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"\r\n' +
        '250+b=\r\nfirst\r\n..dotted\r\n.\r\n' +
        '650-CONF_CHANGED\r\n650-SocksPort=9050\r\n650 OK\r\n' +
        '250 OK\r\n'
      fake.script = (_line, conn) => {
        for (const byte of Buffer.from(wire)) conn.write(Buffer.from([byte]))
      }
      const control = await connect()
      const statuses: StatusClientEvent[] = []
      const raws: RawTorEvent[] = []
      control.on('STATUS_CLIENT', (ev) => statuses.push(ev))
      control.on('CONF_CHANGED', (ev) => raws.push(ev))
      expect(await control.getInfo(['a', 'b'])).toEqual({ a: '1', b: 'first\n.dotted' })
      expect(statuses).toEqual([{ type: 'STATUS_CLIENT', severity: 'NOTICE', action: 'BOOTSTRAP', args: { PROGRESS: '100', TAG: 'done', SUMMARY: 'Done' } }])
      expect(raws.map((r) => r.raw)).toEqual(['CONF_CHANGED\nSocksPort=9050\nOK'])
    })

    it('a listener that throws does not break the connection', async () => {
      fake.script = (line, conn) => {
        if (line === 'SETEVENTS STATUS_CLIENT') conn.write('250 OK\r\n650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n')
        else conn.write('250-version=x\r\n250 OK\r\n')
      }
      const control = await connect()
      let calls = 0
      control.on('STATUS_CLIENT', () => {
        calls += 1
        throw new Error('listener bug')
      })
      await control.setEvents(['STATUS_CLIENT'])
      expect(await control.getInfo(['version'])).toEqual({ version: 'x' })
      expect(calls).toBe(1)
      expect(control.closed).toBe(false)
    })

    it('rejects 4xx/5xx replies with TorCommandError naming only the keyword', async () => {
      fake.script = (_line, conn) => conn.write('552 Unrecognized key "secret/thing"\r\n')
      const control = await connect()
      const err = (await control.command('GETINFO secret/thing').catch((e: unknown) => e)) as TorCommandError
      expect(err).toBeInstanceOf(TorCommandError)
      expect(err.code).toBe('TOR_COMMAND_FAILED')
      expect(err.status).toBe(552)
      expect(err.torMessage).toBe('Unrecognized key "secret/thing"')
      expect(err.message).toMatch(/^tor refused GETINFO: 552/)
    })

    it('scrubs secret arguments that tor echoes in an error', async () => {
      const key = `ED25519-V3:${Buffer.alloc(64, 0xcd).toString('base64')}`
      fake.script = (line, conn) => conn.write(`512 Bad key ${line.split(' ')[1]}\r\n`)
      const control = await connect()
      const err = (await control.addOnion({ key, ports: [{ virtualPort: 80, target: '127.0.0.1:8080' }] }).catch((e: unknown) => e)) as TorCommandError
      expect(err).toBeInstanceOf(TorCommandError)
      expect(err.message).not.toContain(key.slice(11, 40))
      expect(err.torMessage).toContain('[redacted]')
    })

    it('keeps later replies aligned after a command times out', async () => {
      fake.script = (line, conn) => {
        // tor answers in order: the slow reply comes first, just late.
        if (line === 'GETINFO fast') conn.write('250-slow=1\r\n250 OK\r\n250-fast=2\r\n250 OK\r\n')
      }
      const control = await connect()
      const slow = await control.command('GETINFO slow', { timeoutMs: 50 }).catch((e: unknown) => e)
      expect(slow).toMatchObject({ code: 'TOR_CONTROL_TIMEOUT' })
      expect((slow as TorError).code).toBe('TOR_CONTROL_TIMEOUT')
      // The late "slow" reply fills the timed-out slot and is dropped; "fast" gets its own.
      expect(await control.getInfo(['fast'])).toEqual({ fast: '2' })
    })

    it('refuses a command line with CR or LF before sending anything', async () => {
      fake.script = (_line, conn) => conn.write('250-version=x\r\n250 OK\r\n')
      const control = await connect()
      for (const line of ['GETINFO version\r\nSIGNAL HALT', 'GETINFO version\nSIGNAL HALT', 'SIGNAL\rHALT', 'GETINFO \0']) {
        await expect(control.command(line)).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      }
      await control.getInfo(['version'])
      expect(fake.received).toEqual(['GETINFO version'])
    })

    it('validates arguments of the convenience methods', async () => {
      const control = await connect()
      await expect(control.getInfo([])).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      await expect(control.getInfo(['a b'])).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      await expect(control.setEvents(['HS_DESC', 'bad name'])).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      await expect(control.signal('NEWNYM\r\nHALT')).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      await expect(control.delOnion(`${SERVICE_ID}.onion`)).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      expect(fake.received).toEqual([])
    })

    it('sends the onion and event commands tor expects', async () => {
      const privateKey = `ED25519-V3:${Buffer.alloc(64, 1).toString('base64')}`
      fake.script = (line, conn) => {
        if (line.startsWith('ADD_ONION')) conn.write(`250-ServiceID=${SERVICE_ID}\r\n250-PrivateKey=${privateKey}\r\n250 OK\r\n`)
        else if (line.startsWith('ONION_CLIENT_AUTH_ADD')) conn.write('252 Registered client auth for service\r\n')
        else if (line.startsWith('ONION_CLIENT_AUTH_REMOVE')) conn.write('251 No credentials for service\r\n')
        else conn.write('250 OK\r\n')
      }
      const control = await connect()
      await control.setEvents(['STATUS_CLIENT', 'HS_DESC'])
      await control.signal('NEWNYM')
      await control.takeOwnership()
      const added = await control.addOnion({
        key: 'NEW:ED25519-V3',
        ports: [{ virtualPort: 80, target: '127.0.0.1:8080' }],
        clientAuthV3: ['A'.repeat(52)],
        powDefenses: { enabled: true },
      })
      expect(added).toEqual({ serviceId: SERVICE_ID, privateKey })
      await control.delOnion(SERVICE_ID)
      const priv = Buffer.alloc(32, 2).toString('base64')
      await control.onionClientAuthAdd(SERVICE_ID, priv, { nickname: 'peer' })
      await control.onionClientAuthRemove(SERVICE_ID)
      await control.setEvents([])
      expect(fake.received).toEqual([
        'SETEVENTS STATUS_CLIENT HS_DESC',
        'SIGNAL NEWNYM',
        'TAKEOWNERSHIP',
        `ADD_ONION NEW:ED25519-V3 Flags=V3Auth PoWDefensesEnabled=1 Port=80,127.0.0.1:8080 ClientAuthV3=${'A'.repeat(52)}`,
        `DEL_ONION ${SERVICE_ID}`,
        `ONION_CLIENT_AUTH_ADD ${SERVICE_ID} x25519:${priv} ClientName=peer`,
        `ONION_CLIENT_AUTH_REMOVE ${SERVICE_ID}`,
        'SETEVENTS',
      ])
    })
  })

  describe('connection loss and bad input', () => {
    it('rejects pending commands with TOR_CONTROL_CLOSED when tor closes mid-reply', async () => {
      fake.script = (_line, conn) => {
        conn.write('250-x=partial\r\n')
        setTimeout(() => conn.destroy(), 20)
      }
      const control = await connect()
      const closed = nextClose(control)
      const [a, b] = await Promise.all([control.getInfo(['x']).catch((e: unknown) => e), control.command('GETINFO y').catch((e: unknown) => e)])
      expect(a).toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
      expect(b).toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
      expect((a as TorError).code).toBe('TOR_CONTROL_CLOSED')
      expect(await closed).toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
      expect(control.closed).toBe(true)
      await expect(control.command('GETINFO version')).rejects.toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
    })

    const garbage: [string, string | Buffer][] = [
      ['binary bytes', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a])],
      ['text without a status code', 'hello there\r\n'],
      ['mixed status codes', '250-a=1\r\n451 OK\r\n'],
      ['an over-long line', 'x'.repeat(70 * 1024)],
    ]
    for (const [name, bytes] of garbage) {
      it(`turns ${name} into TOR_CONTROL_PROTOCOL for the caller and on close`, { timeout: 5000 }, async () => {
        fake.script = (_line, conn) => conn.write(bytes)
        const control = await connect()
        const closed = nextClose(control)
        await expect(control.command('GETINFO x')).rejects.toMatchObject({ code: 'TOR_CONTROL_PROTOCOL' })
        expect(await closed).toMatchObject({ code: 'TOR_CONTROL_PROTOCOL' })
        expect(control.closed).toBe(true)
      })
    }

    it('treats an unsolicited reply as a protocol error', { timeout: 5000 }, async () => {
      fake.onConnection = (conn) => conn.write('250 OK\r\n')
      const control = await connect()
      const err = await nextClose(control)
      expect(err).toMatchObject({ code: 'TOR_CONTROL_PROTOCOL' })
      expect(err?.message).toMatch(/answers no command/)
    })

    it('close() sends QUIT, emits close once without an error, and is idempotent', async () => {
      const control = await connect()
      const closes: (Error | undefined)[] = []
      control.on('close', (err) => closes.push(err))
      await Promise.all([control.close(), control.close()])
      await control.close()
      expect(fake.received).toEqual(['QUIT'])
      expect(closes).toEqual([undefined])
      expect(control.closed).toBe(true)
      await expect(control.getInfo(['version'])).rejects.toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
    })

    it('close() finishes even when tor never answers QUIT', { timeout: 5000 }, async () => {
      fake.script = () => {}
      fake.answerQuit = false
      const control = await connect()
      const pending = control.command('GETINFO hang').catch((e: unknown) => e)
      await control.close()
      expect(await pending).toMatchObject({ code: 'TOR_CONTROL_CLOSED' })
    })
  })

  describe('connect', () => {
    it('refuses non-loopback hosts and bad ports before connecting', async () => {
      for (const endpoint of [
        { host: '10.0.0.1', port: fake.port },
        { host: 'localhost', port: fake.port },
        { host: '0.0.0.0', port: fake.port },
        { host: '::ffff:127.0.0.1', port: fake.port },
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 70000 },
        { path: '' },
      ]) {
        await expect(TorControl.connect(endpoint)).rejects.toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
      }
      expect(fake.connections).toHaveLength(0)
    })

    it('reports a refused connection as TorError', async () => {
      const port = fake.port
      await fake.close()
      const err = await TorControl.connect({ host: '127.0.0.1', port }, { timeoutMs: 2000 }).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'TOR_CONTROL' })
      expect((err as TorError).code).toBe('TOR_CONTROL')
      fake = await FakeTor.start()
    })

    it('honours an aborted signal', async () => {
      await expect(TorControl.connect({ host: '127.0.0.1', port: fake.port }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' })
    })

    it('connects over a unix socket', async () => {
      const path = join(dir, 'control.sock')
      const unixFake = await FakeTor.start({ path })
      unixFake.script = (_line, conn) => conn.write('250-version=unix\r\n250 OK\r\n')
      const control = await TorControl.connect({ path })
      expect(await control.getInfo(['version'])).toEqual({ version: 'unix' })
      await control.close()
      await unixFake.close()
    })
  })
})
