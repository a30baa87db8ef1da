/**
 * Tor control-port client: one long-lived connection with typed replies,
 * events and errors.
 */
export { TorControl, type ConnectOptions, type ControlEndpoint, type TorControlEventMap } from './client.js'
export { parseProtocolInfo, safeCookieHashes, readCookieFile, type AuthOptions, type ProtocolInfo } from './auth.js'
export {
  parseEvent,
  parseKeyValues,
  type TorEvent,
  type StatusClientEvent,
  type HsDescEvent,
  type CircEvent,
  type RawTorEvent,
} from './events.js'
export { splitArgs, type ReplyArg } from './key-values.js'
export {
  ADD_ONION_UNIX_PATH,
  assertServiceId,
  buildAddOnionCommand,
  buildClientAuthAddCommand,
  parseAddOnionReply,
  type AddOnionOptions,
  type AddOnionResult,
  type ClientAuthOptions,
  type OnionPort,
  type PowDefenses,
} from './onion.js'
export { quoteString, assertKeyword } from './quote.js'
export { ReplyParser, type ReplyLine, type ControlReply, type ReplyParserLimits } from './reply-parser.js'
