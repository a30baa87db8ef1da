import type { TorError } from '../../src/tor/errors.js'
import { inspect } from 'node:util'
import { x25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import {
  clientAuthKeyPairFromSeed,
  clientAuthPrivateKeyBase64,
  clientAuthPublicKeyBase32,
  expandOnionSeed,
  onionAddressFromSeed,
  onionServiceKeyBlob,
  parseClientAuthPublicKey,
} from '../../src/tor/onion-keys.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/**
 * Recorded from tor 0.4.9.11: `ADD_ONION <blob> Flags=Detach Port=80,127.0.0.1:9`
 * answered with exactly these ServiceIDs for these blobs.
 */
const TOR_VECTORS = [
  {
    seed: '00'.repeat(32),
    blob: 'ED25519-V3:UEatwduoOIZ7K7v90MNCPli1eXC1JnqQ9XlgkkqH8VYKaoXqpkLayDVCS118jWN8AECMenPaZyt/SYUhQgtt0w==',
    address: 'hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iu63yid.onion',
  },
  {
    seed: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    blob: 'ED25519-V3:OJTupJxYCu+BaTV2K+BJVZ1tFEDe3hLmoSXxhB//jm+p1xhio+V0a1cb49GHsAQQRvUuvYUMfL1f3o7jhHO2SQ==',
    address: 'aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion',
  },
  {
    seed: 'fff8f1eae3dcd5cec7c0b9b2aba49d968f88817a736c655e575049423b342d26',
    blob: 'ED25519-V3:KIOdtk/1Q/DBT5EtLKnrYuTQEc5A+jh4NvFGKGx8MmpXCHnb0dJu0n1iMcQVXyfw5/6lJCOLbt2vFcrNUq5/4Q==',
    address: 'nzygt3mdlgyt2glvjcsmn5iho3ksh47yemrpd4wkc5d3vecwxwe3lnyd.onion',
  },
] as const

/**
 * Client-auth vector: tor 0.4.9.11 accepted this public key in `ClientAuthV3=`
 * (upper and lower case) and stored this private key from
 * `ONION_CLIENT_AUTH_ADD … x25519:<base64>`, echoing it in ONION_CLIENT_AUTH_VIEW.
 */
const CLIENT_AUTH_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 100)
const CLIENT_AUTH_PUBLIC = 'PWOCIMLFHGBFYGEW4V7SQGLXIZ4TZZQMX3R22R62TUD3QX5FLYVA'
const CLIENT_AUTH_PRIVATE = 'YGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgkM='

describe('expandOnionSeed', () => {
  it('is SHA-512 of the seed with the scalar half clamped', () => {
    for (const { seed } of TOR_VECTORS) {
      const h = sha512(hex(seed))
      const expanded = expandOnionSeed(hex(seed))
      expect(expanded).toHaveLength(64)
      expect(expanded[0]).toBe((h[0] ?? 0) & 248)
      expect(expanded[31]).toBe(((h[31] ?? 0) & 127) | 64)
      expect(expanded.slice(1, 31)).toEqual(h.slice(1, 31))
      expect(expanded.slice(32)).toEqual(h.slice(32))
    }
  })

  it('clamps even a seed whose hash needs every bit changed', () => {
    // Search a seed whose hash has the low 3 bits set and the top bit set, so clamping must act.
    const needsClamping = (h: Uint8Array): boolean => ((h[0] ?? 0) & 7) === 7 && ((h[31] ?? 0) & 0xc0) === 0x80
    const seed = Array.from({ length: 1000 }, (_, i) => Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j) & 0xff))
      .find((candidate) => needsClamping(sha512(candidate)))
    if (seed === undefined) throw new Error('no test seed found')
    const expanded = expandOnionSeed(seed)
    expect((expanded[0] ?? 0) & 7).toBe(0)
    expect((expanded[31] ?? 0) & 0xc0).toBe(0x40)
  })

  it('refuses seeds that are not 32 bytes', () => {
    expect(() => expandOnionSeed(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
    expect(() => expandOnionSeed(new Uint8Array(64))).toThrow(/32 bytes, got 64 bytes/)
  })
})

