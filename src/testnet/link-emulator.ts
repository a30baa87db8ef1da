import { connect, createServer, type Server, type Socket } from 'node:net'
import { DelayLine } from './delay-line.js'
import { peerSocketInode, readProcNetTcp, socketInodesOf } from './proc-net.js'
import { TokenBucket } from './token-bucket.js'

/** How the links of one relay are shaped, in each direction. */
export interface LinkShape {
  /** One-way delay added to every chunk, ms. */
  delayMs: number
  /** Mean of an extra, exponentially distributed delay per chunk, ms; 0 for none. */
  jitterMs: number
  /** Cap on all connections to this relay together, bytes/s per direction. */
  bytesPerSecond: number
  /** Bytes that pass at once after an idle spell. */
  burstBytes: number
}

/** One port the emulator owns: it accepts there and forwards to `targetPort`, shaped as `shape`. */
export interface EmulatedPort {
  /** The relay this port belongs to; its ports share one bandwidth cap. */
  relay: string
  /** The port the relay advertises (tor's `NoListen` port); the emulator listens on it. */
  listenPort: number
  /** The port tor binds (its `NoAdvertise` port). */
  targetPort: number
  /** An ORPort, which clients use, or a DirPort, which only tors of the network use once they run. */
  kind: 'or' | 'dir'
  shape: LinkShape
}

/**
 * Which connections a command affects: every connection to a relay's ports
 * and every connection its tor opened to other relays (`relay`), or every
 * connection a given process opened (`pid`, e.g. a client's tor).
 */
export type LinkSelector = { relay: string } | { pid: number }

/** `drop`: connections are reset and new ones refused. `stall`: nothing flows, connections stay open. */
export type LinkFault = 'drop' | 'stall'

/** Counters of one relay's ports. */
export interface RelayLinkStats {
  relay: string
  /** Connections open now. */
  connections: number
  /** Bytes delivered towards the relay and from it, over all connections so far. */
  bytesToRelay: number
  bytesFromRelay: number
}

/** Options of {@link LinkEmulator.start}. */
export interface LinkEmulatorOptions {
  /** The current PIDs of the relays' tors by relay name: they tell relays' own connections from clients'. Default: none known. */
  relayPids?: () => ReadonlyMap<string, number>
  /**
   * Extra one-way delay, ms, on ORPort connections that no relay opened: a
   * client's access link (last mile and distance to its guard). Default 0.
   */
  accessDelayMs?: number
  /** Random numbers in [0, 1) for jitter; default `Math.random`. */
  random?: () => number
}

/** Jitter is exponential; capped so one unlucky chunk cannot hold a stream for seconds. */
const JITTER_CAP_FACTOR = 8

interface Rule {
  selector: LinkSelector
  fault: LinkFault
}

interface Relay {
  toRelay: TokenBucket
  fromRelay: TokenBucket
  bytesToRelay: number
  bytesFromRelay: number
}

/** The accepted end of a connection: enough to decide whether a fault applies to it. */
interface Peer {
  port: EmulatedPort
  inbound: Socket
  /** Inode of the connecting process's socket, looked up on first need; null when not found. */
  peerInode?: number | null
  /** Whether the peer socket belongs to a PID, per PID asked about. */
  ownedBy: Map<number, boolean>
}

/** One forwarded connection and its two directions. */
interface Connection extends Peer {
  outbound: Socket
  toRelay: DelayLine
  fromRelay: DelayLine
}

/**
 * A user-space link emulator for a private Tor network: for each relay port
 * it listens on the advertised port and forwards every connection to the port
 * tor binds, adding one-way delay with jitter in each direction, capping the
 * relay's bandwidth (one token bucket per direction shared by all its
 * connections), and dropping or stalling links on command.
 *
 * A new connection's first byte also waits for the round trip (2 × delay) a
 * TCP handshake costs on a real link before its own one-way delay.
 */
