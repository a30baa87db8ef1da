import { existsSync, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { TorError } from './errors.js'

/**
 * Bridge lines for a managed tor: `burrow start --bridge LINE`.
 *
 * A line is what BridgeDB, a friend's bridge or Tor Browser's settings give,
 * with or without the leading `Bridge` keyword:
 *
 *     obfs4 192.0.2.7:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw iat-mode=0
 *     192.0.2.8:9001 0123456789ABCDEF0123456789ABCDEF01234567
 *
 * Only plain bridges and obfs4 (through Debian's `obfs4proxy`) are taken.
 * Snowflake, WebTunnel and meek need their own client binaries and reach a
 * broker or a front domain on the public Internet, which a node that
 * resolves no name and opens no socket but to loopback does not do for
 * itself (see the README's bridge section). The address must be an IP
 * literal: tor would otherwise resolve the name in the clear.
 *
 * Each line is validated token by token before it reaches the torrc, so a
 * line cannot smuggle another option in (a line break, `#`, quotes).
 */

/** A validated bridge line. */
export interface BridgeLine {
  /** `obfs4`, or undefined for a plain bridge (tor's own protocol, no disguise). */
  transport: 'obfs4' | undefined
  /** `IPv4:port` or `[IPv6]:port`. */
  address: string
  /** The bridge's relay identity (40 hex digits), when the line names it. */
  fingerprint: string | undefined
  /** The transport's `key=value` arguments (obfs4: `cert=…`, `iat-mode=…`). */
  args: string[]
}

/** Transports a user may meet in the wild, with what Burrow says about them. */
const OTHER_TRANSPORTS = new Set(['snowflake', 'webtunnel', 'meek', 'meek_lite', 'scramblesuit', 'obfs3', 'fte', 'conjure'])

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/
const FINGERPRINT = /^\$?[0-9A-Fa-f]{40}$/
/** obfs4's arguments: base64 certificates, small numbers. */
const ARG = /^[a-z][a-z0-9_-]{0,31}=[A-Za-z0-9+/=._:-]{1,512}$/

/**
 * The error never quotes the line: a bridge's address and cert are what
 * keeps an unlisted bridge unlisted, and errors reach logs.
 */
function invalid(why: string): TorError {
  return new TorError('TOR_BRIDGE_INVALID', `not a usable bridge line (${why})`)
}

function isAddress(token: string): boolean {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(token)
  const v4 = /^([^:]+):(\d{1,5})$/.exec(token)
  const m = v6 ?? v4
  if (m === null) return false
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false
  return v6 !== null ? IPV6.test(m[1]!) && m[1]!.includes(':') : IPV4.test(m[1]!)
}

/**
 * Parses one bridge line.
 *
 * @throws TorError `TOR_BRIDGE_INVALID` for anything that is not a bridge
 *   line, `TOR_BRIDGE_TRANSPORT_UNSUPPORTED` for a transport other than obfs4
 */
export function parseBridgeLine(line: string): BridgeLine {
  if (/[\r\n\0#"\\]/.test(line)) throw invalid('a line break, #, quote or backslash')
  const tokens = line.trim().split(/[ \t]+/).filter((t) => t.length > 0)
  if (tokens[0]?.toLowerCase() === 'bridge') tokens.shift()
  if (tokens.length === 0) throw invalid('empty')
  let transport: BridgeLine['transport']
  if (!isAddress(tokens[0]!)) {
    const name = tokens.shift()!.toLowerCase()
    if (name !== 'obfs4') {
      if (OTHER_TRANSPORTS.has(name)) {
        throw new TorError('TOR_BRIDGE_TRANSPORT_UNSUPPORTED', `the ${name} transport is not supported; use an obfs4 bridge or a plain one (see the README's section on bridges)`)
      }
      throw invalid(tokens.length > 0 && isAddress(tokens[0]!) ? `unknown transport ${name.slice(0, 20)}` : 'the address must be IP:port, an IP literal')
    }
    transport = 'obfs4'
  }
  const address = tokens.shift()
  if (address === undefined || !isAddress(address)) throw invalid('the address must be IP:port, an IP literal (a host name would be resolved in the clear)')
  let fingerprint: string | undefined
  if (tokens[0] !== undefined && FINGERPRINT.test(tokens[0])) fingerprint = tokens.shift()!.replace(/^\$/, '').toUpperCase()
  for (const arg of tokens) if (!ARG.test(arg)) throw invalid(/^[a-z][a-z0-9_-]{0,31}=/.test(arg) ? `the value of ${arg.slice(0, arg.indexOf('='))}= has characters a bridge line does not use` : 'an argument that is not key=value')
  if (transport === undefined && tokens.length > 0) throw invalid('a plain bridge takes no arguments')
  if (transport === 'obfs4') {
    if (fingerprint === undefined) throw invalid('an obfs4 bridge needs its fingerprint')
    if (!tokens.some((a) => a.startsWith('cert='))) throw invalid('an obfs4 bridge needs its cert=')
  }
  return { transport, address, fingerprint, args: tokens }
}

/** The `Bridge` option's value for a parsed line. */
export function bridgeLineText(b: BridgeLine): string {
  return [b.transport, b.address, b.fingerprint, ...b.args].filter((t): t is string => t !== undefined).join(' ')
}

/** Where Debian's obfs4proxy is looked for when no path is given: the PATH, then /usr/bin. */
export function findObfs4proxy(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = explicit !== undefined ? [explicit] : [...(env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/')).map((d) => join(d, 'obfs4proxy')), '/usr/bin/obfs4proxy']
  for (const c of candidates) {
    // The path goes on a torrc line as it is: nothing tor would split or cut.
    if (/[\s#"\\]/.test(c)) continue
    try {
      if (existsSync(c) && statSync(c).isFile() && (statSync(c).mode & 0o111) !== 0) return c
    } catch {
      // unreadable: try the next
    }
  }
  throw new TorError('TOR_OBFS4PROXY_NOT_FOUND', `${explicit !== undefined ? `${explicit} is not an executable; ` : ''}obfs4 bridges need Debian's obfs4proxy (as root: apt-get install -y obfs4proxy)`)
}

/**
 * The torrc lines that make tor reach the network only through `bridges`:
 * `UseBridges 1`, one `Bridge` line each, and the obfs4 transport plugin when
 * a bridge uses obfs4. Empty for no bridges.
 *
 * @throws TorError as {@link parseBridgeLine}, and `TOR_OBFS4PROXY_NOT_FOUND`
 */
export function bridgeTorrcLines(bridges: readonly string[], options: { obfs4proxyPath?: string } = {}): string[] {
  if (bridges.length === 0) return []
  const parsed = bridges.map((line, i) => {
    try {
      return parseBridgeLine(line)
    } catch (err) {
      // Which one, since the message does not quote it.
      if (err instanceof TorError && bridges.length > 1) throw new TorError(err.code, `bridge ${i + 1} of ${bridges.length}: ${err.message}`, { cause: err })
      throw err
    }
  })
  const lines = ['UseBridges 1', ...parsed.map((b) => `Bridge ${bridgeLineText(b)}`)]
  if (parsed.some((b) => b.transport === 'obfs4')) lines.push(`ClientTransportPlugin obfs4 exec ${findObfs4proxy(options.obfs4proxyPath)}`)
  return lines
}
