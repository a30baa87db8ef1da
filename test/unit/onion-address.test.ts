import { sha3_256 } from '@noble/hashes/sha3.js'
import { base32nopad } from '@scure/base'
import { describe, expect, it } from 'vitest'
import {
  InvalidOnionAddressError,
  isOnionAddress,
  onionAddressFromPublicKey,
  parseOnionAddress,
  publicKeyFromOnionAddress,
  serviceIdOf,
  type InvalidOnionAddressReason,
  type OnionAddress,
} from '../../src/tor/onion-address.js'

/**
 * Public key → address pairs confirmed against tor 0.4.9.11: the ServiceID
 * `ADD_ONION ED25519-V3:<expanded key>` returned for the Ed25519 seeds
 * 00×32, 00..1f and fff8f1…2d26 (the seeds themselves are in onion-keys.test.ts).
 */
const TOR_VECTORS = [
  { publicKey: '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29', address: 'hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iu63yid.onion' },
  { publicKey: '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8', address: 'aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion' },
  { publicKey: '6e7069ed8359b13d197548a4c6f50776d523f3f82322f1f2ca1747ba9056bd89', address: 'nzygt3mdlgyt2glvjcsmn5iho3ksh47yemrpd4wkc5d3vecwxwe3lnyd.onion' },
] as const

/** The example addresses in rend-spec [ONIONADDRESS]. */
const SPEC_EXAMPLES = [
  'pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion',
  'sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion',
  'xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd.onion',
]

const VALID = TOR_VECTORS[0].address
const VALID_ID = VALID.slice(0, 56)
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/** Encodes key ‖ checksum ‖ version with a correct checksum for that version, to test rules beyond the checksum. */
function encodeRaw(publicKey: Uint8Array, version: number): string {
  const prefix = new TextEncoder().encode('.onion checksum')
  const checksum = sha3_256(Uint8Array.from([...prefix, ...publicKey, version])).slice(0, 2)
  return `${base32nopad.encode(Uint8Array.from([...publicKey, ...checksum, version])).toLowerCase()}.onion`
}

function reasonOf(input: string): InvalidOnionAddressReason | 'accepted' {
  try {
    parseOnionAddress(input)
    return 'accepted'
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOnionAddressError)
    expect((err as InvalidOnionAddressError).code).toBe('INVALID_ONION_ADDRESS')
    return (err as InvalidOnionAddressError).reason
  }
}

describe('onionAddressFromPublicKey', () => {
  it.each(TOR_VECTORS)('matches the address tor reports for $address', ({ publicKey, address }) => {
    expect(onionAddressFromPublicKey(hex(publicKey))).toBe(address)
  })

  it('round-trips through publicKeyFromOnionAddress', () => {
    for (const { publicKey, address } of TOR_VECTORS) {
      expect(Buffer.from(publicKeyFromOnionAddress(address as OnionAddress)).toString('hex')).toBe(publicKey)
    }
  })

  it('refuses keys that are not 32 bytes', () => {
    expect(() => onionAddressFromPublicKey(new Uint8Array(31))).toThrow(InvalidOnionAddressError)
    expect(() => onionAddressFromPublicKey(new Uint8Array(33))).toThrow(InvalidOnionAddressError)
  })

  it('refuses the identity point, which tor also rejects', () => {
    const identity = new Uint8Array(32)
    identity[0] = 1
    expect(() => onionAddressFromPublicKey(identity)).toThrow(/valid Ed25519 public key/)
  })
})

