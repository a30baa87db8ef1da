import { BurrowError } from '../errors.js'

/** No usable `tor` executable was found. */
export class TorNotFoundError extends BurrowError {
  constructor(detail: string) {
    super(
      'TOR_NOT_FOUND',
      `${detail}. Install Debian's tor package (as root: apt-get install -y tor) or pass the path of a tor binary (--tor-path).`,
    )
  }
}

/** The tor process could not be started, or exited before it was usable. */
export class TorStartError extends BurrowError {
  /** Last lines tor printed, for diagnosis (tor's SafeLogging keeps addresses out of them). */
  readonly torOutput: string

  constructor(message: string, torOutput = '', options?: { cause?: unknown }) {
    super('TOR_START_FAILED', torOutput ? `${message}\n--- tor said ---\n${torOutput}` : message, options)
    this.torOutput = torOutput
  }
}

/** Bootstrap made no progress for the configured time (the watchdog fired). */
export class TorBootstrapStalledError extends BurrowError {
  readonly progress: number

  constructor(progress: number, stalledMs: number) {
    super('TOR_BOOTSTRAP_STALLED', `tor bootstrap stalled at ${progress} % (no progress for ${stalledMs} ms)`)
    this.progress = progress
  }
}

/** The supervisor restarted tor too often in a row and gave up. */
export class TorSupervisionError extends BurrowError {
  constructor(attempts: number, options?: { cause?: unknown }) {
    super('TOR_SUPERVISION_FAILED', `tor failed ${attempts} times in a row; giving up`, options)
  }
}

/** An operation needed a running, bootstrapped tor and there was none. */
export class TorNotRunningError extends BurrowError {
  constructor(what: string) {
    super('TOR_NOT_RUNNING', `${what}: tor is not running`)
  }
}

/** The onion service could not be published or did not pass its self-check. */
export class OnionServiceError extends BurrowError {
  constructor(code: 'ONION_PUBLISH_FAILED' | 'ONION_SELF_CHECK_FAILED', message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
