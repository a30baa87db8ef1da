import { extraTorrcLines, loadTorrcTemplate, renderTorrc } from '../tor/torrc.js'
import type { TestnetNode, TestnetState } from './state.js'

/** The loopback address every process of the network binds and advertises. */
export const TESTNET_ADDRESS = '127.0.0.1'

const HEX40 = /^[0-9A-F]{40}$/
const NICKNAME = /^[A-Za-z0-9]{1,19}$/

/** The fields of an authority that go into its `DirAuthority` line. */
export interface AuthorityIdentity {
  nickname: string
  orPort: number
  dirPort: number
  /** v3 authority identity fingerprint (40 hex digits). */
  v3ident: string
  /** Relay identity fingerprint (40 hex digits). */
  fingerprint: string
}

/**
 * The `DirAuthority` line every tor of the network (authorities, relays,
 * clients) carries for this authority. Inputs are checked because the line
 * is built from data read back from disk.
 */
export function dirAuthorityLine(a: AuthorityIdentity): string {
  if (!NICKNAME.test(a.nickname)) throw new RangeError(`invalid tor nickname: ${a.nickname}`)
  if (!HEX40.test(a.v3ident) || !HEX40.test(a.fingerprint)) throw new RangeError('fingerprints must be 40 upper-case hex digits')
  checkPort(a.orPort)
  checkPort(a.dirPort)
  return `DirAuthority ${a.nickname} orport=${a.orPort} no-v2 v3ident=${a.v3ident} ${TESTNET_ADDRESS}:${a.dirPort} ${a.fingerprint}`
}

/**
 * The complete torrc of one authority or relay: its template from `tor/`
 * with the node's values, its port lines (see {@link portLines}), then the
 * network's DirAuthority lines. With `ownerPid`, tor polls that process and
 * exits once it is gone.
 */
export function nodeTorrc(
  node: Pick<TestnetNode, 'nickname' | 'role' | 'orPort' | 'dirPort' | 'internalOrPort' | 'internalDirPort' | 'dataDir'>,
  dirAuthorityLines: readonly string[],
  ownerPid?: number,
): string {
  if (!NICKNAME.test(node.nickname)) throw new RangeError(`invalid tor nickname: ${node.nickname}`)
  if (node.role === 'authority' && node.dirPort === undefined) throw new RangeError(`authority ${node.nickname} has no DirPort`)
  const body = renderTorrc(loadTorrcTemplate(node.role), { NICKNAME: node.nickname, DATA_DIR: node.dataDir })
  const owner: string[] = []
  if (ownerPid !== undefined) {
    if (!Number.isInteger(ownerPid) || ownerPid <= 0) throw new RangeError(`invalid owner PID ${ownerPid}`)
    owner.push(`__OwningControllerProcess ${ownerPid}`)
  }
  return `${body.trimEnd()}\n${extraTorrcLines([...portLines(node), ...dirAuthorityLines, ...owner])}\n`
}

/**
 * The ORPort (and an authority's DirPort) lines. With an internal port (live
 * profile) tor advertises the emulator's port without binding it
 * (`NoListen`) and binds the internal one without advertising it
 * (`NoAdvertise`), so every other tor reaches it through the emulator.
 */
export function portLines(node: Pick<TestnetNode, 'orPort' | 'dirPort' | 'internalOrPort' | 'internalDirPort'>): string[] {
  const lines = (keyword: string, advertised: number, internal: number | undefined): string[] => {
    checkPort(advertised)
    if (internal === undefined) return [`${keyword} ${TESTNET_ADDRESS}:${advertised}`]
    checkPort(internal)
    return [`${keyword} ${TESTNET_ADDRESS}:${advertised} NoListen`, `${keyword} ${TESTNET_ADDRESS}:${internal} NoAdvertise`]
  }
  return [...lines('ORPort', node.orPort, node.internalOrPort), ...(node.dirPort === undefined ? [] : lines('DirPort', node.dirPort, node.internalDirPort))]
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`invalid port ${port}`)
}

/**
 * The torrc lines a client tor needs to join the network, one option per line.
 * A fixed CircuitBuildTimeout matters: on loopback tor otherwise learns a
 * timeout of a few tens of milliseconds and then kills its own introduction circuits.
 */
export function clientTorrcLines(state: Pick<TestnetState, 'dirAuthorityLines'>): string[] {
  return [
    'TestingTorNetwork 1',
    ...state.dirAuthorityLines,
    'LearnCircuitBuildTimeout 0',
    'CircuitBuildTimeout 30',
    'GeoIPFile /dev/null',
    'GeoIPv6File /dev/null',
  ]
}
