/**
 * Issue 19 items 3, 8 and 11 and issue 23's Ctrl-C, each with a real tor on
 * the suite's private network:
 * - attach mode leaves none of our keys and no onion service in the user's
 *   tor, after stop and after a failed start;
 * - tor's environment carries nothing of ours (BURROW_PASSPHRASE above all);
 * - a data directory whose path has '#', quotes, a backslash and a trailing
 *   blank works (torrc values are quoted);
 * - tor runs in its own process group and a stopping Tor never restarts it.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Burrow } from '../../src/node/index.js'
import { OnionService, TorCommandError, TorControl, clientAuthKeyPairFromSeed, onionServiceKeyBlob, type Tor } from '../../src/tor/index.js'
import { eventually } from '../helpers/burrow.js'
import { tempDir, testTor } from '../helpers/tor.js'

/** A control connection of our own to the "user's tor", for looking at what Burrow left there. */
async function inspector(tor: Tor): Promise<TorControl> {
  const { control, auth } = tor.controlAccess
  const connection = await TorControl.connect(control)
  await connection.authenticate(auth)
  return connection
}

/** The service ids tor holds client-auth keys for (ONION_CLIENT_AUTH_VIEW: `250-CLIENT <id> x25519:<key>`). */
async function clientAuthIds(control: TorControl): Promise<string[]> {
  const reply = await control.command('ONION_CLIENT_AUTH_VIEW')
  return reply.lines.flatMap((l) => (l.text.startsWith('CLIENT ') ? [l.text.split(' ')[1] ?? ''] : []))
}

/**
 * Whether tor runs an onion service with this key, created on any control
 * connection: ADD_ONION of the same key from our own connection collides
 * (550) while it does. Another connection's services are invisible to
 * GETINFO onions/current and DEL_ONION, hence this probe.
 */
async function runsService(control: TorControl, seed: Uint8Array): Promise<boolean> {
  const probe = await control.addOnion({ key: onionServiceKeyBlob(seed), ports: [{ virtualPort: 1, target: 'unix:/nonexistent/probe.sock' }] }).then(
    (added) => added,
    (err: unknown) => {
      if (err instanceof TorCommandError && err.status === 550) return undefined
      throw err
    },
  )
  if (probe === undefined) return true
  await control.delOnion(probe.serviceId)
  return false
}

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, … */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

