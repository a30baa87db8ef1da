import type { EmulatedPort, LinkShape } from './link-emulator.js'
import type { TestnetNode } from './state.js'

/**
 * How a private network's links behave. `fast`: tors talk over bare loopback
 * (an onion round trip of about 16 ms). `live`: every OR and directory
 * connection passes the link emulator, shaped like the live Tor network.
 */
export type TestnetProfileName = 'fast' | 'live'

/** The profile names, for parsing command lines. */
export const TESTNET_PROFILES: readonly TestnetProfileName[] = ['fast', 'live']

/** Link parameters of an emulated profile. */
export interface LinkProfile {
  /**
   * One-way delay of each relay's links, ms. Relays get values spread evenly
   * from `min` to `max` (some relays near, some far), so circuits differ as
   * they do on the live network.
   */
  delayMs: { min: number; max: number }
  /**
   * Extra one-way delay on a client's own links to its guards and
   * directories, ms: the last mile of a home or mobile connection and the
   * distance to the guard. Relays' links among themselves do not have it.
   */
  accessDelayMs: number
  /** Mean extra delay per chunk (exponential, order kept), ms. */
  jitterMs: number
  /** Cap per relay and direction, bytes/s. */
  bytesPerSecond: number
  /** Bytes a relay passes at once after an idle spell. */
  burstBytes: number
}

/**
 * The `live` profile's links, calibrated against the live Tor network.
 *
 * Targets (issue 20; published figures): an onion round trip of several
 * hundred ms (p50 300–700 ms here) and a first dial to a freshly published
 * onion of several seconds (3–10 s here; live onion peer-to-peer
 * connect + handshake had a median of about 14.6 s, 4–29 s, and Quiet took
 * 7.4 s on average to fetch from an onion).
 *
 * An onion round trip crosses about six links each way (client → guard →
 * middle → rendezvous point ← middle ← guard ← service, plus a vanguard hop on
 * the service side), so a mean one-way delay of ~40 ms per link gives
 * ~500 ms. Measured with `npm run testnet -- status --measure`: see
 * docs/testnet.md for the figures of each calibration run.
 */
export const LIVE_LINKS: LinkProfile = {
  delayMs: { min: 10, max: 30 },
  accessDelayMs: 40,
  jitterMs: 5,
  bytesPerSecond: 1 << 20,
  burstBytes: 64 << 10,
}

/** The shape of the links of relay number `index` (0-based) of `count`. */
export function linkShapeOf(links: LinkProfile, index: number, count: number): LinkShape {
  const { min, max } = links.delayMs
  const delayMs = count <= 1 ? (min + max) / 2 : min + ((max - min) * index) / (count - 1)
  return { delayMs, jitterMs: links.jitterMs, bytesPerSecond: links.bytesPerSecond, burstBytes: links.burstBytes }
}

/**
 * The ports the link emulator owns for `nodes`: each node's advertised
 * ORPort (and an authority's DirPort) in front of the port its tor binds.
 * Nodes without internal ports (the fast profile) get none.
 */
export function emulatedPorts(nodes: readonly TestnetNode[], links: LinkProfile): EmulatedPort[] {
  return nodes.flatMap((node, index) => {
    const shape = linkShapeOf(links, index, nodes.length)
    const ports: EmulatedPort[] = []
    if (node.internalOrPort !== undefined) ports.push({ relay: node.nickname, listenPort: node.orPort, targetPort: node.internalOrPort, kind: 'or', shape })
    if (node.internalDirPort !== undefined && node.dirPort !== undefined) {
      ports.push({ relay: node.nickname, listenPort: node.dirPort, targetPort: node.internalDirPort, kind: 'dir', shape })
    }
    return ports
  })
}
