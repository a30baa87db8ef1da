import type { AuthOptions, ControlEndpoint } from './control/index.js'
import type { LaunchedTor, TorExit, TorLauncher } from './launcher.js'

/** Where the user's own tor listens and how to authenticate to it. */
export interface AttachedTorOptions {
  control: ControlEndpoint
  /** Its control cookie (usually `/run/tor/control.authcookie` on Debian); found through PROTOCOLINFO when omitted. */
  cookieFile?: string
  /** For a tor configured with HashedControlPassword. */
  password?: string
}

/**
 * Attaches to a tor the user already runs. Burrow never takes ownership of
 * it and never stops it; after a loss the supervisor simply reconnects.
 */
export class AttachedTorLauncher implements TorLauncher {
  readonly #options: AttachedTorOptions

  constructor(options: AttachedTorOptions) {
    this.#options = options
  }

  async launch(): Promise<LaunchedTor> {
    const auth: AuthOptions = {}
    if (this.#options.cookieFile !== undefined) auth.cookieFile = this.#options.cookieFile
    if (this.#options.password !== undefined) auth.password = this.#options.password
    return {
      control: this.#options.control,
      auth,
      owned: false,
      exited: new Promise<TorExit>(() => {}),
      kill: async () => {},
      outputTail: () => '',
    }
  }
}
