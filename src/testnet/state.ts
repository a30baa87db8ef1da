import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestnetError } from './errors.js'
import { TESTNET_PROFILES, type LinkProfile, type TestnetProfileName } from './profile.js'

/** What a tor process of the network is: an authority is also a relay. */
export type TestnetRole = 'authority' | 'relay'

/** One tor process of the network as recorded in `state.json`. */
export interface TestnetNode {
  nickname: string
  role: TestnetRole
  /** PID of the running tor (of the last start, for a stopped relay). */
  pid: number
  /** The ORPort every other tor dials (on the live profile the link emulator's). */
  orPort: number
  /** Authorities only: the DirPort every other tor uses (on the live profile the link emulator's). */
  dirPort?: number
  /** Live profile only: the ORPort tor binds behind the emulator (`NoAdvertise`). */
  internalOrPort?: number
  /** Live profile, authorities only: the DirPort tor binds behind the emulator. */
  internalDirPort?: number
  /** The tor's DataDirectory; also holds its `torrc` and `notice.log`. */
  dataDir: string
  /** Relay identity fingerprint, 40 upper-case hex digits. */
  fingerprint: string
  /** Authorities only: the v3 authority identity fingerprint. */
  v3ident?: string
}

/** Everything needed to find, join and stop a running network; persisted as `<dir>/state.json`. */
export interface TestnetState {
  /** Absolute directory of the network. */
  dir: string
  /** ISO 8601 time the network was started. */
  createdAt: string
  nodes: TestnetNode[]
  /** One `DirAuthority …` torrc line per authority. */
  dirAuthorityLines: string[]
  /** Path of the file with the torrc lines a client needs to join. */
  joinFile: string
  /** The tor binary the network runs; reused when a relay is restarted. */
  torPath?: string
  /** How the links behave. */
  profile: TestnetProfileName
  /** Live profile: the link parameters the emulator applies. */
  links?: LinkProfile
  /** Live profile: the link emulator process and its command socket. */
  emulator?: { pid: number; controlSocket: string }
  /** When set, the network's processes exit once this process is gone. */
  ownerPid?: number
}

/** Path of the state file of the network in `dir`. */
export function stateFile(dir: string): string {
  return join(dir, 'state.json')
}

/** Writes `state.json` atomically (rename), so a reader never sees half a file. */
export function writeState(state: TestnetState): void {
  const file = stateFile(state.dir)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
}

/** Reads `state.json` of the network in `dir`; throws `TESTNET_NOT_FOUND` when there is none. */
export function readState(dir: string): TestnetState {
  const file = stateFile(dir)
  if (!existsSync(file)) throw new TestnetError('TESTNET_NOT_FOUND', `no test network in ${dir} (no state.json)`)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (cause) {
    throw new TestnetError('TESTNET_NOT_FOUND', `unreadable ${file}`, { cause })
  }
  if (!isTestnetState(parsed)) throw new TestnetError('TESTNET_NOT_FOUND', `${file} is not a test network state`)
  return parsed
}

function isTestnetState(value: unknown): value is TestnetState {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Partial<TestnetState>
  return (
    typeof s.dir === 'string' &&
    typeof s.createdAt === 'string' &&
    typeof s.joinFile === 'string' &&
    Array.isArray(s.dirAuthorityLines) &&
    Array.isArray(s.nodes) &&
    TESTNET_PROFILES.includes(s.profile as TestnetProfileName) &&
    (s.emulator === undefined || (Number.isInteger(s.emulator.pid) && typeof s.emulator.controlSocket === 'string')) &&
    s.nodes.every(
      (n) =>
        typeof n === 'object' &&
        n !== null &&
        typeof n.nickname === 'string' &&
        (n.role === 'authority' || n.role === 'relay') &&
        Number.isInteger(n.pid) &&
        typeof n.dataDir === 'string' &&
        typeof n.fingerprint === 'string',
    )
  )
}
