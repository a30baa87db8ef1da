import { TorError } from './errors.js'
import type { AuthOptions, ControlEndpoint } from './control/index.js'
import type { LaunchedTor, TorExit, TorLauncher } from './launcher.js'

/**
 * Where the user's own tor listens and the credential the user gave for it.
 * One of `cookieFile` and `password` is required (checked when the launcher
 * is made): Burrow never authenticates without one.
 */
export interface AttachedTorOptions {
  control: ControlEndpoint
  /** Its control cookie (Debian: `/run/tor/control.authcookie`), for SAFECOOKIE. */
  cookieFile?: string
  /** The password behind its HashedControlPassword. */
  password?: string
}

/**
 * Attaches to a tor the user already runs. Burrow never takes ownership of
 * it and never stops it; after a loss the supervisor simply reconnects.
 */
export class AttachedTorLauncher implements TorLauncher {
  readonly #control: ControlEndpoint
  readonly #auth: AuthOptions

  constructor(options: AttachedTorOptions) {
    const { control, cookieFile, password } = options
    if (cookieFile !== undefined) this.#auth = password !== undefined ? { cookieFile, password } : { cookieFile }
    else if (password !== undefined) this.#auth = { password }
    else throw new TorError('TOR_AUTH_FAILED', "attaching to a tor needs its control cookie file (cookieFile) or its control password (password)")
    this.#control = control
  }

  async launch(): Promise<LaunchedTor> {
    return {
      control: this.#control,
      auth: this.#auth,
      owned: false,
      exited: new Promise<TorExit>(() => {}),
      kill: async () => {},
      outputTail: () => '',
    }
  }
}