describe('parseOnionAddress', () => {
  it.each([...TOR_VECTORS.map((v) => v.address), ...SPEC_EXAMPLES])('accepts %s', (address) => {
    expect(parseOnionAddress(address)).toBe(address)
    expect(isOnionAddress(address)).toBe(true)
  })

  it('makes the .onion suffix optional and normalises to lower case', () => {
    expect(parseOnionAddress(VALID_ID)).toBe(VALID)
    expect(parseOnionAddress(VALID.toUpperCase())).toBe(VALID)
    expect(parseOnionAddress(VALID_ID.toUpperCase())).toBe(VALID)
    expect(parseOnionAddress(`${VALID_ID}.ONION`)).toBe(VALID)
  })

  it('gives the service id tor uses on its control port', () => {
    expect(serviceIdOf(parseOnionAddress(VALID))).toBe(VALID_ID)
  })

  it('rejects a changed character anywhere (checksum, version or key)', () => {
    for (let i = 0; i < VALID_ID.length; i++) {
      const original = VALID_ID[i] ?? ''
      const replacement = BASE32[(BASE32.indexOf(original) + 1) % BASE32.length] ?? ''
      const mutated = `${VALID_ID.slice(0, i)}${replacement}${VALID_ID.slice(i + 1)}.onion`
      expect(reasonOf(mutated), `position ${i}`).not.toBe('accepted')
      expect(isOnionAddress(mutated)).toBe(false)
    }
    // A change inside the key part is caught by the checksum in particular.
    expect(reasonOf(`b${VALID.slice(1)}`)).toBe('checksum')
  })

  it('rejects version bytes other than 3 even with a matching checksum', () => {
    const key = hex(TOR_VECTORS[0].publicKey)
    expect(reasonOf(encodeRaw(key, 2))).toBe('version')
    expect(reasonOf(encodeRaw(key, 4))).toBe('version')
    expect(reasonOf(encodeRaw(key, 3))).toBe('accepted')
  })

  it('rejects keys tor answers with SOCKS 0xF6 (torsion component, small order) despite a valid checksum', () => {
    // Each of these was dialed through tor 0.4.9.11 with ExtendedErrors and got reply 0xF6.
    expect(reasonOf('nicpu6wpbe2mxcvtj66lidd7lcyqt67ohcorq3moel3ql2d55c7hh6yd.onion')).toBe('public-key')
    expect(reasonOf('aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion')).toBe('public-key')
    expect(reasonOf('y4lwu4b5jxme7or4bn3a2edhb4vcau72fq44zrsoy76xpevman5hhfqd.onion')).toBe('public-key')
  })

  it.each<[string, InvalidOnionAddressReason]>([
    ['', 'empty'],
    ['expyuzz4wqqyqhjn.onion', 'v2'],
    ['expyuzz4wqqyqhjn', 'v2'],
    [VALID_ID.slice(0, 55), 'length'],
    [`${VALID_ID}a`, 'length'],
    [`${VALID_ID}.onion.onion`, 'subdomain'],
    [`www.${VALID}`, 'subdomain'],
    [`${VALID} `, 'whitespace'],
    [` ${VALID}`, 'whitespace'],
    [`${VALID_ID.slice(0, 20)}\n${VALID_ID.slice(20)}`, 'whitespace'],
    [`${VALID_ID.slice(0, 55)}1`, 'alphabet'],
    [`${VALID_ID.slice(0, 55)}=`, 'alphabet'],
    [`${VALID_ID.slice(0, 55)}é`, 'alphabet'],
    ['example.com', 'not-onion'],
    ['127.0.0.1', 'not-onion'],
    ['::1', 'not-onion'],
    [`${VALID}:80`, 'not-onion'],
    ['.onion', 'length'],
  ])('rejects %j (%s)', (input, reason) => {
    expect(reasonOf(input)).toBe(reason)
    expect(isOnionAddress(input)).toBe(false)
  })

  it('quotes short printable input in the message, truncated to 80 characters', () => {
    expect(() => parseOnionAddress('example.com')).toThrow('"example.com"')
    const long = 'a'.repeat(200)
    const message = (() => {
      try {
        parseOnionAddress(long)
      } catch (err) {
        return (err as Error).message
      }
      return ''
    })()
    expect(message).toContain(`"${'a'.repeat(80)}…"`)
    expect(message).not.toContain('a'.repeat(81))
  })

  it('does not quote input with control characters', () => {
    expect(() => parseOnionAddress('bad\u0007addr.com')).toThrow(/^not an onion address[^"]*$/)
  })
})
