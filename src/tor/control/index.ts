/**
 * Tor's control protocol (control-spec): one long-lived connection with typed
 * replies, events and errors, in the manner of stem's `stem.control` and
 * `stem.response`.
 *
 * - `client.ts`: {@link TorControl}: connects to a unix socket or a loopback
 *   port, queues commands and matches tor's in-order replies, emits events;
 *   helpers for GETINFO, SETEVENTS, SIGNAL, ADD_ONION, DEL_ONION and the
 *   ONION_CLIENT_AUTH commands. Used by `../tor.ts` (one connection per tor
 *   process) and, through it, by the onion service and client-auth registry.
 * - `auth.ts`: PROTOCOLINFO and authentication: SAFECOOKIE with the cookie
 *   file the user configured (tor proves it knows the cookie first) or
 *   HASHEDPASSWORD; never NULL, plain COOKIE or a cookie path tor names.
 * - `reply-parser.ts`: bytes to replies (`250-…`, `250+…` data, `250 OK`),
 *   events kept apart. `events.ts`: 650 replies to typed STATUS_CLIENT,
 *   HS_DESC and CIRC events (others raw). `key-values.ts`: the arguments of
 *   a reply line. `quote.ts`: quoting what we send, unquoting what tor sends.
 * - `onion.ts`: building ADD_ONION and ONION_CLIENT_AUTH_ADD from validated
 *   parts, reading ADD_ONION's reply.
 *
 * Nothing here throws anything but a `TorError` (`../errors.ts`) or an
 * `AbortError`; no message repeats a command's arguments (keys, cookies,
 * passwords). Each parser shows a sample of the wire text it reads.
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
