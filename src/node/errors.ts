import { BurrowError } from '../errors.js'

/** The node is not in a state that allows the call (not started, already started, stopping). */
export class NodeStateError extends BurrowError {
  constructor(message: string) {
    super('NODE_STATE', message)
  }
}

/** The node was already initialised in that data directory. */
export class NodeExistsError extends BurrowError {
  constructor(dataDir: string) {
    super('NODE_EXISTS', `a node already exists in ${dataDir}`)
  }
}

/** The data directory holds no node yet (run `burrow init`). */
export class NodeNotFoundError extends BurrowError {
  constructor(dataDir: string) {
    super('NODE_NOT_FOUND', `no node in ${dataDir}; create one with \`burrow init\``)
  }
}

/** A peer could not be reached or refused what we asked. */
export class PeerUnavailableError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PEER_UNAVAILABLE', message, options)
  }
}