export class LinkEmulator {
  readonly #servers: Server[] = []
  readonly #relays = new Map<string, Relay>()
  readonly #connections = new Set<Connection>()
  readonly #rules: Rule[] = []
  readonly #relayPids: () => ReadonlyMap<string, number>
  readonly #accessDelayMs: number
  readonly #random: () => number

  private constructor(opts: LinkEmulatorOptions) {
    this.#relayPids = opts.relayPids ?? (() => new Map())
    this.#accessDelayMs = opts.accessDelayMs ?? 0
    this.#random = opts.random ?? Math.random
  }

  /** Listens on every `listenPort` (127.0.0.1); rejects, closing what it opened, if one cannot be bound. */
  static async start(ports: readonly EmulatedPort[], opts: LinkEmulatorOptions = {}): Promise<LinkEmulator> {
    const emulator = new LinkEmulator(opts)
    try {
      for (const port of ports) await emulator.#listen(port)
    } catch (err) {
      await emulator.close()
      throw err
    }
    return emulator
  }

  /** Drops or stalls the connections `selector` names, now and until {@link restore}; returns how many are open now. */
  apply(fault: LinkFault, selector: LinkSelector): number {
    this.#rules.push({ selector, fault })
    return this.#reapply(selector)
  }

  /**
   * Lifts the faults set for `selector` (all faults when it is omitted);
   * stalled connections resume and deliver what they held. Returns how many
   * connections the selector names now.
   */
  restore(selector?: LinkSelector): number {
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const rule = this.#rules[i]
      if (rule !== undefined && (selector === undefined || sameSelector(rule.selector, selector))) this.#rules.splice(i, 1)
    }
    return this.#reapply(selector)
  }

  /** Open connections and bytes delivered, per relay. */
  stats(): RelayLinkStats[] {
    return [...this.#relays].map(([relay, r]) => ({
      relay,
      connections: [...this.#connections].filter((c) => c.port.relay === relay).length,
      bytesToRelay: r.bytesToRelay + sum(this.#connections, relay, (c) => c.toRelay.deliveredBytes),
      bytesFromRelay: r.bytesFromRelay + sum(this.#connections, relay, (c) => c.fromRelay.deliveredBytes),
    }))
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const c of this.#connections) this.#destroy(c, false)
    await Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }

  async #listen(port: EmulatedPort): Promise<void> {
    let relay = this.#relays.get(port.relay)
    if (relay === undefined) {
      const now = performance.now()
      const { bytesPerSecond, burstBytes } = port.shape
      relay = { toRelay: new TokenBucket(bytesPerSecond, burstBytes, now), fromRelay: new TokenBucket(bytesPerSecond, burstBytes, now), bytesToRelay: 0, bytesFromRelay: 0 }
      this.#relays.set(port.relay, relay)
    }
    const shared = relay
    // allowHalfOpen: a FIN travels through the line like data instead of closing both directions at once.
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (inbound) => this.#accept(port, shared, inbound))
    server.on('error', () => {})
    this.#servers.push(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port.listenPort, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  #accept(port: EmulatedPort, relay: Relay, inbound: Socket): void {
    inbound.on('error', () => {})
    const acceptedAt = performance.now()
    const peer: Peer = { port, inbound, ownedBy: new Map() }
    const fault = this.#faultOf(peer)
    if (fault === 'drop') {
      inbound.resetAndDestroy()
      return
    }
    const outbound = connect({ host: '127.0.0.1', port: port.targetPort, allowHalfOpen: true, noDelay: true })
    outbound.on('error', () => {})
    const { jitterMs } = port.shape
    // Only ORPort connections are asked about: each costs a look into /proc, and DirPorts see many short connections, all from relays.
    const accessLink = this.#accessDelayMs > 0 && port.kind === 'or' && this.#openingRelay(peer) === undefined
    const delayMs = port.shape.delayMs + (accessLink ? this.#accessDelayMs : 0)
    const due = (bucket: TokenBucket) => (bytes: number, now: number) => now + bucket.take(bytes, now) + delayMs + this.#jitter(jitterMs)
    const conn: Connection = Object.assign(peer, {
      outbound,
      // On a real link the connecting side sends only after the handshake's round trip, then its bytes take the one-way delay.
      toRelay: new DelayLine(inbound, outbound, { dueAt: due(relay.toRelay), notBefore: acceptedAt + 3 * delayMs }),
      fromRelay: new DelayLine(outbound, inbound, { dueAt: due(relay.fromRelay) }),
    })
    this.#connections.add(conn)
    // A side that closed cleanly may still have bytes and its FIN on the way to the other: wait for both.
    // A side that failed takes the other down at once, with a reset.
    const onClose = (hadError: boolean): void => {
      if (hadError || (inbound.destroyed && outbound.destroyed)) this.#destroy(conn, hadError)
    }
    inbound.on('close', onClose)
    outbound.on('close', onClose)
    if (fault === 'stall') this.#hold(conn)
  }

  #jitter(meanMs: number): number {
    if (meanMs <= 0) return 0
    return Math.min(-meanMs * Math.log(1 - this.#random()), JITTER_CAP_FACTOR * meanMs)
  }

  #reapply(selector: LinkSelector | undefined): number {
    let named = 0
    for (const c of [...this.#connections]) {
      if (selector === undefined || this.#matches(selector, c)) named++
      const fault = this.#faultOf(c)
      if (fault === 'drop') this.#destroy(c, true)
      else if (fault === 'stall') this.#hold(c)
      else {
        c.toRelay.release()
        c.fromRelay.release()
      }
    }
    return named
  }

  #faultOf(c: Peer): LinkFault | undefined {
    let fault: LinkFault | undefined
    for (const rule of this.#rules) {
      if (!this.#matches(rule.selector, c)) continue
      if (rule.fault === 'drop') return 'drop'
      fault = 'stall'
    }
    return fault
  }

  #matches(selector: LinkSelector, c: Peer): boolean {
    if ('relay' in selector) {
      if (c.port.relay === selector.relay) return true
      const pid = this.#relayPids().get(selector.relay)
      return pid !== undefined && this.#openedBy(c, pid)
    }
    return this.#openedBy(c, selector.pid)
  }

  /** Whether the process `pid` holds the far end of `c`, found through /proc once per connection and PID. */
  #openedBy(c: Peer, pid: number): boolean {
    const known = c.ownedBy.get(pid)
    if (known !== undefined) return known
    if (c.peerInode === undefined) {
      const peerPort = c.inbound.remotePort
      c.peerInode = peerPort === undefined ? null : (peerSocketInode(readProcNetTcp(), peerPort, c.port.listenPort) ?? null)
    }
    const owned = c.peerInode !== null && socketInodesOf(pid).has(c.peerInode)
    c.ownedBy.set(pid, owned)
    return owned
  }

  /** The relay whose tor opened `c`; undefined for a client. */
  #openingRelay(c: Peer): string | undefined {
    for (const [relay, pid] of this.#relayPids()) if (this.#openedBy(c, pid)) return relay
    return undefined
  }

  #hold(c: Connection): void {
    c.toRelay.hold()
    c.fromRelay.hold()
  }

  #destroy(c: Connection, reset: boolean): void {
    if (!this.#connections.delete(c)) return
    const relay = this.#relays.get(c.port.relay)
    if (relay !== undefined) {
      relay.bytesToRelay += c.toRelay.deliveredBytes
      relay.bytesFromRelay += c.fromRelay.deliveredBytes
    }
    c.toRelay.close()
    c.fromRelay.close()
    // A reset tells the peer at once that the link is gone, as a dropped route with an ICMP error would.
    if (reset) c.inbound.resetAndDestroy()
    else c.inbound.destroy()
    c.outbound.destroy()
  }
}

function sameSelector(a: LinkSelector, b: LinkSelector): boolean {
  return 'relay' in a ? 'relay' in b && a.relay === b.relay : 'pid' in b && a.pid === b.pid
}

function sum(connections: Iterable<Connection>, relay: string, bytes: (c: Connection) => number): number {
  let total = 0
  for (const c of connections) if (c.port.relay === relay) total += bytes(c)
  return total
}