describe('attach mode leaves nothing in the user\'s tor (issue 19 item 3)', () => {
  const cleanups: (() => void)[] = []
  let userTor: Tor
  let view: TorControl
  let peerCard: string
  let peerServiceId: string

  beforeAll(async () => {
    const user = tempDir('user-tor')
    cleanups.push(user.cleanup)
    userTor = testTor(user.dir)
    await userTor.start()
    view = await inspector(userTor)
    // A peer that never runs: only its card, so that our node registers a client-auth key for its onion.
    const peer = tempDir('attach-peer')
    cleanups.push(peer.cleanup)
    await Burrow.init(peer.dir)
    const peerNode = await Burrow.open({ dataDir: peer.dir, displayName: 'peer' })
    peerCard = peerNode.contactCard()
    peerServiceId = peerNode.onionAddress.replace(/\.onion$/, '')
    await peerNode.stop()
  })

  afterAll(async () => {
    await view?.close()
    await userTor?.stop()
    for (const cleanup of cleanups) cleanup()
  })

  async function attachedNode(): Promise<{ node: Burrow; serviceId: string }> {
    const { dir, cleanup } = tempDir('attached')
    cleanups.push(cleanup)
    await Burrow.init(dir)
    const { control, auth } = userTor.controlAccess
    const node = await Burrow.open({ dataDir: dir, tor: { mode: 'attach', control, ...auth } })
    await node.addPeer(peerCard)
    return { node, serviceId: node.onionAddress.replace(/\.onion$/, '') }
  }

  it('after stop: no client-auth key of ours and no onion service of ours', async () => {
    const { node, serviceId } = await attachedNode()
    await node.start()
    // While it runs the user's tor holds both keys (our own, for the self-check, and the peer's) and our service.
    expect(await clientAuthIds(view)).toEqual(expect.arrayContaining([serviceId, peerServiceId]))
    expect(await runsService(view, node.keys.onionServiceSeed)).toBe(true)
    await node.stop()
    expect(await clientAuthIds(view)).toEqual([])
    expect(await runsService(view, node.keys.onionServiceSeed)).toBe(false)
    expect((await view.getInfo(['onions/detached']))['onions/detached']).toBe('')
    expect(userTor.isReady).toBe(true)
  })

  it('after a start that fails half-way: none either', async () => {
    const { node } = await attachedNode()
    const aborter = new AbortController()
    // Abort as soon as the peer's key is in the user's tor: the start is then in its self-check.
    const abortOnceKeysAreIn = (async () => {
      const deadline = Date.now() + 120_000
      while (Date.now() < deadline && !aborter.signal.aborted) {
        if ((await clientAuthIds(view)).includes(peerServiceId)) {
          aborter.abort()
          return
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const failure = await node.start(aborter.signal).then(
      () => undefined,
      (err: unknown) => err,
    )
    await abortOnceKeysAreIn
    expect(failure, 'the start finished before the keys could be seen; nothing was tested').toMatchObject({ code: 'ABORTED' })
    expect(await clientAuthIds(view)).toEqual([])
    expect(await runsService(view, node.keys.onionServiceSeed)).toBe(false)
    await node.stop()
  })
})

describe("tor's environment (issue 19 item 8)", () => {
  it('carries nothing of ours: no BURROW_PASSPHRASE, only HOME', async () => {
    const { dir, cleanup } = tempDir('env')
    const before = process.env.BURROW_PASSPHRASE
    process.env.BURROW_PASSPHRASE = 'correct horse battery staple'
    process.env.BURROW_SOMETHING_ELSE = 'ours'
    const tor = testTor(dir)
    try {
      await tor.start()
      const environ = readFileSync(`/proc/${tor.pid!}/environ`, 'utf8')
      expect(environ).not.toContain('correct horse battery staple')
      const names = environ.split('\0').filter((e) => e !== '').map((e) => e.slice(0, e.indexOf('=')))
      expect(names).toEqual(process.env.HOME === undefined ? [] : ['HOME'])
    } finally {
      if (before === undefined) delete process.env.BURROW_PASSPHRASE
      else process.env.BURROW_PASSPHRASE = before
      delete process.env.BURROW_SOMETHING_ELSE
      await tor.stop()
      cleanup()
    }
  })
})

describe('a data directory with # and other characters torrc treats specially (issue 19 item 11)', () => {
  it('bootstraps a tor there with every file where it belongs; an onion socket path tor cannot take is refused up front', async () => {
    const { dir, cleanup } = tempDir('hash')
    const dataDir = join(dir, 'a#b "c" d\\e ')
    const socketDir = join(dir, 'xy')
    mkdirSync(socketDir, { mode: 0o700 })
    const tor = testTor(dataDir)
    const client = testTor(join(dir, 'client#1'))
    try {
      await Promise.all([tor.start(), client.start()])
      expect(tor.socksEndpoint).toEqual({ path: `${dataDir}/socks.sock` })
      for (const name of ['control.sock', 'socks.sock', 'control_auth_cookie', 'notice.log', 'state']) {
        expect(readdirSync(dataDir), name).toContain(name)
      }
      // A truncated DataDirectory would have made ".../a" (cut at '#').
      expect(readdirSync(dir).sort()).toEqual(['a#b "c" d\\e ', 'client#1', 'xy'])
      const target = join(socketDir, 'onion.sock')
      const server = (await import('node:net')).createServer((s) => s.end('hello'))
      await new Promise<void>((r) => server.listen(target, r))
      const onion = new OnionService(tor, { seed: randomBytes(32), virtualPort: 80, target: { path: target }, ownClientAuth: clientAuthKeyPairFromSeed(randomBytes(32)) })
      await onion.publish()
      await onion.selfCheck({ timeoutMs: 60_000 })
      await onion.remove()
      server.close()
      // ADD_ONION takes no quoting, and tor never reaches a target under '#': such paths are refused up front, with the reason.
      for (const path of [`${dataDir}/onion.sock`, join(dir, 'client#1', 'onion.sock')]) {
        expect(() => new OnionService(tor, { seed: randomBytes(32), virtualPort: 80, target: { path } })).toThrow(expect.objectContaining({ code: 'TOR_SOCKET_PATH_UNUSABLE' }))
      }
    } finally {
      await Promise.all([tor.stop(), client.stop()])
      cleanup()
    }
  })
})

describe('Ctrl-C and a stopping Tor (issue 23)', () => {
  it('runs tor in its own process group', async () => {
    const { dir, cleanup } = tempDir('pgrp')
    const tor = testTor(dir)
    try {
      await tor.start()
      const [, , torGroup, torSession] = statFields(tor.pid!)
      const [, , ourGroup] = statFields(process.pid)
      expect(torGroup).toBe(String(tor.pid))
      expect(torSession).toBe(String(tor.pid))
      expect(torGroup).not.toBe(ourGroup)
    } finally {
      await tor.stop()
      cleanup()
    }
  })

  it('does not restart a tor that dies once shutdown has begun', async () => {
    const { dir, cleanup } = tempDir('retire')
    const tor = testTor(dir, { backoffBaseMs: 100 })
    const events: string[] = []
    for (const name of ['lost', 'restarting', 'ready'] as const) tor.on(name, () => events.push(name))
    try {
      await tor.start()
      events.length = 0
      const pid = tor.pid!
      tor.stopSupervising()
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('tor')
      process.kill(pid, 'SIGKILL')
      await eventually(() => tor.state === 'stopping', 10_000, 'tor to be seen gone')
      await new Promise((r) => setTimeout(r, 1_000))
      expect(events).toEqual([])
      expect(tor.pid).toBe(pid)
    } finally {
      await tor.stop()
      cleanup()
    }
  })

  it('`burrow start` stopped by a Ctrl-C to its process group stops tor itself, without "recovering" it', async () => {
    const { dir, cleanup } = tempDir('ctrl-c')
    const bin = resolve(import.meta.dirname, '../../bin/burrow.js')
    const dataDir = join(dir, 'node')
    await Burrow.init(dataDir)
    // Its own process group, like a shell's foreground job: the "terminal" signals the whole group.
    const child = spawn(process.execPath, [bin, '--data-dir', dataDir, '--testnet', inject('testnetDir'), 'start'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, BURROW_LOG_LEVEL: 'info' },
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t))
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    try {
      await eventually(() => /reachable at/.test(output) || child.exitCode !== null, 150_000, 'the node to be reachable')
      expect(child.exitCode, output).toBeNull()
      const torPid = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map(Number)
        .find((pid) => {
          try {
            return statFields(pid)[1] === String(child.pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(dataDir, 'tor'))
          } catch {
            return false
          }
        })
      expect(torPid, 'the node\'s tor child').toBeTypeOf('number')
      expect(statFields(torPid!)[2]).not.toBe(statFields(child.pid!)[2])
      process.kill(-child.pid!, 'SIGINT')
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))])
      expect(code, output).toBe(0)
      expect(output).toContain('stopping (SIGINT)')
      expect(output).not.toMatch(/tor lost|recovering|restarting it/)
      // Tor never saw the Ctrl-C: it was stopped by the node.
      expect(readFileSync(join(dataDir, 'tor', 'notice.log'), 'utf8')).not.toMatch(/Interrupt|Catching signal INT/)
      expect(() => statSync(`/proc/${torPid!}`)).toThrow()
    } finally {
      if (child.exitCode === null && child.pid !== undefined && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(bin)) {
        process.kill(child.pid, 'SIGKILL')
      }
      cleanup()
    }
  }, 200_000)
})
