import { BurrowError } from '../../errors.js'

/**
 * Base class of every error raised by the tor control client.
 * Subclasses pass their own stable code; messages never carry command
 * arguments, because those can hold keys, cookies or passwords.
 */
export class TorControlError extends BurrowError {
  constructor(message: string, options?: { cause?: unknown }, code = 'TOR_CONTROL') {
    super(code, message, options)
  }
}

/** Tor sent something that does not follow the control protocol. */
export class TorProtocolError extends TorControlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'TOR_CONTROL_PROTOCOL')
  }
}

/** Tor answered a command with a 4xx or 5xx status. */
export class TorCommandError extends TorControlError {
  /** Tor's status code, e.g. 552. */
  readonly status: number
  /** Tor's reply text (with anything resembling the command's arguments redacted). */
  readonly torMessage: string

  /**
   * @param command the command keyword only (e.g. `ADD_ONION`), never its arguments
   */
  constructor(command: string, status: number, torMessage: string) {
    super(`tor refused ${command}: ${status} ${torMessage}`, undefined, 'TOR_COMMAND_FAILED')
    this.status = status
    this.torMessage = torMessage
  }
}

/** No authentication method worked, or tor failed to prove it knows the cookie. */
export class TorAuthError extends TorControlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'TOR_AUTH_FAILED')
  }
}

/** The control connection is closed or was lost; pending commands reject with this. */
export class TorControlClosedError extends TorControlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'TOR_CONTROL_CLOSED')
  }
}

/** Connecting, or waiting for a reply, took longer than allowed. */
export class TorControlTimeoutError extends TorControlError {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`, undefined, 'TOR_CONTROL_TIMEOUT')
  }
}

/** A caller passed an argument that cannot be sent to tor safely. */
export class TorArgumentError extends TorControlError {
  constructor(message: string) {
    super(message, undefined, 'TOR_CONTROL_ARGUMENT')
  }
}
