import { BurrowError } from '../errors.js'

/** Stable codes of the node and their default messages. */
export const NODE_ERRORS = {
  /** The node is not in a state that allows the call (not started, already started, stopping, stopped for good). */
  NODE_STATE: 'the node is not in a state that allows this',
  /** The node was already initialised in that data directory. */
  NODE_EXISTS: 'a node already exists in this data directory',
  /** Another process (or another open node of this one) has the data directory open. */
  NODE_IN_USE: 'the node in this data directory is open elsewhere: stop it first',
  /** The data directory holds no node yet (run `burrow init`). */
  NODE_NOT_FOUND: 'no node in this data directory; create one with `burrow init`',
  /** The node's configuration file or options are invalid. */
  CONFIG_INVALID: 'invalid configuration',
  // Files.
  /** The file to send is not a regular file the node's user can read. */
  NODE_FILE_UNREADABLE: 'the node cannot read that file',
  /** Saving a file would overwrite an existing one (allow it with `force`). */
  NODE_FILE_EXISTS: 'a file already exists there',
  /** The folder to save a file in does not exist or cannot be written by the node's user. */
  NODE_FILE_UNWRITABLE: 'the node cannot write there',
  /** A transfer was cancelled (its caller went away, or asked). */
  NODE_CANCELLED: 'cancelled',
  /** The allow-list would hold more peers than our onion services can carry client keys for (`MAX_PEERS`). */
  NODE_PEER_LIMIT: 'a node allows at most 1196 peers (4 onion services of 299 client keys each)',
  /** No fork proof here has that id (or the prefix matches several). */
  NODE_FORK_NOT_FOUND: 'no fork proof with that id; see `burrow forks`',
  /** Too many invitations wait for their invitees, in this group or in all. */
  NODE_INVITE_QUEUE_FULL: 'too many invitations wait for their invitees',
  /** No invitation of that peer into that group is queued. */
  NODE_INVITE_NOT_QUEUED: 'no invitation of that peer into that group is queued',
  /** A queued invitation waited longer than its lifetime for the invitee and was dropped. */
  NODE_INVITE_EXPIRED: 'the invitee did not come online in time; the invitation was dropped',
} as const
export type NodeErrorCode = keyof typeof NODE_ERRORS

/** An error of the node; `code` is one of {@link NODE_ERRORS}. */
export class NodeError extends BurrowError {
  declare readonly code: NodeErrorCode
  constructor(code: NodeErrorCode, message: string = NODE_ERRORS[code], options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
