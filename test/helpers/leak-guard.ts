/**
 * Records every outbound connection attempt and DNS query made from JavaScript
 * in this process while installed, so a test can assert that Burrow talked only
 * to loopback IP literals and never resolved a name.
 *
 * What it sees: `net.Socket.prototype.connect` (which `net.connect`,
 * `net.createConnection`, `tls.connect`, http(s) agents and fetch all end up
 * calling, so sockets created any way are covered), `tls.connect` itself,
 * `dgram.Socket.prototype.connect/send`, every function of `node:dns` and
 * `node:dns/promises` that queries (`lookup`, `lookupService`, `resolve*`,
 * `reverse`), on the modules and on their `Resolver` prototypes. ESM named
 * imports of those functions are re-synced, so `import { lookup } from
 * 'node:dns'` is covered as well.
 *
 * Limits (what it cannot see):
 * - other processes (tor itself, child processes) and other worker threads;
 * - native addons and Node internals that bypass the public JS functions
 *   (Node's own name lookup inside `net.connect` may use an internal
 *   reference; such a connect still shows up here, with its host name, among
 *   the non-loopback attempts);
 * - references captured before installation by CommonJS code
 *   (`const { lookup } = require('dns')` at load time): sockets are still seen
 *   through the prototype, direct DNS calls through such a reference are not;
 * - anything before `install` or after `restore`.
 * Also: a UDP send on a socket not yet bound is seen twice (Node replays it after the implicit bind).
 * Install it before the code under test creates sockets, restore it after.
 */
import dgram from 'node:dgram'
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'
import net, { isIP } from 'node:net'
import tls from 'node:tls'
import { isLoopbackIp } from '../../src/util/net.js'

/** One outbound connection attempt. */
export interface ConnectAttempt {
  /** Which entry point saw it, e.g. `net.Socket.connect`, `tls.connect`, `dgram.send`. */
  api: string
  /** Target host as given (IP literal or name); `undefined` when Node would use its default (`localhost` for TCP). */
  host?: string
  port?: number
  /** Unix socket / named pipe path, for local IPC connections. */
  path?: string
  /** Where the attempt came from, for diagnosis. */
  stack: string
}

/** One DNS query (a `lookup` of an IP literal is not one: Node answers it without querying). */
export interface DnsQuery {
  /** e.g. `dns.lookup`, `dns.promises.resolve4`, `dns.Resolver.resolveTxt`. */
  api: string
  /** The queried name or address. */
  name: string
  stack: string
}

/** An installed guard. */
export interface LeakGuard {
  /** Every connection attempt seen so far. */
  connections(): readonly ConnectAttempt[]
  /** Attempts to anything but a loopback IP literal or a local socket path (names, even `localhost`, count). */
  nonLoopback(): readonly ConnectAttempt[]
  /** Every DNS query seen so far. */
  dnsLookups(): readonly DnsQuery[]
  /** Puts every patched function back. Idempotent. */
  restore(): void
}

const DNS_QUERY_FUNCTIONS = [
  'lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCaa', 'resolveCname', 'resolveMx',
  'resolveNaptr', 'resolveNs', 'resolvePtr', 'resolveSoa', 'resolveSrv', 'resolveTxt', 'reverse',
] as const

let active: LeakGuard | undefined

