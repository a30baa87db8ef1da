import type { TorControl } from './control/index.js'
import { TorCommandError } from './errors.js'
import { serviceIdOf, type OnionAddress } from './onion-address.js'
import { clientAuthPrivateKeyBase64 } from './onion-keys.js'
import type { Tor } from './tor.js'

/**
 * Our client-auth credentials for peers' onion services: without the right
 * key registered, tor cannot even decrypt a peer's descriptor.
 *
 * Registrations live in tor's memory only (no key file on disk beyond
 * Burrow's own keystore), so they are replayed after every tor restart and
 * after every `Tor.freshStart()` (NEWNYM drops them). They
 * outlive our control connection, so {@link close} takes every one of them
 * back: on a tor the user runs, none of our private keys stays behind.
 */
export class OnionClientAuth {
  readonly #tor: Tor
  readonly #keys = new Map<string, Uint8Array>()
  readonly #removeHooks: (() => void)[]

  constructor(tor: Tor) {
    this.#tor = tor
    const replay = async (control: TorControl): Promise<void> => {
      for (const [serviceId, key] of this.#keys) await control.onionClientAuthAdd(serviceId, clientAuthPrivateKeyBase64(key))
    }
    // A restarted tor has none of them, and NEWNYM drops them all.
    this.#removeHooks = [tor.onReady(replay), tor.onClientAuthPurged(replay)]
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
    await this.#tor.control.onionClientAuthRemove(serviceId).catch(ignoreUnknown)
  }

  /**
   * Stops replaying registrations after restarts and removes every key we
   * registered from tor (ONION_CLIENT_AUTH_REMOVE), if tor is reachable.
   * Tries every key even when one removal fails; rejects with the first failure.
   */
  async close(): Promise<void> {
    for (const remove of this.#removeHooks) remove()
    const serviceIds = [...this.#keys.keys()]
    this.#keys.clear()
    if (!this.#tor.isReady) return
    const control = this.#tor.control
    const results = await Promise.allSettled(serviceIds.map((id) => control.onionClientAuthRemove(id).catch(ignoreUnknown)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }
}

/** 552: tor has no such key (it restarted, or never had it); nothing to remove. */
function ignoreUnknown(err: unknown): void {
  if (!(err instanceof TorCommandError && err.status === 552)) throw err
}
