import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Logger } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  InvalidOnionMultiaddrError,
  OnionDialError,
  OnionTransport,
  UNATTRIBUTED_INBOUND_ADDR,
  findOnionDialError,
  isOnionMultiaddr,
  unixListenMultiaddr,
  unixListenPath,
  onionMultiaddr,
  parseOnionMultiaddr,
  peerIdFromIdentitySeed,
  type InvalidOnionMultiaddrReason,
} from '../../src/net/index.js'
import { serviceIdOf } from '../../src/tor/onion-address.js'
import { onionAddressFromSeed } from '../../src/tor/onion-keys.js'
import { networkProtocolsOf } from '../helpers/multiaddr.js'

const onion = onionAddressFromSeed(randomBytes(32))
const serviceId = serviceIdOf(onion)
const peerId = (await peerIdFromIdentitySeed(randomBytes(32))).toString()

function reasonOf(input: string): InvalidOnionMultiaddrReason | 'accepted' {
  try {
    parseOnionMultiaddr(input)
    return 'accepted'
  } catch (err) {
    if (err instanceof InvalidOnionMultiaddrError) return err.reason
    throw err
  }
}

/** Changes one base32 character, keeping the alphabet. */
function typo(id: string, index: number): string {
  const c = id[index] === 'a' ? 'b' : 'a'
  return id.slice(0, index) + c + id.slice(index + 1)
}

describe('onion multiaddrs', () => {
  it('builds and parses /onion3/<id>:<port>[/p2p/<peer>] round trip', () => {
    const bare = onionMultiaddr(onion, 80)
    expect(bare.toString()).toBe(`/onion3/${serviceId}:80`)
    expect(parseOnionMultiaddr(bare)).toEqual({ address: onion, port: 80 })
    const full = onionMultiaddr(onion, 65535, peerId)
    expect(parseOnionMultiaddr(full.toString())).toEqual({ address: onion, port: 65535, peerId })
  })

  it('accepts upper-case base32 and returns the canonical address', () => {
    expect(parseOnionMultiaddr(`/onion3/${serviceId.toUpperCase()}:1`).address).toBe(onion)
  })

  it('checks the onion checksum, version and key, which multiaddr 13 skips', () => {
    for (const index of [0, 20, 52, 53, 55]) {
      const bad = `/onion3/${typo(serviceId, index)}:80`
      expect(() => multiaddr(bad)).not.toThrow()
      expect(reasonOf(bad)).toBe('onion-address')
    }
    expect(reasonOf(`/onion3/${'a'.repeat(56)}:80`)).toBe('onion-address')
  })

  it('checks the port range and form', () => {
    for (const port of ['0', '65536', '70000', '080', '00001']) expect(reasonOf(`/onion3/${serviceId}:${port}`)).toBe('port')
    for (const port of ['', '-1', '1.5', '0x50']) expect(reasonOf(`/onion3/${serviceId}:${port}`)).toBe('format')
    expect(reasonOf(`/onion3/${serviceId}`)).toBe('format')
    expect(reasonOf(`/onion3/${serviceId}:1`)).toBe('accepted')
  })

  it('refuses extra or other components', () => {
    expect(reasonOf(`/onion3/${serviceId}:80/tcp/5`)).toBe('components')
    expect(reasonOf(`/onion3/${serviceId}:80/p2p/${peerId}/p2p-circuit`)).toBe('components')
    expect(reasonOf(`/p2p/${peerId}/onion3/${serviceId}:80`)).toBe('components')
    expect(reasonOf(`/ip4/127.0.0.1/tcp/80/p2p/${peerId}`)).toBe('components')
    expect(reasonOf('/dns4/example.com/tcp/443')).toBe('components')
    expect(reasonOf('/onion/aaaaaaaaaaaaaaaa:80')).toBe('components')
    expect(reasonOf('not a multiaddr')).toBe('components')
  })

  it('accepts only Ed25519 peer ids in /p2p/', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    expect(reasonOf(`/onion3/${serviceId}:80/p2p/${secp}`)).toBe('peer-id')
  })

  it('never lets the inbound placeholder address parse, so it can never be dialed or stored', () => {
    expect(isOnionMultiaddr(UNATTRIBUTED_INBOUND_ADDR)).toBe(false)
    expect(networkProtocolsOf(UNATTRIBUTED_INBOUND_ADDR)).toEqual([])
  })

  it('finds the listen path only in /unix/<absolute path>, never in a TCP address', () => {
    expect(unixListenPath(unixListenMultiaddr('/tmp/x/onion.sock'))).toBe('/tmp/x/onion.sock')
    expect(unixListenPath(unixListenMultiaddr('/tmp/a#b c/onion.sock'))).toBe('/tmp/a#b c/onion.sock')
    const others = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001', '/dns4/localhost/tcp/4001', `/unix/${encodeURIComponent('relative.sock')}`]
    for (const other of others) expect(unixListenPath(multiaddr(other))).toBeUndefined()
    expect(unixListenPath(multiaddr(`${unixListenMultiaddr('/tmp/x.sock').toString()}/p2p/${peerId}`))).toBeUndefined()
  })
})

describe('the transport filters', () => {
  const quiet: Logger = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => quiet })
  const transport = new OnionTransport({ logger: { forComponent: () => quiet } }, { socks: () => ({ host: '127.0.0.1', port: 9 }), onionAddress: onion, virtualPort: 80 })

  it('dials only valid onion3 multiaddrs', () => {
    const good = [onionMultiaddr(onion, 80), onionMultiaddr(onion, 80, peerId)]
    const bad = [
      `/ip4/127.0.0.1/tcp/80/p2p/${peerId}`,
      `/ip6/::1/tcp/80`,
      '/dns/example.com/tcp/80',
      '/dnsaddr/example.com',
      `/tcp/80`,
      `/onion3/${typo(serviceId, 3)}:80`,
      `/onion3/${serviceId}:0`,
      UNATTRIBUTED_INBOUND_ADDR.toString(),
    ].map((s) => multiaddr(s))
    expect(transport.dialFilter([...good, ...bad])).toEqual(good)
  })

  it('listens only on a unix socket, never on a TCP port', () => {
    const good = unixListenMultiaddr('/tmp/x/onion.sock')
    const bad = ['/ip4/127.0.0.1/tcp/0', '/ip4/0.0.0.0/tcp/0', '/ip6/::/tcp/0', onionMultiaddr(onion, 80).toString()].map((s) => multiaddr(s))
    expect(transport.listenFilter([good, ...bad])).toEqual([good])
  })
})

describe('findOnionDialError', () => {
  const failure = new OnionDialError('onion-descriptor-not-found', true, 'not found')

  it('finds the failure directly, in AggregateErrors and through causes', () => {
    expect(findOnionDialError(failure)).toBe(failure)
    expect(findOnionDialError(new AggregateError([new Error('other'), failure]))).toBe(failure)
    expect(findOnionDialError(new Error('outer', { cause: new AggregateError([new Error('x', { cause: failure })]) }))).toBe(failure)
  })

  it('returns undefined when there is none, also for cycles and non-errors', () => {
    const looped = new Error('loop')
    ;(looped as { cause?: unknown }).cause = looped
    expect(findOnionDialError(looped)).toBeUndefined()
    expect(findOnionDialError('text')).toBeUndefined()
    expect(findOnionDialError(undefined)).toBeUndefined()
  })
})
