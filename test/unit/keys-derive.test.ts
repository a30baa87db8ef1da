import { createHash, createPrivateKey, createPublicKey, hkdfSync, verify } from 'node:crypto'
import { Writable } from 'node:stream'
import { inspect } from 'node:util'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { DERIVATION_LABELS, deriveDatabaseKey, deriveNodeKeys, generateMasterSeed, identityFingerprint, MASTER_SEED_LENGTH } from '../../src/keys/index.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const KAT_SEED = Uint8Array.from({ length: 32 }, (_, i) => i)

// Recorded from deriveNodeKeys(00..1f) and cross-checked below with node:crypto only.
const KAT = {
  identityPublicKey: 'f93471159c0427d3ce5371ca440c51ddf2f426fe753d08e9cd2f232df571af5b',
  onionAddress: 'vtalwycbctflzjzolmn7izgdzx3bvsh376b2ufv3qpqmk4vaoafjz7ad.onion',
  clientAuthPublicKey: '24e9025bc13bc8f0f28c6b9e833e67f82dcaf44b7e5c133b5fa61d237724e07f',
}

/** HKDF-SHA256 by node:crypto, independent of @noble/hashes. */
function nodeHkdf(masterSeed: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterSeed, new Uint8Array(0), label, 32))
}

/** Raw public key of a 32-byte Ed25519 or X25519 private key, computed by OpenSSL via node:crypto. */
function nodePublicKey(kind: 'ed25519' | 'x25519', seed: Uint8Array): Uint8Array {
  const oid = kind === 'ed25519' ? '70' : '6e'
  const der = Buffer.concat([Buffer.from(`302e020100300506032b65${oid}04220420`, 'hex'), seed])
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(-32))
}

/** rend-spec v3 onion address, with node's SHA3 and a hand-written base32. */
function nodeOnionAddress(pub: Uint8Array): string {
  const checksum = createHash('sha3-256').update('.onion checksum').update(pub).update(Uint8Array.of(3)).digest()
  const raw = Buffer.concat([pub, checksum.subarray(0, 2), Uint8Array.of(3)])
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = ''
  for (const byte of raw) bits += byte.toString(2).padStart(8, '0')
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)]
  return `${out}.onion`
}

describe('generateMasterSeed', () => {
  it('returns 32 fresh random bytes each time', () => {
    const a = generateMasterSeed()
    const b = generateMasterSeed()
    expect(a).toBeInstanceOf(Uint8Array)
    expect(a.length).toBe(MASTER_SEED_LENGTH)
    expect(hex(a)).not.toBe(hex(b))
  })
})

describe('deriveNodeKeys', () => {
  it('matches the known-answer vector for master seed 00..1f', () => {
    const keys = deriveNodeKeys(KAT_SEED)
    expect(hex(keys.identity.publicKey)).toBe(KAT.identityPublicKey)
    expect(keys.onionAddress).toBe(KAT.onionAddress)
    expect(hex(keys.clientAuth.publicKey)).toBe(KAT.clientAuthPublicKey)
  })

  it('agrees with an independent node:crypto implementation (HKDF, Ed25519, X25519, onion address)', () => {
    const keys = deriveNodeKeys(KAT_SEED)
    const identitySeed = nodeHkdf(KAT_SEED, 'burrow/v1/identity-ed25519')
    const onionSeed = nodeHkdf(KAT_SEED, 'burrow/v1/onion-service-ed25519')
    const clientAuthSeed = nodeHkdf(KAT_SEED, 'burrow/v1/onion-client-auth-x25519')
    expect(hex(keys.identity.seed)).toBe(hex(identitySeed))
    expect(hex(keys.onionServiceSeed)).toBe(hex(onionSeed))
    expect(hex(nodePublicKey('ed25519', identitySeed))).toBe(KAT.identityPublicKey)
    expect(nodeOnionAddress(nodePublicKey('ed25519', onionSeed))).toBe(KAT.onionAddress)
    expect(hex(nodePublicKey('x25519', clientAuthSeed))).toBe(KAT.clientAuthPublicKey)
    // The private half is the clamped seed: same public key.
    expect(hex(nodePublicKey('x25519', keys.clientAuth.privateKey))).toBe(KAT.clientAuthPublicKey)
  })

  it('uses the documented labels', () => {
    expect(DERIVATION_LABELS).toEqual({
      identity: 'burrow/v1/identity-ed25519',
      onionService: 'burrow/v1/onion-service-ed25519',
      onionClientAuth: 'burrow/v1/onion-client-auth-x25519',
      database: 'burrow/v1/database-key',
    })
  })

  it('derives the database key from the seed and the keystore salt (HKDF info = label ‖ salt), as node:crypto does', () => {
    const salt = new Uint8Array(16).fill(0x5a)
    const key = deriveDatabaseKey(KAT_SEED, salt)
    const expected = hkdfSync('sha256', KAT_SEED, new Uint8Array(0), Buffer.concat([Buffer.from('burrow/v1/database-key'), salt]), 32)
    expect(hex(key)).toBe(hex(new Uint8Array(expected)))
    // Another salt (a new passphrase) gives another key; no other subkey equals it.
    expect(hex(deriveDatabaseKey(KAT_SEED, new Uint8Array(16)))).not.toBe(hex(key))
    const keys = deriveNodeKeys(KAT_SEED)
    expect([keys.identity.seed, keys.onionServiceSeed, keys.clientAuth.privateKey].map(hex)).not.toContain(hex(key))
  })

  it('is deterministic and its subkeys are independent of each other and of the master seed', () => {
    const seed = generateMasterSeed()
    const a = deriveNodeKeys(seed)
    const b = deriveNodeKeys(seed)
    expect(hex(a.identity.publicKey)).toBe(hex(b.identity.publicKey))
    expect(a.onionAddress).toBe(b.onionAddress)
    expect(hex(a.clientAuth.privateKey)).toBe(hex(b.clientAuth.privateKey))
    const secrets = [seed, a.identity.seed, a.onionServiceSeed, a.clientAuth.privateKey].map(hex)
    expect(new Set(secrets).size).toBe(secrets.length)
    // The identity and onion keys are both Ed25519: they must not coincide.
    expect(a.onionAddress).not.toBe(nodeOnionAddress(a.identity.publicKey))
  })

  it('changes every key when one bit of the master seed changes', () => {
    const seed = generateMasterSeed()
    const flipped = seed.slice()
    flipped[31] = (flipped[31] ?? 0) ^ 1
    const a = deriveNodeKeys(seed)
    const b = deriveNodeKeys(flipped)
    expect(hex(a.identity.publicKey)).not.toBe(hex(b.identity.publicKey))
    expect(a.onionAddress).not.toBe(b.onionAddress)
    expect(hex(a.clientAuth.publicKey)).not.toBe(hex(b.clientAuth.publicKey))
  })

  it('does not keep a reference to the caller\'s master seed buffer', () => {
    const seed = generateMasterSeed()
    const keys = deriveNodeKeys(seed)
    const before = hex(keys.identity.publicKey)
    const signature = keys.sign(new TextEncoder().encode('x'))
    seed.fill(0)
    expect(hex(keys.identity.publicKey)).toBe(before)
    expect(hex(keys.sign(new TextEncoder().encode('x')))).toBe(hex(signature))
  })

  it('signs with the identity key (verifiable by node:crypto)', () => {
    const keys = deriveNodeKeys(KAT_SEED)
    const message = new TextEncoder().encode('hello burrow')
    const signature = keys.sign(message)
    expect(signature.length).toBe(64)
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), keys.identity.publicKey])
    const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' })
    expect(verify(null, message, publicKey, signature)).toBe(true)
    expect(verify(null, new TextEncoder().encode('hello burrow!'), publicKey, signature)).toBe(false)
  })

  it('rejects a master seed that is not 32 bytes', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
      expect(() => deriveNodeKeys(bad)).toThrow(expect.objectContaining({ code: 'INVALID_MASTER_SEED' }))
      expect(() => deriveNodeKeys(bad)).toThrow(expect.objectContaining({ code: 'INVALID_MASTER_SEED' }))
    }
  })
})

