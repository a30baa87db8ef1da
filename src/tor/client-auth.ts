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
    // Sent all at once (the control connection pipelines): a node with 1,000 peers holds 4,000 of them.
    const replay = async (control: TorControl): Promise<void> => {
      await Promise.all([...this.#keys].map(([serviceId, key]) => control.onionClientAuthAdd(serviceId, clientAuthPrivateKeyBase64(key))))
    }
    // A restarted tor has none of them, and NEWNYM drops them all.
    this.#removeHooks = [tor.onReady(replay), tor.onClientAuthPurged(replay)]
  }

  /** Registers our x25519 private key for each of `onions` (now if tor is ready, and after every restart). */
  async add(onions: OnionAddress | readonly OnionAddress[], privateKey: Uint8Array): Promise<void> {
    const serviceIds = (typeof onions === 'string' ? [onions] : onions).map(serviceIdOf)
    for (const serviceId of serviceIds) this.#keys.set(serviceId, privateKey)
    if (!this.#tor.isReady) return
    const control = this.#tor.control
    const base64Key = clientAuthPrivateKeyBase64(privateKey)
    await Promise.all(serviceIds.map((serviceId) => control.onionClientAuthAdd(serviceId, base64Key)))
  }

  /** Forgets our key for each of `onions`; tor can no longer reach those services. */
  async remove(onions: OnionAddress | readonly OnionAddress[]): Promise<void> {
    const serviceIds = (typeof onions === 'string' ? [onions] : onions).map(serviceIdOf)
    for (const serviceId of serviceIds) this.#keys.delete(serviceId)
    if (!this.#tor.isReady) return
    const control = this.#tor.control
    await Promise.all(serviceIds.map((serviceId) => control.onionClientAuthRemove(serviceId).catch(ignoreUnknown)))
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