/** Starts recording. Only one guard may be installed at a time. */
export function installLeakGuard(): LeakGuard {
  if (active !== undefined) throw new Error('a leak guard is already installed')
  const attempts: ConnectAttempt[] = []
  const queries: DnsQuery[] = []
  const undo: (() => void)[] = []

  const patch = <T extends object>(owner: T, key: string, wrap: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): void => {
    const record = owner as Record<string, unknown>
    const original = record[key]
    if (typeof original !== 'function') return
    record[key] = wrap(original as (...args: unknown[]) => unknown)
    undo.push(() => {
      record[key] = original
    })
  }

  patch(net.Socket.prototype, 'connect', (original) =>
    function (this: unknown, ...args: unknown[]) {
      attempts.push({ api: 'net.Socket.connect', ...socketTarget(args), stack: callerStack() })
      return original.apply(this, args)
    },
  )
  patch(tls, 'connect', (original) =>
    function (this: unknown, ...args: unknown[]) {
      const options = args.find(isObject) ?? {}
      // With `socket`, TLS runs over an existing connection: nothing new is dialed.
      if (options.socket === undefined) attempts.push({ api: 'tls.connect', ...tlsTarget(args), stack: callerStack() })
      return original.apply(this, args)
    },
  )
  patch(dgram.Socket.prototype, 'connect', (original) =>
    function (this: unknown, ...args: unknown[]) {
      attempts.push({ api: 'dgram.connect', ...udpTarget(args[0], args[1]), stack: callerStack() })
      return original.apply(this, args)
    },
  )
  patch(dgram.Socket.prototype, 'send', (original) =>
    function (this: unknown, ...args: unknown[]) {
      // send(msg, [offset, length,] port, address, cb); a connected socket omits port and address.
      const withRange = typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number'
      const port = withRange ? args[3] : args[1]
      if (typeof port === 'number') attempts.push({ api: 'dgram.send', ...udpTarget(port, withRange ? args[4] : args[2]), stack: callerStack() })
      return original.apply(this, args)
    },
  )

  const dnsTargets: [object, string][] = [
    [dns, 'dns'],
    [dns.promises, 'dns.promises'],
    [dns.Resolver.prototype, 'dns.Resolver'],
    [dns.promises.Resolver.prototype, 'dns.promises.Resolver'],
  ]
  for (const [owner, label] of dnsTargets) {
    for (const fn of DNS_QUERY_FUNCTIONS) {
      patch(owner, fn, (original) =>
        function (this: unknown, ...args: unknown[]) {
          // Node answers a lookup of an IP literal itself, without any query (server.listen('127.0.0.1') does one).
          if (!(fn === 'lookup' && typeof args[0] === 'string' && isIP(args[0]) !== 0)) {
            queries.push({ api: `${label}.${fn}`, name: String(args[0]), stack: callerStack() })
          }
          return original.apply(this, args)
        },
      )
    }
  }
  syncBuiltinESMExports()

  const guard: LeakGuard = {
    connections: () => [...attempts],
    nonLoopback: () => attempts.filter((a) => a.path === undefined && !(a.host !== undefined && isLoopbackIp(a.host))),
    dnsLookups: () => [...queries],
    restore: () => {
      if (active !== guard) return
      for (const fn of undo.reverse()) fn()
      syncBuiltinESMExports()
      active = undefined
    },
  }
  active = guard
  return guard
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * `Socket.prototype.connect` arguments: `(options[, cb])`, `(port[, host][, cb])`,
 * `(path[, cb])`, or the internal normalized array `[options, cb]` that
 * `net.connect` passes.
 */
function socketTarget(args: unknown[]): Pick<ConnectAttempt, 'host' | 'port' | 'path'> {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  if (isObject(first)) {
    if (typeof first.path === 'string') return { path: first.path }
    return { host: typeof first.host === 'string' ? first.host : undefined, port: Number(first.port) }
  }
  if (typeof first === 'string' && !/^[0-9]+$/.test(first)) return { path: first }
  return { host: typeof args[1] === 'string' ? args[1] : undefined, port: Number(first) }
}

/** `tls.connect` arguments: `(options[, cb])`, `(port[, host][, options][, cb])`, `(path[, options][, cb])`. */
function tlsTarget(args: unknown[]): Pick<ConnectAttempt, 'host' | 'port' | 'path'> {
  if (typeof args[0] === 'number') return { host: typeof args[1] === 'string' ? args[1] : undefined, port: args[0] }
  return socketTarget(args)
}

function udpTarget(port: unknown, address: unknown): Pick<ConnectAttempt, 'host' | 'port'> {
  // An omitted UDP address means the loopback address of the socket's family (127.0.0.1 or ::1): recorded as 127.0.0.1.
  return { host: typeof address === 'string' ? address : '127.0.0.1', port: Number(port) }
}

function callerStack(): string {
  return (new Error().stack ?? '').split('\n').slice(3, 9).join('\n')
}