describe('onionServiceKeyBlob and onionAddressFromSeed', () => {
  it.each(TOR_VECTORS)('match what tor accepted and reported for $address', ({ seed, blob, address }) => {
    expect(onionServiceKeyBlob(hex(seed))).toBe(blob)
    expect(onionAddressFromSeed(hex(seed))).toBe(address)
  })

  it('formats the blob as ED25519-V3: plus 88 base64 characters of the expanded key', () => {
    const seed = hex(TOR_VECTORS[1].seed)
    const blob = onionServiceKeyBlob(seed)
    expect(blob).toMatch(/^ED25519-V3:[A-Za-z0-9+/]{86}==$/)
    expect(blob.length - 'ED25519-V3:'.length).toBe(88)
    expect(Buffer.from(blob.slice('ED25519-V3:'.length), 'base64')).toEqual(Buffer.from(expandOnionSeed(seed)))
  })

  it('does not modify the seed', () => {
    const seed = hex(TOR_VECTORS[2].seed)
    onionServiceKeyBlob(seed)
    onionAddressFromSeed(seed)
    expect(Buffer.from(seed).toString('hex')).toBe(TOR_VECTORS[2].seed)
  })

  it('refuses seeds that are not 32 bytes', () => {
    expect(() => onionServiceKeyBlob(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
    expect(() => onionAddressFromSeed(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
  })
})

describe('client authorization keys', () => {
  it('derives the recorded key pair and encodes it the way tor accepted it', () => {
    const pair = clientAuthKeyPairFromSeed(CLIENT_AUTH_SEED)
    expect(clientAuthPublicKeyBase32(pair.publicKey)).toBe(CLIENT_AUTH_PUBLIC)
    expect(clientAuthPrivateKeyBase64(pair.privateKey)).toBe(CLIENT_AUTH_PRIVATE)
    expect(x25519.getPublicKey(pair.privateKey)).toEqual(pair.publicKey)
  })

  it('clamps the private key (RFC 7748) without changing the public key', () => {
    const seed = new Uint8Array(32).fill(0xff)
    const pair = clientAuthKeyPairFromSeed(seed)
    expect(pair.privateKey[0]).toBe(0xf8)
    expect(pair.privateKey[31]).toBe(0x7f)
    expect(pair.publicKey).toEqual(x25519.getPublicKey(seed))
    expect(seed[0]).toBe(0xff)
  })

  it('never prints or serialises the private key', () => {
    const pair = clientAuthKeyPairFromSeed(CLIENT_AUTH_SEED)
    const privateB64 = clientAuthPrivateKeyBase64(pair.privateKey)
    const privateHex = Buffer.from(pair.privateKey).toString('hex')
    for (const text of [JSON.stringify(pair), inspect(pair), inspect({ nested: pair }, { depth: 5 })]) {
      expect(text).toContain(CLIENT_AUTH_PUBLIC)
      expect(text).toContain('[redacted]')
      expect(text).not.toContain(privateB64)
      expect(text).not.toContain(privateHex)
      expect(text).not.toMatch(/\b96, 101\b/)
    }
  })

  it('round-trips the base32 public key in either letter case', () => {
    for (let i = 0; i < 20; i++) {
      const pub = clientAuthKeyPairFromSeed(Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j * 13) & 0xff)).publicKey
      const encoded = clientAuthPublicKeyBase32(pub)
      expect(encoded).toMatch(/^[A-Z2-7]{52}$/)
      expect(parseClientAuthPublicKey(encoded)).toEqual(pub)
      expect(parseClientAuthPublicKey(encoded.toLowerCase())).toEqual(pub)
    }
  })

  it.each([
    ['empty', ''],
    ['51 characters', CLIENT_AUTH_PUBLIC.slice(0, 51)],
    ['53 characters', `${CLIENT_AUTH_PUBLIC}A`],
    ['padded', `${CLIENT_AUTH_PUBLIC}====`],
    ['non-base32 digit', `${CLIENT_AUTH_PUBLIC.slice(0, 51)}1`],
    ['whitespace', ` ${CLIENT_AUTH_PUBLIC.slice(1)}`],
    ['non-zero trailing bits', `${CLIENT_AUTH_PUBLIC.slice(0, 51)}B`],
    ['descriptor prefix', `descriptor:x25519:${CLIENT_AUTH_PUBLIC}`],
  ])('rejects a public key that is %s', (_, input) => {
    expect(() => parseClientAuthPublicKey(input)).toThrow(expect.objectContaining({ code: 'INVALID_CLIENT_AUTH_KEY' }))
    try {
      parseClientAuthPublicKey(input)
    } catch (err) {
      expect((err as TorError).code).toBe('INVALID_CLIENT_AUTH_KEY')
    }
  })

  it('refuses keys and seeds of the wrong size', () => {
    expect(() => clientAuthKeyPairFromSeed(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
    expect(() => clientAuthPublicKeyBase32(new Uint8Array(33))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
    expect(() => clientAuthPrivateKeyBase64(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'INVALID_ONION_KEY' }))
  })
})
