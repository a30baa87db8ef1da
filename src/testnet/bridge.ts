import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findObfs4proxy } from '../tor/bridges.js'
import { loadTorrcTemplate, renderTorrc } from '../tor/torrc.js'
import { sleep } from '../util/async.js'
import { freeLoopbackPort } from '../util/net.js'
import { TestnetError } from './errors.js'
import { findExecutable, isAlive, spawnOwnedTor, torLogTail } from './process.js'
import type { TestnetState } from './state.js'
import { TESTNET_ADDRESS } from './torrc.js'

/** An obfs4 bridge of a test network, started by {@link startObfs4Bridge}. */
export interface Obfs4Bridge {
  pid: number
  dataDir: string
  /** Its ORPort (tor's own protocol; clients of the bridge line never use it). */
  orPort: number
  /** Where obfs4proxy listens for the bridge's clients. */
  obfs4Port: number
  /** The line a client passes to `burrow start --bridge`. */
  bridgeLine: string
  /** Stops the bridge's tor (SIGTERM, then SIGKILL after 5 s); obfs4proxy exits with it. */
  stop(): Promise<void>
}

/** Options of {@link startObfs4Bridge}. */
export interface Obfs4BridgeOptions {
  /** Its DataDirectory; created 0700. */
  dataDir: string
  nickname?: string
  /** Bound on start; default 60 s. */
  timeoutMs?: number
}

const POLL_MS = 200

/**
 * Starts a relay of the network of `state` that serves as an obfs4 bridge
 * (`BridgeRelay 1`, `ServerTransportPlugin obfs4`) and publishes nothing to
 * the authorities: a client learns of it only from its bridge line, as with a
 * private bridge on the real network. Resolves once obfs4proxy wrote the
 * bridge's certificate. A child of this process that exits with it
 * (`__OwningControllerProcess`). For tests and trying `--bridge` by hand.
 *
 * @throws TestnetError `TESTNET_START_FAILED` (obfs4proxy missing, tor exited), `TESTNET_NOT_READY` (no certificate in time)
 */
export async function startObfs4Bridge(state: TestnetState, opts: Obfs4BridgeOptions): Promise<Obfs4Bridge> {
  const { dataDir } = opts
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let obfs4proxy: string
  try {
    obfs4proxy = findObfs4proxy()
  } catch (err) {
    throw new TestnetError('TESTNET_START_FAILED', (err as Error).message, { cause: err })
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const orPort = await freeLoopbackPort()
  const obfs4Port = await freeLoopbackPort()
  const torrc = join(dataDir, 'torrc')
  const relay = renderTorrc(loadTorrcTemplate('relay'), { NICKNAME: opts.nickname ?? 'bridge1', DATA_DIR: dataDir })
  writeFileSync(
    torrc,
    [
      relay.trimEnd(),
      `ORPort ${TESTNET_ADDRESS}:${orPort}`,
      'BridgeRelay 1',
      'PublishServerDescriptor 0',
      `ServerTransportPlugin obfs4 exec ${obfs4proxy}`,
      `ServerTransportListenAddr obfs4 ${TESTNET_ADDRESS}:${obfs4Port}`,
      'ExtORPort auto',
      `__OwningControllerProcess ${process.pid}`,
      ...state.dirAuthorityLines,
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  const torPath = findExecutable('tor', state.torPath, ['/usr/sbin/tor'])
  const { pid, stop } = spawnOwnedTor(torPath, torrc, `a bridge tor in ${dataDir}`)
  try {
    const certFile = join(dataDir, 'pt_state', 'obfs4_bridgeline.txt')
    const fingerprintFile = join(dataDir, 'fingerprint')
    for (;;) {
      // obfs4_bridgeline.txt ends with a template line: "Bridge obfs4 <IP ADDRESS>:<PORT> <FINGERPRINT> cert=… iat-mode=0".
      const cert = existsSync(certFile) ? /\bcert=(\S+)/.exec(readFileSync(certFile, 'utf8'))?.[1] : undefined
      const fingerprint = existsSync(fingerprintFile) ? /\s([0-9A-F]{40})\s*$/.exec(readFileSync(fingerprintFile, 'utf8'))?.[1] : undefined
      if (cert !== undefined && fingerprint !== undefined) {
        return { pid, dataDir, orPort, obfs4Port, bridgeLine: `obfs4 ${TESTNET_ADDRESS}:${obfs4Port} ${fingerprint} cert=${cert} iat-mode=0`, stop }
      }
      if (!isAlive(pid)) throw new TestnetError('TESTNET_START_FAILED', 'the bridge tor exited')
      if (Date.now() >= deadline) throw new TestnetError('TESTNET_NOT_READY', 'obfs4proxy wrote no bridge certificate in time')
      await sleep(POLL_MS)
    }
  } catch (err) {
    await stop()
    const code = err instanceof TestnetError ? err.code : 'TESTNET_START_FAILED'
    throw new TestnetError(code, `obfs4 bridge in ${dataDir} did not start: ${(err as Error).message}; its log ends:\n${torLogTail(dataDir)}`, { cause: err })
  }
}
