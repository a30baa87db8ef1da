import type { Multiaddr } from '@multiformats/multiaddr'

const NETWORK_PROTOCOLS = new Set(['ip4', 'ip6', 'tcp', 'udp', 'dns', 'dns4', 'dns6', 'dnsaddr', 'unix'])

/**
 * The IP/DNS/transport components of a multiaddr, by protocol name. Matching
 * the string instead is flaky: a random onion or peer id can spell "tcp" or
 * "ip4" (CI hit `…mzgtcpb…`).
 */
export function networkProtocolsOf(ma: Multiaddr): string[] {
  return ma.getComponents().map((c) => c.name).filter((name) => NETWORK_PROTOCOLS.has(name))
}
