/**
 * Issue 19, item 2: a local user who binds tor's control port (or socket)
 * while the real tor is down must learn nothing. The impostor below answers
 * like a bootstrapped tor once anyone authenticates; it offers NULL, or plain
 * COOKIE naming a cookie file of its choosing (here: a secret only Burrow's
 * user can read). Burrow goes through its real path (Tor.attach, then the
 * onion service's publication) and must fail with a typed error before it
 * sends a cookie, AUTHENTICATE, ADD_ONION or ONION_CLIENT_AUTH_ADD.
 */
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readCookieFile } from '../../src/tor/control/index.js'
import { OnionService, Tor, clientAuthKeyPairFromSeed, type AttachedTorOptions } from '../../src/tor/index.js'
import { FakeTor, protocolInfoReply } from '../helpers/fake-tor-control.js'

/** An impostor that accepts any AUTHENTICATE and then plays a ready tor. */
function impostor(methods: string, cookieFile?: string): (line: string, conn: Socket) => void {
  return (line, conn) => {
    const [keyword, ...rest] = line.split(' ')
    if (keyword === 'PROTOCOLINFO') conn.write(protocolInfoReply(methods, cookieFile))
    else if (keyword === 'GETINFO' && rest.includes('net/listeners/socks')) conn.write('250-net/listeners/socks="127.0.0.1:9"\r\n250 OK\r\n')
    else if (keyword === 'GETINFO') {
      conn.write(`${rest.map((k) => (k === 'status/bootstrap-phase' ? `250-${k}=NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"` : `250-${k}=1`)).join('\r\n')}\r\n250 OK\r\n`)
    } else if (keyword === 'DEL_ONION') conn.write('552 Unknown Onion Service id\r\n')
    else conn.write('250 OK\r\n')
  }
}

const SECRETS = ['AUTHENTICATE', 'ADD_ONION', 'ONION_CLIENT_AUTH_ADD']

describe.each([
  ['a unix control socket', true],
  ['a loopback control port', false],
])('an impostor on %s', (_, unix) => {
  let dir: string
  let fake: FakeTor
  let ownCookie: string
  let victimSecret: Buffer
  let victimFile: string
  const tors: Tor[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-impostor-'))
    ownCookie = join(dir, 'control_auth_cookie')
    await writeFile(ownCookie, randomBytes(32))
    // What the impostor wants: the cookie of a tor it cannot read itself, but Burrow's user can.
    victimSecret = randomBytes(32)
    victimFile = join(dir, 'victim.authcookie')
    await writeFile(victimFile, victimSecret)
    fake = await FakeTor.start(unix ? { path: join(dir, 'control.sock') } : { port: 0 })
  })

  afterEach(async () => {
    await Promise.all(tors.splice(0).map((t) => t.stop()))
    await fake.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** The keywords of the commands Burrow sent, without the QUIT that closes the connection. */
  const commandsSent = (): string[] => fake.received.map((l) => l.split(' ')[0] ?? '').filter((k) => k !== 'QUIT')

  /** Attaches as Burrow does and, if that succeeds, publishes an onion service with client authorization. */
  async function attachAndPublish(auth: Omit<AttachedTorOptions, 'control'>): Promise<unknown> {
    const control = unix ? { path: join(dir, 'control.sock') } : { host: '127.0.0.1', port: fake.port }
    const tor = Tor.attach({ control, ...auth, maxAttempts: 1 })
    tors.push(tor)
    const failure = await tor.start().then(
      () => undefined,
      (err: unknown) => err,
    )
    if (failure !== undefined) return failure
    const onion = new OnionService(tor, {
      seed: randomBytes(32),
      virtualPort: 443,
      target: { host: '127.0.0.1', port: 9 },
      ownClientAuth: clientAuthKeyPairFromSeed(randomBytes(32)),
      publishTimeoutMs: 500,
    })
    return onion.publish().then(
      () => undefined,
      (err: unknown) => err,
    )
  }

  it('offering NULL gets neither AUTHENTICATE nor the onion key', async () => {
    fake.script = impostor('NULL')
    const err = await attachAndPublish({ cookieFile: ownCookie })
    expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
    expect(commandsSent()).toEqual(['PROTOCOLINFO'])
  })

  it('offering plain COOKIE gets no cookie bytes, neither ours nor the one it names', async () => {
    fake.script = impostor('COOKIE', victimFile)
    const err = await attachAndPublish({ cookieFile: ownCookie })
    expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
    expect((err as Error).message).toContain(JSON.stringify(victimFile))
    expect(commandsSent()).toEqual(['PROTOCOLINFO'])
  })

  it('naming its own COOKIEFILE to a password-configured Burrow gets nothing read or sent', async () => {
    fake.script = impostor('COOKIE,SAFECOOKIE', victimFile)
    const err = await attachAndPublish({ password: 'users-tor-password' })
    expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
    const sent = fake.received.join('\n')
    expect(sent).not.toContain(victimSecret.toString('hex'))
    expect(fake.received.filter((l) => SECRETS.some((k) => l.startsWith(k)))).toEqual([])
  })

  it('offering SAFECOOKIE without knowing the cookie fails the server-hash check before AUTHENTICATE', async () => {
    const script = impostor('SAFECOOKIE', ownCookie)
    fake.script = (line, conn) =>
      line.startsWith('AUTHCHALLENGE')
        ? conn.write(`250 AUTHCHALLENGE SERVERHASH=${'ab'.repeat(32)} SERVERNONCE=${'cd'.repeat(32)}\r\n`)
        : script(line, conn)
    const err = await attachAndPublish({ cookieFile: ownCookie })
    expect(err).toMatchObject({ code: 'TOR_AUTH_FAILED' })
    expect(commandsSent()).toEqual(['PROTOCOLINFO', 'AUTHCHALLENGE'])
  })
})

describe('attaching without a configured credential', () => {
  it('is refused before any connection', () => {
    expect(() => Tor.attach({ control: { host: '127.0.0.1', port: 9 } })).toThrow(expect.objectContaining({ code: 'TOR_AUTH_FAILED' }))
  })
})

describe('the configured cookie file', () => {
  it('a FIFO planted at its path is refused at once, not waited on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-fifo-'))
    try {
      const fifo = join(dir, 'control_auth_cookie')
      execFileSync('mkfifo', [fifo])
      const started = Date.now()
      const outcome = await Promise.race([
        readCookieFile(fifo).then(
          () => 'read',
          (err: unknown) => err,
        ),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
      ])
      expect(outcome).toMatchObject({ code: 'TOR_AUTH_FAILED' })
      expect(Date.now() - started).toBeLessThan(1_000)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
