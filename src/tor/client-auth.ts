import { TorCommandError } from './errors.js'
import { serviceIdOf, type OnionAddress } from './onion-address.js'
import { clientAuthPrivateKeyBase64 } from './onion-keys.js'
import type { Tor } from './tor.js'

/**
 * Our client-auth credentials for peers' onion services: without the right
 * key registered, tor cannot even decrypt a peer's descriptor.
 *
 * Registrations live in tor's memory only (no key file on disk beyond
 * Burrow's own keystore), so they are replayed after every tor restart.
 */
export class OnionClientAuth {
  readonly #tor: Tor
  readonly #keys = new Map<string, Uint8Array>()
  readonly #removeHook: () => void

  constructor(tor: Tor) {
    this.#tor = tor
    this.#removeHook = tor.onReady(async (control) => {
      for (const [serviceId, key] of this.#keys) await control.onionClientAuthAdd(serviceId, clientAuthPrivateKeyBase64(key))
    })
  }

  /** Registers our x25519 private key for `onion` (now if tor is ready, and after every restart). */
  async add(onion: OnionAddress, privateKey: Uint8Array): Promise<void> {
    const serviceId = serviceIdOf(onion)
    this.#keys.set(serviceId, privateKey)
    if (this.#tor.isReady) await this.#tor.control.onionClientAuthAdd(serviceId, clientAuthPrivateKeyBase64(privateKey))
  }

  /** Forgets our key for `onion`; tor can no longer reach that service. */
  async remove(onion: OnionAddress): Promise<void> {
    const serviceId = serviceIdOf(onion)
    this.#keys.delete(serviceId)
    if (!this.#tor.isReady) return
    await this.#tor.control.onionClientAuthRemove(serviceId).catch((err: unknown) => {
      if (!(err instanceof TorCommandError && err.status === 552)) throw err
    })
  }

  /** Stops replaying registrations after restarts. */
  close(): void {
    this.#removeHook()
    this.#keys.clear()
  }
}
