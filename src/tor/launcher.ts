import type { ControlEndpoint, AuthOptions } from './control/index.js'
import type { SocksEndpoint } from './socks.js'

/** How a tor process ended. */
export interface TorExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A tor that a {@link TorLauncher} made available: where to reach its control port and how to authenticate. */
export interface LaunchedTor {
  control: ControlEndpoint
  auth: AuthOptions
  /** Tor's SOCKS listener when the launcher configured it; otherwise asked of tor (GETINFO net/listeners/socks). */
  socks?: SocksEndpoint
  /** True when Burrow owns this tor: it takes ownership so tor exits with the control connection. */
  owned: boolean
  /** PID of the tor process when Burrow spawned it. */
  pid?: number
  /** Settles when the tor process exits; never settles for a tor Burrow did not start. */
  exited: Promise<TorExit>
  /** Stops this tor if Burrow started it; otherwise does nothing. Idempotent and bounded. */
  kill(): Promise<void>
  /** The last lines tor printed, for error messages. Empty for an attached tor. */
  outputTail(): string
}

/**
 * Makes a tor available. The supervisor calls `launch` at start and again
 * after every loss, so "restart tor" and "reconnect to the user's tor" are
 * the same operation seen from above.
 */
export interface TorLauncher {
  launch(signal: AbortSignal): Promise<LaunchedTor>
}
