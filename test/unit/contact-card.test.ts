import { ed25519 } from '@noble/curves/ed25519.js'
import { decodeQR } from '@paulmillr/qr/decode.js'
import { bech32m } from '@scure/base'
import { describe, expect, it } from 'vitest'
import {
  contactCardQr,
  createContactCard,
  decodeContactCard,
  deriveNodeKeys,
  encodeContactCard,
  generateMasterSeed,
  type ContactCard,
  type NodeKeys,
} from '../../src/keys/index.js'
import { KeysError } from '../../src/keys/errors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const alice = deriveNodeKeys(generateMasterSeed())
const mallory = deriveNodeKeys(generateMasterSeed())
const BECH32_CHARS = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

// Version 1 layout, as documented in contact-card.ts.
const IDENTITY_AT = 1
const ONION_AT = 33
const CLIENT_AUTH_AT = 65
const NAME_LENGTH_AT = 97
const CONTEXT = new TextEncoder().encode('burrow/v1/contact-card')

function rejectionOf(text: unknown): KeysError {
  try {
    decodeContactCard(text as string)
  } catch (err) {
    if (err instanceof KeysError) return err
    throw new Error(`expected KeysError, got ${String(err)}`)
  }
  throw new Error(`card was accepted: ${String(text)}`)
}

function bodyOf(card: string): Uint8Array {
  return bech32m.fromWords(bech32m.decode(card as `${string}1${string}`, false).words)
}

function toText(body: Uint8Array, prefix = 'burrow'): string {
  return bech32m.encode(prefix, bech32m.toWords(body), false)
}

/** Re-signs the first `length - 64` bytes of `unsigned ‖ anything` with `signer`, as a forger with that key could. */
function signedBy(signer: NodeKeys, unsigned: Uint8Array): Uint8Array {
  const signature = signer.sign(new Uint8Array([...CONTEXT, ...unsigned]))
  return new Uint8Array([...unsigned, ...signature])
}

function expectSameCard(a: ContactCard, b: ContactCard): void {
  expect(b.version).toBe(1)
  expect(hex(b.identityKey)).toBe(hex(a.identityKey))
  expect(b.onionAddress).toBe(a.onionAddress)
  expect(hex(b.clientAuthKey)).toBe(hex(a.clientAuthKey))
  expect(b.displayName).toBe(a.displayName)
}

describe('contact card round trip', () => {
  it('without a name', () => {
    const card = createContactCard(alice)
    expect(card).not.toHaveProperty('displayName')
    const text = encodeContactCard(card, alice)
    expect(text).toMatch(/^burrow1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/)
    const decoded = decodeContactCard(text)
    expectSameCard(card, decoded)
    expect(decoded).not.toHaveProperty('displayName')
    expect(hex(decoded.identityKey)).toBe(hex(alice.identity.publicKey))
    expect(decoded.onionAddress).toBe(alice.onionAddress)
    expect(hex(decoded.clientAuthKey)).toBe(hex(alice.clientAuth.publicKey))
  })

  it('with ASCII and Unicode names, up to exactly 64 UTF-8 bytes', () => {
    const names = ['Alice', 'Ålice Ünïcødé', '爱丽丝 🦊', 'e\u0301 combining', 'a'.repeat(64), '🦊'.repeat(16), '\ufeffbom']
    for (const name of names) {
      const card = createContactCard(alice, name)
      const decoded = decodeContactCard(encodeContactCard(card, alice))
      expect(decoded.displayName).toBe(name)
      expectSameCard(card, decoded)
    }
  })

  it('accepts surrounding whitespace and an all-upper-case card', () => {
    const text = encodeContactCard(createContactCard(alice, 'Alice'), alice)
    expect(decodeContactCard(`  \n\t${text}\r\n `).displayName).toBe('Alice')
    expect(decodeContactCard(text.toUpperCase()).displayName).toBe('Alice')
  })

  it('is deterministic for the same keys and name', () => {
    const card = createContactCard(alice, 'Alice')
    expect(encodeContactCard(card, alice)).toBe(encodeContactCard(card, alice))
  })
})

