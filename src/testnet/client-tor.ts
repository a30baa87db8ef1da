import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TorControl, type StatusClientEvent } from '../tor/control/index.js'
import { sleep, withTimeout } from '../util/async.js'
import { TestnetError } from './errors.js'
import { findExecutable, isAlive, spawnOwnedTor, torLogTail } from './process.js'
import type { TestnetState } from './state.js'
import { clientTorrcLines } from './torrc.js'

/** A plain client tor joined to a test network, with its control connection. */
export interface ClientTor {
  pid: number
  dataDir: string
  /** Its SOCKS port (ExtendedErrors, IsolateSOCKSAuth). */
  socks: { host: string; port: number }
  /** Authenticated control connection. */
  control: TorControl
  /** Closes the control connection and stops the tor (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>
}

/** Options of {@link startClientTor}. */
export interface ClientTorOptions {
  /** Its DataDirectory; created 0700. */
  dataDir: string
  /** Bound on start and bootstrap; default 90 s. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 90_000
const POLL_MS = 200

/**
 * Starts a client tor (no Burrow code: a torrc, tor, its control port) that
 * joins the network of `state`, and resolves once it has bootstrapped to
 * 100 %. It is a child of this process and exits with it
 * (`__OwningControllerProcess`). Used for raw measurements and tests.
 */
export async function startClientTor(state: TestnetState, opts: ClientTorOptions): Promise<ClientTor> {
  const { dataDir } = opts
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const portFile = join(dataDir, 'control-port')
  const torrc = join(dataDir, 'torrc')
  writeFileSync(
    torrc,
    [
      `DataDirectory ${dataDir}`,
      `Log notice file ${join(dataDir, 'notice.log')}`,
      'SocksPort 127.0.0.1:auto ExtendedErrors IsolateSOCKSAuth',
      'ControlPort 127.0.0.1:auto',
      `ControlPortWriteToFile ${portFile}`,
      'CookieAuthentication 1',
      'ClientOnly 1',
      `__OwningControllerProcess ${process.pid}`,
      ...clientTorrcLines(state),
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  const torPath = findExecutable('tor', state.torPath, ['/usr/sbin/tor'])
  const { pid, stop: stopTor } = spawnOwnedTor(torPath, torrc, `a client tor in ${dataDir}`)
  let control: TorControl | undefined
  try {
    const controlPort = await waitForControlPort(portFile, pid, deadline)
    control = await TorControl.connect({ host: '127.0.0.1', port: controlPort })
    await control.authenticate({ cookieFile: join(dataDir, 'control_auth_cookie') })
    await waitForBootstrap(control, deadline, dataDir)
    const socks = parseListener((await control.getInfo(['net/listeners/socks']))['net/listeners/socks'] ?? '')
    const ready = control
    return {
      pid,
      dataDir,
      socks,
      control: ready,
      stop: async () => {
        await ready.close()
        await stopTor()
      },
    }
  } catch (err) {
    await control?.close()
    await stopTor()
    const code = err instanceof TestnetError ? err.code : 'TESTNET_START_FAILED'
    throw new TestnetError(code, `client tor in ${dataDir} did not start: ${err instanceof Error ? err.message : String(err)}; its log ends:\n${torLogTail(dataDir)}`, { cause: err })
  }
}

async function waitForControlPort(portFile: string, pid: number, deadline: number): Promise<number> {
  for (;;) {
    // The file reads "PORT=127.0.0.1:<port>".
    const port = existsSync(portFile) ? /PORT=127\.0\.0\.1:(\d+)/.exec(readFileSync(portFile, 'utf8'))?.[1] : undefined
    if (port !== undefined) return Number(port)
    if (!isAlive(pid)) throw new TestnetError('TESTNET_START_FAILED', 'client tor exited before opening its control port')
    if (Date.now() >= deadline) throw new TestnetError('TESTNET_NOT_READY', 'client tor did not open its control port in time')
    await sleep(POLL_MS)
  }
}

/** Resolves once tor reports 100 %: from STATUS_CLIENT events, with one GETINFO in case it got there first. */
async function waitForBootstrap(control: TorControl, deadline: number, dataDir: string): Promise<void> {
  let onStatus: (ev: StatusClientEvent) => void = () => {}
  const reached = new Promise<void>((resolve) => {
    onStatus = (ev) => {
      if (ev.action === 'BOOTSTRAP' && ev.args.PROGRESS === '100') resolve()
    }
  })
  control.on('STATUS_CLIENT', onStatus)
  try {
    await control.setEvents(['STATUS_CLIENT'])
    const phase = (await control.getInfo(['status/bootstrap-phase']))['status/bootstrap-phase'] ?? ''
    if (/PROGRESS=100\b/.test(phase)) return
    await withTimeout(reached, Math.max(0, deadline - Date.now()), 'client tor bootstrap').catch((err: unknown) => {
      throw new TestnetError('TESTNET_NOT_READY', 'it did not bootstrap in time', { cause: err })
    })
  } finally {
    control.off('STATUS_CLIENT', onStatus)
  }
}

/** `"127.0.0.1:9050"` (tor quotes each listener) → host and port. */
function parseListener(value: string): { host: string; port: number } {
  const m = /^"?127\.0\.0\.1:(\d+)"?/.exec(value.trim())
  if (m === null) throw new TestnetError('TESTNET_START_FAILED', `unexpected SOCKS listener from tor: ${value}`)
  return { host: '127.0.0.1', port: Number(m[1]) }
}
