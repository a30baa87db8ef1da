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
 * hundred ms, here p50 300–700 ms; a first dial to a freshly published onion of
 * several seconds, here 3–10 s (live onion peer-to-peer connect + handshake had
 * a median of about 14.6 s, 4–29 s; Quiet took 7.4 s on average to fetch from
 * an onion).
 *
 * An onion round trip crosses about seven links each way, two of them a
 * client's access link: 2 × (2 × 40 + 7 × 20) + 14 × 5 ≈ 510 ms plus tor's
 * work. Measured with plain tors (`npm run testnet -- status --measure`, three
 * fresh networks, 5 onions × 20 round trips each, load average 5–22): round
 * trip p50 604, 587 and 543 ms (p95 709, 770 and 632 ms), first dials
 * 2.9–4.9 s (medians 3.9, 4.4 and 3.7 s). The same delay on every link could
 * not meet both targets: a circuit's build cost weighs its first links most,
 * so the access delay lifts first dials more than round trips. Details in
 * docs/testnet.md.
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
