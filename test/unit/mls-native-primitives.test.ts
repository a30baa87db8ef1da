/**
 * The node:crypto SHA-256, HMAC, HKDF and AES-128-GCM that Burrow's MLS
 * ciphersuite uses in place of ts-mls's WebCrypto calls: published vectors
 * first, then the same outputs as ts-mls's default provider on random inputs.
 */
import { hkdfSync, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { defaultCryptoProvider, getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteImpl } from 'ts-mls'
import { beforeAll, describe, expect, it } from 'vitest'
import { aes128GcmOpen, aes128GcmSeal, hkdfSha256, sha256 } from '../../src/group/mls/native-primitives.js'
import { MLS_CIPHERSUITE } from '../../src/group/mls/suite.js'

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const text = (t: string): Uint8Array => new TextEncoder().encode(t)

describe('published vectors', () => {
  it('HMAC-SHA256: RFC 4231 test cases 1 and 2', async () => {
    expect(toHex(await sha256.mac(new Uint8Array(20).fill(0x0b), text('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
    const mac = await sha256.mac(text('Jefe'), text('what do ya want for nothing?'))
    expect(toHex(mac)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
    expect(await sha256.verifyMac(text('Jefe'), mac, text('what do ya want for nothing?'))).toBe(true)
    mac[31]! ^= 1
    expect(await sha256.verifyMac(text('Jefe'), mac, text('what do ya want for nothing?'))).toBe(false)
    expect(await sha256.verifyMac(text('Jefe'), mac.subarray(0, 16), text('what do ya want for nothing?'))).toBe(false)
  })

  it('SHA-256: FIPS 180-2 "abc"', async () => {
    expect(toHex(await sha256.digest(text('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('HKDF-SHA256: RFC 5869 test cases 1 and 3 (the second with no salt and no info)', async () => {
    const prk1 = await hkdfSha256.extract(hex('000102030405060708090a0b0c'), new Uint8Array(22).fill(0x0b))
    expect(toHex(prk1)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5')
    expect(toHex(await hkdfSha256.expand(prk1, hex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
    const prk3 = await hkdfSha256.extract(new Uint8Array(0), new Uint8Array(22).fill(0x0b))
    expect(toHex(prk3)).toBe('19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04')
    expect(toHex(await hkdfSha256.expand(prk3, new Uint8Array(0), 42))).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8')
    await expect(hkdfSha256.expand(prk3, new Uint8Array(0), 255 * 32 + 1)).rejects.toMatchObject({ code: 'MLS_USAGE' })
  })

  it('AES-128-GCM: test cases 2, 3 and 4 of the GCM specification (McGrew and Viega)', async () => {
    expect(toHex(await aes128GcmSeal(new Uint8Array(16), new Uint8Array(12), undefined, new Uint8Array(16)))).toBe('0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf')
    const key = hex('feffe9928665731c6d6a8f9467308308')
    const iv = hex('cafebabefacedbaddecaf888')
    const plain = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255')
    const c3 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985'
    expect(toHex(await aes128GcmSeal(key, iv, undefined, plain))).toBe(c3 + '4d5c2af327cd64a62cf35abd2ba6fab4')
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2')
    const sealed4 = await aes128GcmSeal(key, iv, aad, plain.subarray(0, 60))
    expect(toHex(sealed4)).toBe(c3.slice(0, 120) + '5bc94fbc3221a5db94fae95ae7121a47')
    expect(await aes128GcmOpen(key, iv, aad, sealed4)).toEqual(plain.subarray(0, 60))
  })

  it('AES-128-GCM refuses a changed ciphertext, tag or AAD as WebCrypto does (OperationError)', async () => {
    const key = randomBytes(16)
    const iv = randomBytes(12)
    const sealed = await aes128GcmSeal(key, iv, text('ad'), text('secret'))
    for (const [what, open] of [
      ['ciphertext', () => aes128GcmOpen(key, iv, text('ad'), Uint8Array.from(sealed, (b, i) => (i === 0 ? b ^ 1 : b)))],
      ['tag', () => aes128GcmOpen(key, iv, text('ad'), Uint8Array.from(sealed, (b, i) => (i === sealed.length - 1 ? b ^ 1 : b)))],
      ['aad', () => aes128GcmOpen(key, iv, text('AD'), sealed)],
      ['length', () => aes128GcmOpen(key, iv, text('ad'), sealed.subarray(0, 15))],
    ] as const) {
      await expect(open(), what).rejects.toMatchObject({ name: 'OperationError' })
    }
  })
})

describe('the same outputs as ts-mls default provider', () => {
  let reference: CiphersuiteImpl
  beforeAll(async () => {
    reference = await getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE), defaultCryptoProvider)
  })
  const bytes = (max: number) => fc.uint8Array({ maxLength: max })

  it('digest, mac, extract and expand', async () => {
    // @hpke's extract takes a salt of 0 or 32 bytes, which is all MLS passes it (secrets of the key schedule).
    const salt = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 32, maxLength: 32 }))
    await fc.assert(
      fc.asyncProperty(bytes(300), bytes(80), salt, bytes(300), fc.integer({ min: 0, max: 255 * 32 }), async (a, key, saltBytes, info, length) => {
        expect(await sha256.digest(a)).toEqual(await reference.hash.digest(a))
        // WebCrypto refuses an empty HMAC key; MLS's MAC keys are always 32 bytes (RFC 4231's vectors cover short keys above).
        if (key.length > 0) expect(await sha256.mac(key, a)).toEqual(await reference.hash.mac(key, a))
        const prk = await hkdfSha256.extract(saltBytes, a)
        expect(prk).toEqual(await reference.kdf.extract(saltBytes, a))
        expect(await hkdfSha256.expand(prk, info, length)).toEqual(await reference.kdf.expand(prk, info, length))
        // node's one-shot HKDF agrees on extract-then-expand.
        if (length > 0) expect(await hkdfSha256.expand(prk, info, length)).toEqual(new Uint8Array(hkdfSync('sha256', a, saltBytes, info, length)))
      }),
      { numRuns: 200 },
    )
  })

  it('seals as the reference does, and each opens the other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.option(bytes(64), { nil: undefined }), bytes(500), async (key, nonce, aad, plain) => {
        const ours = await aes128GcmSeal(key, nonce, aad, plain)
        expect(ours).toEqual(await reference.hpke.encryptAead(key, nonce, aad, plain))
        expect(await reference.hpke.decryptAead(key, nonce, aad, ours)).toEqual(plain)
        expect(await aes128GcmOpen(key, nonce, aad, ours)).toEqual(plain)
      }),
      { numRuns: 200 },
    )
  })
})