describe('display names', () => {
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['65 bytes', 'a'.repeat(65)],
    ['65 bytes of multi-byte characters', 'é'.repeat(32) + 'a'],
    ['newline', 'Alice\nBob'],
    ['tab', 'Alice\tBob'],
    ['NUL', 'Alice\u0000'],
    ['DEL', 'Alice\u007f'],
    ['C1 control', 'Alice\u0085'],
    ['escape sequence', '\u001b[31mAlice'],
    ['right-to-left override', 'Alice\u202egpj.exe'],
    ['bidi isolate', '\u2067Alice'],
    ['line separator', 'Alice\u2028Bob'],
    ['lone surrogate', 'Alice\ud83d'],
  ]
  for (const [what, name] of bad) {
    it(`rejects a name with ${what}`, () => {
      expect(() => createContactCard(alice, name)).toThrow(expect.objectContaining({ code: 'INVALID_DISPLAY_NAME' }))
      expect(() => createContactCard(alice, name)).toThrow(expect.objectContaining({ code: 'INVALID_DISPLAY_NAME' }))
    })
  }

  it('rejects a bad name inside a validly signed card as INVALID_CONTACT_CARD', () => {
    const body = bodyOf(encodeContactCard(createContactCard(alice), alice))
    const name = new TextEncoder().encode('Al\nice')
    const unsigned = new Uint8Array([...body.subarray(0, NAME_LENGTH_AT), name.length, ...name])
    const err = rejectionOf(toText(signedBy(alice, unsigned)))
    expect(err.message).toMatch(/display name/)
    const invalidUtf8 = new Uint8Array([...body.subarray(0, NAME_LENGTH_AT), 2, 0xc3, 0x28])
    expect(rejectionOf(toText(signedBy(alice, invalidUtf8))).message).toMatch(/UTF-8/)
  })
})

describe('contact card corruption', () => {
  const text = encodeContactCard(createContactCard(alice, 'Alice'), alice)
  const alphabet = `${BECH32_CHARS}1`

  it('rejects every single-character substitution', () => {
    let tried = 0
    for (let i = 0; i < text.length; i++) {
      for (const c of alphabet) {
        if (c === text[i]) continue
        rejectionOf(text.slice(0, i) + c + text.slice(i + 1))
        tried++
      }
      // One upper-case letter makes the card mixed-case, which bech32 forbids.
      const upper = text[i]?.toUpperCase()
      if (upper !== text[i]) rejectionOf(text.slice(0, i) + upper + text.slice(i + 1))
    }
    expect(tried).toBeGreaterThan(text.length * 30)
  })

  it('rejects every single-character deletion', () => {
    for (let i = 0; i < text.length; i++) rejectionOf(text.slice(0, i) + text.slice(i + 1))
  })

  it('rejects every single-character insertion', () => {
    for (let i = 0; i <= text.length; i++) {
      for (const c of alphabet) rejectionOf(text.slice(0, i) + c + text.slice(i))
    }
  })

  it('rejects non-card input with INVALID_CONTACT_CARD only', () => {
    const inputs: unknown[] = ['', '   ', 'hello', 'burrow1', 'burrow1qqqqqq', text + text, 'x'.repeat(100_000), 42, null, undefined, {}]
    for (const input of inputs) expect(rejectionOf(input).code).toBe('INVALID_CONTACT_CARD')
  })

  it('rejects a valid bech32m string with another prefix', () => {
    expect(rejectionOf(toText(bodyOf(text), 'bitcoin')).message).toMatch(/prefix/)
  })

  it('rejects an unknown version', () => {
    const body = bodyOf(text)
    body[0] = 2
    expect(rejectionOf(toText(body)).message).toMatch(/version 2/)
  })
})

