/**
 * Base class of every error Burrow throws on purpose.
 *
 * `code` is stable across releases, so callers (and the CLI's exit codes)
 * branch on it rather than on message text. Messages never carry secrets:
 * the constructor takes no data beyond what the caller chose to write.
 */
export class BurrowError extends Error {
  /** Stable, machine-readable identifier such as `TOR_CONTROL_REPLY`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A bounded wait ran out. */
export class TimeoutError extends BurrowError {
  constructor(what: string, ms: number) {
    super('TIMEOUT', `${what} timed out after ${ms} ms`)
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortError extends BurrowError {
  constructor(what: string) {
    super('ABORTED', `${what} was aborted`)
  }
}
