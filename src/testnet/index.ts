/**
 * A private Tor network on 127.0.0.1 for tests, benchmarks and the demo:
 * directory authorities and relays as detached tor processes, recorded in
 * `<dir>/state.json` so any process can join, inspect or stop them, and the
 * torrc lines a client needs to join.
 *
 * Two profiles: `fast` (bare loopback) and `live`, where every OR and
 * directory connection passes a user-space link emulator (a detached process
 * owning each relay's advertised port) that adds latency with jitter, caps
 * bandwidth, and drops or stalls links on command ({@link LinkControl}).
 * {@link measureOnions} takes the raw onion figures of either with plain tors;
 * {@link startObfs4Bridge} adds an obfs4 bridge known only by its bridge line.
 * @module
 */
export {
  Testnet,
  loadTestnet,
  startRelay,
  startTestnet,
  stopRelay,
  stopTestnet,
  testnetStatus,
  type TestnetOptions,
  type TestnetStatus,
} from './network.js'
export { TESTNET_ERRORS, TestnetError, type TestnetErrorCode } from './errors.js'
export type { TestnetNode, TestnetRole, TestnetState } from './state.js'
export { clientTorrcLines, dirAuthorityLine, nodeTorrc, type AuthorityIdentity } from './torrc.js'
export { parseMicrodescConsensus, microdescDigests, type ConsensusRouter } from './consensus.js'
export { LIVE_LINKS, TESTNET_PROFILES, type LinkProfile, type TestnetProfileName } from './profile.js'
export { LinkControl, type LinkEmulatorStats, type LinkTarget } from './link-control.js'
export type { LinkFault, LinkShape, RelayLinkStats } from './link-emulator.js'
export { startClientTor, type ClientTor, type ClientTorOptions } from './client-tor.js'
export { startObfs4Bridge, type Obfs4Bridge, type Obfs4BridgeOptions } from './bridge.js'
export { measureOnions, percentile, publishOnion, type MeasureOptions, type OnionFigures, type TransferFigures } from './measure.js'