describe('contact card signature', () => {
  const card = createContactCard(alice, 'Alice')
  const body = bodyOf(encodeContactCard(card, alice))
  const unsigned = body.subarray(0, body.length - 64)

  it('rejects a card whose onion or client-auth key was swapped for another node\'s', () => {
    for (const [at, key] of [
      [ONION_AT, bodyOf(encodeContactCard(createContactCard(mallory), mallory)).subarray(ONION_AT, ONION_AT + 32)],
      [CLIENT_AUTH_AT, mallory.clientAuth.publicKey],
    ] as const) {
      const spliced = body.slice()
      spliced.set(key, at)
      expect(rejectionOf(toText(spliced)).message).toMatch(/signature/)
    }
  })

  it('rejects a card signed by another identity', () => {
    expect(rejectionOf(toText(signedBy(mallory, unsigned))).message).toMatch(/signature/)
  })

  it('rejects a card claiming another identity key but signed by the forger', () => {
    const claimed = unsigned.slice()
    claimed.set(mallory.identity.publicKey, IDENTITY_AT)
    expect(rejectionOf(toText(signedBy(alice, claimed))).message).toMatch(/signature/)
  })

  it('rejects a changed name', () => {
    const renamed = body.slice()
    renamed[NAME_LENGTH_AT + 1] = 'B'.charCodeAt(0)
    expect(rejectionOf(toText(renamed)).message).toMatch(/signature/)
  })

  it('rejects a small-order identity key, for which any signature would verify', () => {
    const forged = unsigned.slice()
    forged.set(ed25519.Point.ZERO.toBytes(), IDENTITY_AT)
    // R = identity point, S = 0: valid for every message under a small-order key without the check.
    const signature = new Uint8Array(64)
    signature.set(ed25519.Point.ZERO.toBytes(), 0)
    expect(rejectionOf(toText(new Uint8Array([...forged, ...signature]))).message).toMatch(/identity key/)
  })

  it('rejects invalid keys even when properly signed', () => {
    const badOnion = unsigned.slice()
    badOnion.set(ed25519.Point.ZERO.toBytes(), ONION_AT)
    expect(rejectionOf(toText(signedBy(alice, badOnion))).message).toMatch(/onion/)
    const lowOrderClientAuth = unsigned.slice()
    lowOrderClientAuth.set(new Uint8Array(32), CLIENT_AUTH_AT)
    expect(rejectionOf(toText(signedBy(alice, lowOrderClientAuth))).message).toMatch(/client-authorization/)
  })

  it('rejects extra bytes after a properly signed body', () => {
    expect(rejectionOf(toText(new Uint8Array([...body, 0]))).message).toMatch(/length/)
    expect(rejectionOf(toText(signedBy(alice, new Uint8Array([...unsigned, 0])))).message).toMatch(/length/)
  })

  it('encodeContactCard refuses to sign a card that describes another node', () => {
    const foreign = createContactCard(mallory, 'Mallory')
    expect(() => encodeContactCard(foreign, alice)).toThrow(expect.objectContaining({ code: 'INVALID_CONTACT_CARD' }))
    expect(() => encodeContactCard({ ...card, clientAuthKey: mallory.clientAuth.publicKey }, alice)).toThrow(expect.objectContaining({ code: 'INVALID_CONTACT_CARD' }))
    expect(() => encodeContactCard({ ...card, onionAddress: mallory.onionAddress }, alice)).toThrow(expect.objectContaining({ code: 'INVALID_CONTACT_CARD' }))
  })
})

describe('contactCardQr', () => {
  /** Turns the half-block rendering back into pixels (4 px per module) and decodes it. */
  function scan(art: string): string {
    const rows: boolean[][] = []
    for (const line of art.split('\n').filter((l) => l.length > 0)) {
      const chars = [...line]
      rows.push(chars.map((c) => c === '█' || c === '▀'), chars.map((c) => c === '█' || c === '▄'))
    }
    const scale = 4
    const height = rows.length * scale
    const width = (rows[0]?.length ?? 0) * scale
    const data = new Uint8Array(height * width * 3)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const light = rows[Math.floor(y / scale)]?.[Math.floor(x / scale)] ?? true
        data.fill(light ? 255 : 0, (y * width + x) * 3, (y * width + x) * 3 + 3)
      }
    }
    return decodeQR({ height, width, data })
  }

  it('renders a multi-line QR code that scans back to the card', () => {
    const text = encodeContactCard(createContactCard(alice, 'Alice 🦊'), alice)
    const art = contactCardQr(`  ${text}\n`)
    const lines = art.trimEnd().split('\n')
    expect(lines.length).toBeGreaterThan(20)
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1)
    const scanned = scan(art)
    expect(scanned).toBe(text.toUpperCase())
    expect(decodeContactCard(scanned).displayName).toBe('Alice 🦊')
  })

  it('refuses to render something that is not a valid card', () => {
    expect(() => contactCardQr('hello')).toThrow(expect.objectContaining({ code: 'INVALID_CONTACT_CARD' }))
  })
})