describe('NodeKeys printing', () => {
  const seed = generateMasterSeed()
  const keys = deriveNodeKeys(seed)
  const secrets = [seed, keys.identity.seed, keys.onionServiceSeed, keys.clientAuth.privateKey]
  const encodings = secrets.flatMap((s) => {
    const b = Buffer.from(s)
    return [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('base64').replace(/=+$/, ''), b.toString('hex').toUpperCase()]
  })
  // A printed Uint8Array shows its bytes as decimals; catch that too.
  const decimalRuns = secrets.map((s) => Array.from(s.subarray(0, 6)).join(', '))

  function expectNoSecret(text: string): void {
    for (const e of [...encodings, ...decimalRuns]) expect(text).not.toContain(e)
  }

  it('JSON.stringify, util.inspect and template strings show a placeholder', () => {
    const outputs = [
      JSON.stringify(keys),
      JSON.stringify({ nested: { keys } }),
      JSON.stringify(keys.identity),
      JSON.stringify(keys.clientAuth),
      inspect(keys),
      inspect(keys, { showHidden: true, depth: Infinity }),
      inspect({ nested: keys }),
      inspect(keys.identity, { showHidden: true, depth: Infinity }),
      inspect(keys.clientAuth, { showHidden: true, depth: Infinity }),
      `${keys}`,
      String(keys.identity),
    ]
    for (const text of outputs) expectNoSecret(text)
    expect(JSON.stringify(keys)).toBe(`"[NodeKeys ${identityFingerprint(keys.identity.publicKey)}]"`)
    expect(inspect(keys)).toMatch(/^\[NodeKeys [0-9a-f ]+\]$/)
  })

  it('a pino log record of the keys holds no secret', () => {
    let written = ''
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString()
        done()
      },
    })
    const log = pino({ level: 'info' }, sink)
    log.info({ keys, identity: keys.identity, ck: keys.clientAuth }, 'loaded keys')
    log.info(`keys are ${keys}`)
    log.flush()
    expect(written).toContain('loaded keys')
    expectNoSecret(written)
  })

  it('the objects are frozen and expose only data fields when spread', () => {
    expect(Object.isFrozen(keys)).toBe(true)
    expect(Object.isFrozen(keys.identity)).toBe(true)
    expect(Object.keys(keys).sort()).toEqual(['clientAuth', 'identity', 'onionAddress', 'onionServiceSeed', 'sign'])
  })
})

describe('identityFingerprint', () => {
  it('is the first 10 bytes of the key in groups of four hex digits', () => {
    expect(identityFingerprint(deriveNodeKeys(KAT_SEED).identity.publicKey)).toBe('f934 7115 9c04 27d3 ce53')
  })
})
