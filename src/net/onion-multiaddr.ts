import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { parseOnionAddress, serviceIdOf, type OnionAddress } from '../tor/onion-address.js'
import { InvalidOnionMultiaddrError } from './errors.js'

/** The parts of a dialable onion multiaddr. */
export interface OnionTarget {
  /** The peer's canonical v3 onion address (checksum, version and key checked). */
  address: OnionAddress
  /** The onion service's virtual port, 1–65535. */
  port: number
  /** The peer id from a trailing `/p2p/` part (an Ed25519 peer id), when present. */
  peerId?: string
}

const ONION3_VALUE = /^([A-Za-z2-7]{56}):([0-9]+)$/
const PORT = /^[1-9][0-9]{0,4}$/
const MAX_PORT = 65535

/**
 * The multiaddr peers dial to reach an onion service:
 * `/onion3/<56 base32>:<port>`, with `/p2p/<peerId>` when `peerId` is given.
 * Validates everything it is given, so its output always passes
 * {@link parseOnionMultiaddr}.
 */
export function onionMultiaddr(address: string, port: number, peerId?: string | PeerId): Multiaddr {
  const onion = parseOnionAddress(address)
  const text = `/onion3/${serviceIdOf(onion)}:${String(port)}${peerId === undefined ? '' : `/p2p/${peerId.toString()}`}`
  const ma = multiaddr(text)
  parseOnionMultiaddr(ma)
  return ma
}

/**
 * Parses a dialable onion multiaddr: exactly `/onion3/<56 base32>:<port>`
 * optionally followed by `/p2p/<Ed25519 peer id>`, nothing else. Checks what
 * `@multiformats/multiaddr` 13 does not: the port range (1–65535, decimal,
 * no leading zeros), the onion checksum, version and public key, and the
 * peer id. Throws {@link InvalidOnionMultiaddrError}.
 */
export function parseOnionMultiaddr(input: Multiaddr | string): OnionTarget {
  const ma = toMultiaddr(input)
  const components = ma.getComponents()
  const [onion, p2p, ...rest] = components
  if (onion?.name !== 'onion3' || (p2p !== undefined && p2p.name !== 'p2p') || rest.length > 0) {
    throw new InvalidOnionMultiaddrError('components', 'only /onion3/<address>:<port> with an optional /p2p/<peer id> can be dialed')
  }
  const match = ONION3_VALUE.exec(onion.value ?? '')
  if (match === null) throw new InvalidOnionMultiaddrError('format', 'an onion3 component must be <56 base32 characters>:<port>')
  const [, serviceId = '', portText = ''] = match
  const port = Number(portText)
  if (!PORT.test(portText) || port > MAX_PORT) {
    throw new InvalidOnionMultiaddrError('port', 'the onion port must be a decimal integer from 1 to 65535 without leading zeros')
  }
  let address: OnionAddress
  try {
    address = parseOnionAddress(serviceId)
  } catch (cause) {
    throw new InvalidOnionMultiaddrError('onion-address', 'the onion3 component is not a valid v3 onion address', { cause })
  }
  if (p2p === undefined) return { address, port }
  return { address, port, peerId: parseEd25519PeerId(p2p.value) }
}

/** True when {@link parseOnionMultiaddr} accepts `ma`. */
export function isOnionMultiaddr(ma: Multiaddr): boolean {
  try {
    parseOnionMultiaddr(ma)
    return true
  } catch (err) {
    if (err instanceof InvalidOnionMultiaddrError) return false
    throw err
  }
}

/**
 * The multiaddr of a unix socket the onion transport listens on:
 * `/unix/<path, percent-encoded>` (what multiaddr 13 expects).
 */
export function unixListenMultiaddr(path: string): Multiaddr {
  return multiaddr(`/unix/${encodeURIComponent(path)}`)
}

/**
 * The socket path of a listen multiaddr the onion transport accepts, exactly
 * `/unix/<absolute path>`, or `undefined` for anything else: TCP or IP
 * addresses (the transport never listens on a TCP port), relative paths, extra parts.
 */
export function unixListenPath(ma: Multiaddr): string | undefined {
  const [unix, ...rest] = ma.getComponents()
  if (unix?.name !== 'unix' || rest.length > 0) return undefined
  const path = unix.value ?? ''
  return path.startsWith('/') && !path.includes('\0') ? path : undefined
}

/**
 * The remote address given to every inbound connection. Tor delivers all of
 * them through our unix socket, which has no peer address (and the local
 * socket path must never become one), and the caller's onion is unknown by design, so the
 * truthful answer is "unknown": a fixed onion3 address whose 35 zero bytes
 * (version 0, bad checksum) no parser accepts. It carries nothing about this
 * machine, is the same for every peer (so nothing that reports an observed
 * address can leak anything), and can never be dialed or stored in the peer
 * store by mistake. It has no `/p2p/` part on purpose: the upgrader would
 * otherwise expect that peer id from the Noise handshake.
 */
export const UNATTRIBUTED_INBOUND_ADDR: Multiaddr = multiaddr(`/onion3/${'a'.repeat(56)}:1`)

function toMultiaddr(input: Multiaddr | string): Multiaddr {
  if (typeof input !== 'string') return input
  try {
    return multiaddr(input)
  } catch (cause) {
    throw new InvalidOnionMultiaddrError('components', 'not a multiaddr', { cause })
  }
}

function parseEd25519PeerId(value: string | undefined): string {
  let peerId: PeerId
  try {
    peerId = peerIdFromString(value ?? '')
  } catch (cause) {
    throw new InvalidOnionMultiaddrError('peer-id', 'the /p2p/ part is not a valid peer id', { cause })
  }
  if (peerId.type !== 'Ed25519') {
    throw new InvalidOnionMultiaddrError('peer-id', `Burrow peers have Ed25519 peer ids, this one is ${peerId.type}`)
  }
  return peerId.toString()
}
