/** A private Tor network on 127.0.0.1 for tests and the demo: authorities, relays, and the lines a client needs to join. */
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
export { TestnetError, type TestnetErrorCode } from './errors.js'
export type { TestnetNode, TestnetRole, TestnetState } from './state.js'
export { clientTorrcLines, dirAuthorityLine, nodeTorrc, type AuthorityIdentity } from './torrc.js'
export { parseMicrodescConsensus, microdescDigests, type ConsensusRouter } from './consensus.js'
