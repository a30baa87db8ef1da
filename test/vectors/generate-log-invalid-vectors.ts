/**
 * Builds log-invalid.json: `npx tsx test/vectors/generate-log-invalid-vectors.ts`
 * writes it; test/unit/log-invalid-vectors.test.ts checks that the file is
 * what this script builds and that Burrow gives every expected outcome.
 *
 * Each expected outcome is written here by hand from docs/log-format.md,
 * never computed by Burrow's decoder. Bytes come from the fixtures' reference
 * encoder (written from RFC 8949, not cbor-x) and, where a rule is about the
 * encoding, from hex spliced by hand. Signatures are real wherever the
 * signature input exists, so each entry breaks the rule it names (and the
 * ones in `alsoBreaks`) and nothing else.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ed25519 } from '@noble/curves/ed25519.js'
import { seedSigner, type DecodeLimits, type ExtensionValue, type LogErrorCode, type Signer } from '../../src/log/index.js'
import { referenceEncode } from '../fixtures/log-fixtures.js'

/** A rule of docs/log-format.md: decoding D1–D6, validation V1–V5, fork proof F1–F8, text form T1–T2. */
export type RuleId = `D${1 | 2 | 3 | 4 | 5 | 6}` | `V${1 | 2 | 3 | 4 | 5}` | `F${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8}` | `T${1 | 2}`

interface VectorBase {
  /** What the entry is. */
  readonly name: string
  /** The rule that decides the outcome (for an accepted entry: the rule whose boundary it sits on). */
  readonly rule: RuleId
  /** Later rules the input breaks too: the entry shows that `rule` comes first. */
  readonly alsoBreaks?: readonly RuleId[]
  /** The expected error code, or null: the input must be accepted. */
  readonly error: LogErrorCode | null
}

/** Header bytes (and payload, and what the validator holds) through decoding then validation. */
export interface OperationVector extends VectorBase {
  readonly kind: 'operation'
  readonly header: string
  /** Absent: no payload given. */
  readonly payload?: string
  /** Absent: no chain check. null: no retained earlier operation. Hex: the (valid) header held as the previous operation. */
  readonly previous?: string | null
  /** Replaces the file's default limits for this entry. */
  readonly limits?: DecodeLimits
}

/** The bytes of a fork proof through rules F1–F8. */
export interface ForkProofVector extends VectorBase {
  readonly kind: 'fork-proof'
  readonly proof: string
}

/** The UTF-8 bytes of a fork proof's text form through rules T1–T2, then F1–F8. */
export interface ForkProofTextVector extends VectorBase {
  readonly kind: 'fork-proof-text'
  readonly text: string
}

export type InvalidVector = OperationVector | ForkProofVector | ForkProofTextVector

export interface InvalidVectorFile {
  readonly format: string
  readonly limits: DecodeLimits
  readonly vectors: readonly InvalidVector[]
}

const LIMITS: DecodeLimits = { maxHeaderBytes: 4096, maxPayloadBytes: 1_048_576 }
const L = (1n << 252n) + 27742317777372353535851937790883648493n

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest())
const enc = (value: ExtensionValue): string => hex(referenceEncode(value))

// The author of log-operations.json, and another.
const SEED = unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const alice = seedSigner(SEED)
const bob = seedSigner(new Uint8Array(32).fill(0xff))
const LOG_ID = new Uint8Array(32).fill(0x42)
const PAYLOAD = utf8('hello burrow')

/** The eight signed fields of a header, as the CBOR values they encode. */
interface Fields {
  readonly version: ExtensionValue
  readonly author: ExtensionValue
  readonly logId: ExtensionValue
  readonly seq: ExtensionValue
  readonly backlink: ExtensionValue
  readonly payloadHash: ExtensionValue
  readonly payloadSize: ExtensionValue
  readonly extensions: ExtensionValue
}

const BASE: Fields = {
  version: 1,
  author: alice.publicKey,
  logId: LOG_ID,
  seq: 0,
  backlink: null,
  payloadHash: sha256(PAYLOAD),
  payloadSize: PAYLOAD.length,
  extensions: new Map(),
}

const fieldList = (f: Fields): ExtensionValue[] => [f.version, f.author, f.logId, f.seq, f.backlink, f.payloadHash, f.payloadSize, f.extensions]

/** The signature input: the canonical array of the eight fields. */
const signingInput = (f: Fields): Uint8Array => referenceEncode(fieldList(f))

interface HeaderOptions {
  /** Signs with this key instead of alice's. */
  readonly signer?: Signer
  /** The ninth element as given, instead of a signature over the canonical fields. */
  readonly signature?: ExtensionValue
  /** Hex that replaces the encoding of element i (0–8): the same value, or another, written by hand. */
  readonly replace?: Readonly<Record<number, string>>
  /** Hex of the array head instead of 89. */
  readonly head?: string
}

/** Header bytes as hex: array(9) of the fields and a real signature over their canonical encoding, unless told otherwise. */
function header(overrides: Partial<Fields> = {}, opts: HeaderOptions = {}): string {
  const f = { ...BASE, ...overrides }
  const signature = 'signature' in opts ? (opts.signature as ExtensionValue) : (opts.signer ?? alice).sign(signingInput(f))
  const items = [...fieldList(f), signature].map(enc)
  for (const [i, h] of Object.entries(opts.replace ?? {})) items[Number(i)] = h
  return (opts.head ?? '89') + items.join('')
}

const hashOfHex = (h: string): Uint8Array => sha256(unhex(h))
const ext = (entries: Record<string, ExtensionValue>): Map<string, ExtensionValue> => new Map(Object.entries(entries))
/** Hex of a text string's encoding, for hand-written maps. */
const key = (s: string): string => enc(s)

// ---- Ed25519 by hand, for signatures that only some verifiers accept ----

const Point = ed25519.Point
const leToBig = (bytes: Uint8Array): bigint => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n)
const bigToLe = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
const sha512Scalar = (...parts: Uint8Array[]): bigint => leToBig(new Uint8Array(createHash('sha512').update(Buffer.concat(parts)).digest())) % L
const aliceScalar = ed25519.utils.getExtendedPublicKey(SEED).scalar
/** The first 32-byte string 02 00 … 00, 03 00 … 00, … that is not the encoding of a curve point. */
function notAPoint(): Uint8Array {
  for (let y = 2; ; y++) {
    const bytes = bigToLe(BigInt(y))
    try {
      Point.fromBytes(bytes)
    } catch {
      return bytes
    }
  }
}

/** Big-endian IEEE 754 double, as hex. */
function float64(n: number): string {
  const b = Buffer.alloc(8)
  b.writeDoubleBE(n)
  return b.toString('hex')
}

/** A point of order 8. */
const TORSION = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
const IDENTITY = bigToLe(1n) // y = 1, x = 0

/**
 * Key aB + T (T of order 8: not of small order, but not in the prime-order
 * subgroup) and a signature whose cofactorless check fails (k not a multiple
 * of 8) while the cofactored one passes.
 */
function mixedOrderHeader(): string {
  const key = Point.BASE.multiply(aliceScalar).add(TORSION).toBytes()
  const f = { ...BASE, author: key }
  const message = signingInput(f)
  for (let n = 0; ; n++) {
    const r = sha512Scalar(utf8(`nonce ${n}`), message)
    const R = Point.BASE.multiply(r).toBytes()
    const k = sha512Scalar(R, key, message)
    if (k % 8n === 0n) continue
    const S = (r + k * aliceScalar) % L
    return header({ author: key }, { signature: Uint8Array.from([...R, ...bigToLe(S)]) })
  }
}

/** Alice's key, R = the identity (small order) and S = k·a: the equation [S]B = R + [k]A holds. */
function smallOrderRHeader(): string {
  const k = sha512Scalar(IDENTITY, alice.publicKey, signingInput(BASE))
  return header({}, { signature: Uint8Array.from([...IDENTITY, ...bigToLe((k * aliceScalar) % L)]) })
}

/** Alice's real signature with S replaced by S + L (same value mod L, not canonical). */
function nonCanonicalSHeader(): string {
  const sig = alice.sign(signingInput(BASE))
  const s = leToBig(sig.subarray(32)) + L
  return header({}, { signature: Uint8Array.from([...sig.subarray(0, 32), ...bigToLe(s)]) })
}

// ---- operation vectors ----

function operationVectors(): OperationVector[] {
  const out: OperationVector[] = []
  interface More {
    readonly payload?: string
    readonly previous?: string | null
    readonly limits?: DecodeLimits
    readonly alsoBreaks?: readonly RuleId[]
  }
  const op = (name: string, rule: RuleId, error: LogErrorCode | null, h: string, more: More = {}): void => {
    const { payload, previous, limits, alsoBreaks } = more
    out.push({
      name,
      rule,
      ...(alsoBreaks === undefined ? {} : { alsoBreaks }),
      kind: 'operation',
      header: h,
      ...(payload === undefined ? {} : { payload }),
      ...(previous === undefined ? {} : { previous }),
      ...(limits === undefined ? {} : { limits }),
      error,
    })
  }
  const valid = header()
  const hash0 = hashOfHex(valid)
  const seq1 = { seq: 1, backlink: hash0 }

  // D1: sizes first.
  const padded = (total: number): string => {
    for (let n = total - 250; ; n++) {
      const h = header({ extensions: ext({ 'x-pad': new Uint8Array(n) }) })
      if (h.length / 2 === total) return h
      if (h.length / 2 > total) throw new Error(`no header of exactly ${total} bytes`)
    }
  }
  op('header of exactly the limit (4096 bytes)', 'D1', null, padded(4096))
  op('header one byte over the limit (4097 bytes), otherwise valid', 'D1', 'LOG_OVERSIZE', padded(4097))
  op('4097 bytes of ff: the size is checked before the CBOR', 'D1', 'LOG_OVERSIZE', 'ff'.repeat(4097), { alsoBreaks: ['D2'] })
  const small = { maxHeaderBytes: 4096, maxPayloadBytes: 12 }
  op('payload of exactly the limit (12 bytes under a 12-byte limit)', 'D1', null, valid, { payload: hex(PAYLOAD), limits: small })
  op('payload one byte over the limit, before the payload checks', 'D1', 'LOG_OVERSIZE', valid, { payload: hex(PAYLOAD) + '00', limits: small, alsoBreaks: ['V3'] })
  op('payload over the limit with a malformed header: the payload size is checked first', 'D1', 'LOG_OVERSIZE', 'ff', { payload: hex(PAYLOAD) + '00', limits: small, alsoBreaks: ['D2'] })

  // D2: one well-formed item of the subset, at most 8 deep.
  const sigItem = (h: string): string => h.slice(-132)
  const withoutSig = (h: string): string => h.slice(0, -132)
  op('empty input', 'D2', 'LOG_MALFORMED', '')
  op('truncated: the last byte of the signature missing', 'D2', 'LOG_MALFORMED', valid.slice(0, -2))
  op('trailing byte after the header', 'D2', 'LOG_MALFORMED', valid + '00')
  op('a second header after the first', 'D2', 'LOG_MALFORMED', valid + valid)
  op('tag 1 (c1) on an extension value', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ ts: 1_700_000_000 }) }, { replace: { 7: 'a1' + key('ts') + 'c11a6553f100' } }))
  op('tag 24 (d8 18) around the whole header', 'D2', 'LOG_MALFORMED', 'd818' + enc(unhex(valid)))
  op('float16 1.0 (f9 3c00) as an extension value: floats are outside the subset, not a non-canonical integer', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 7: 'a1' + key('x-n') + 'f93c00' } }))
  op('float64 (fb) as ts', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ ts: 1_700_000_000_000 }) }, { replace: { 7: 'a1' + key('ts') + 'fb' + float64(1_700_000_000_000) } }))
  op('undefined (f7) as backlink', 'D2', 'LOG_MALFORMED', header({}, { replace: { 4: 'f7' } }))
  op('simple value 32 (f8 20) as backlink', 'D2', 'LOG_MALFORMED', header({}, { replace: { 4: 'f820' } }))
  op('simple value 0 (e0) as backlink', 'D2', 'LOG_MALFORMED', header({}, { replace: { 4: 'e0' } }))
  op('a lone break (ff) as an extension value', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 7: 'a1' + key('x-n') + 'ff' } }))
  op('reserved additional information 28 (1c) as seq', 'D2', 'LOG_MALFORMED', header({}, { replace: { 3: '1c' } }))
  op('reserved additional information 30 (5e) as log id', 'D2', 'LOG_MALFORMED', header({}, { replace: { 2: '5e' } }))
  op('indefinite-length header array (9f … ff): outside the subset, not merely non-canonical', 'D2', 'LOG_MALFORMED', '9f' + valid.slice(2) + 'ff')
  op('indefinite-length byte string (5f … ff) as log id', 'D2', 'LOG_MALFORMED', header({}, { replace: { 2: '5f' + enc(LOG_ID) + 'ff' } }))
  op('indefinite-length map (bf ff) as extensions', 'D2', 'LOG_MALFORMED', header({}, { replace: { 7: 'bfff' } }))
  op('indefinite-length text string as an extension key', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ ts: 1 }) }, { replace: { 7: 'a1' + '7f' + key('ts') + 'ff' + '01' } }))
  op('seq 2^53 (1b 0020000000000000): beyond the integer range', 'D2', 'LOG_MALFORMED', header({ seq: 1, backlink: hash0 }, { replace: { 3: '1b0020000000000000' } }))
  op('seq 2^53-1, the largest integer', 'D2', null, header({ seq: Number.MAX_SAFE_INTEGER, backlink: hash0 }))
  op('extension value -2^53 (3b 001fffffffffffff): beyond the integer range', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': -1 }) }, { replace: { 7: 'a1' + key('x-n') + '3b001fffffffffffff' } }))
  op('extension value -(2^53-1), the smallest integer', 'D2', null, header({ extensions: ext({ 'x-n': -Number.MAX_SAFE_INTEGER }) }))
  const textValue = (bytes: string): string => header({ extensions: ext({ 'x-t': 'a' }) }, { replace: { 7: 'a1' + key('x-t') + (0x60 + bytes.length / 2).toString(16) + bytes } })
  op('text value with an overlong encoding (c0 80)', 'D2', 'LOG_MALFORMED', textValue('c080'))
  op('text value with a UTF-16 surrogate (ed a0 80)', 'D2', 'LOG_MALFORMED', textValue('eda080'))
  op('text value above U+10FFFF (f4 90 80 80)', 'D2', 'LOG_MALFORMED', textValue('f4908080'))
  op('text value with a truncated sequence (e2 82)', 'D2', 'LOG_MALFORMED', textValue('e282'))
  op('text value with a byte that never occurs in UTF-8 (ff)', 'D2', 'LOG_MALFORMED', textValue('ff'))
  op('extension key that is not UTF-8 (c3 28)', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-t': 'a' }) }, { replace: { 7: 'a1' + '62c328' + '6161' } }))
  op('text value starting with U+FEFF (ef bb bf): an ordinary character, kept', 'D2', null, header({ extensions: ext({ 'x-t': '\ufeffa' }) }))
  op('extension key that is an integer', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 7: 'a1' + '01' + '01' } }))
  op('extension key that is a byte string', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 7: 'a1' + '4161' + '01' } }))
  // Depth: header 1, extensions map 2, extension value 3, each nesting one more.
  const nest = (inner: ExtensionValue, arrays: number): ExtensionValue => (arrays === 0 ? inner : [nest(inner, arrays - 1)])
  op('empty array at depth 8 (the deepest an array may be)', 'D2', null, header({ extensions: ext({ 'x-d': nest([], 5) }) }))
  op('empty map at depth 8', 'D2', null, header({ extensions: ext({ 'x-d': nest(new Map(), 5) }) }))
  op('integer at depth 8', 'D2', null, header({ extensions: ext({ 'x-d': nest(0, 5) }) }))
  op('integer at depth 9: scalars count as a level', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-d': nest(0, 6) }) }))
  op('empty array at depth 9', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-d': nest([], 6) }) }))
  op('one-entry map at depth 8: its key and value are at depth 9', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-d': nest(ext({ a: 0 }), 5) }) }))
  op('byte string longer than the rest of the input (5a ffffffff)', 'D2', 'LOG_MALFORMED', header({}, { replace: { 2: '5affffffff' + hex(LOG_ID) } }))
  op('8-byte length (5b) longer than the rest of the input', 'D2', 'LOG_MALFORMED', header({}, { replace: { 2: '5b00000000000000ff' + hex(LOG_ID) } }))
  op('array count (9b) beyond the rest of the input', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-a': [] }) }, { replace: { 7: 'a1' + key('x-a') + '9b00000000ffffffff' } }))
  op('map count beyond the rest of the input', 'D2', 'LOG_MALFORMED', header({}, { replace: { 7: 'ba7fffffff' } }))
  // D2 over the whole input before D3.
  op('8-byte length (5b) of the log id, then a float in the extensions: D2 anywhere beats D3', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 2: '5b0000000000000020' + hex(LOG_ID), 7: 'a1' + key('x-n') + 'f93c00' } }), { alsoBreaks: ['D3'] })
  op('repeated key whose first value is a float: the hidden value still counts', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-n': 1 }) }, { replace: { 7: 'a2' + key('x-n') + 'f93c00' + key('x-n') + '01' } }), { alsoBreaks: ['D3'] })
  op('repeated key whose first value is invalid UTF-8', 'D2', 'LOG_MALFORMED', header({ extensions: ext({ 'x-t': 'a' }) }, { replace: { 7: 'a2' + key('x-t') + '61ff' + key('x-t') + '6161' } }), { alsoBreaks: ['D3'] })
  op('version as 18 01, then truncated', 'D2', 'LOG_MALFORMED', ('891801' + valid.slice(4)).slice(0, -2), { alsoBreaks: ['D3'] })

  // D3: canonical form. Each is signed over the canonical fields, so only the encoding is wrong.
  op('version 1 as 18 01', 'D3', 'LOG_NON_CANONICAL', header({}, { replace: { 0: '1801' } }))
  op('header array head as 98 09', 'D3', 'LOG_NON_CANONICAL', header({}, { head: '9809' }))
  op('seq 0 as 18 00', 'D3', 'LOG_NON_CANONICAL', header({}, { replace: { 3: '1800' } }))
  op('seq 1 as 19 0001', 'D3', 'LOG_NON_CANONICAL', header(seq1, { replace: { 3: '190001' } }))
  op('author length as 59 0020', 'D3', 'LOG_NON_CANONICAL', header({}, { replace: { 1: '590020' + hex(alice.publicKey) } }))
  op('log id length as 8 bytes (5b 0000000000000020): well-formed, not canonical', 'D3', 'LOG_NON_CANONICAL', header({}, { replace: { 2: '5b0000000000000020' + hex(LOG_ID) } }))
  op('payload size 12 as 18 0c', 'D3', 'LOG_NON_CANONICAL', header({}, { replace: { 6: '180c' } }))
  op('extensions map head as b8 01', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1 }) }, { replace: { 7: 'b801' + key('ts') + '01' } }))
  op('extension key length as 8 bytes (7b 0000000000000002)', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1 }) }, { replace: { 7: 'a1' + '7b0000000000000002' + '7473' + '01' } }))
  op('ts 1000 as an 8-byte integer (1b)', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1000 }) }, { replace: { 7: 'a1' + key('ts') + '1b00000000000003e8' } }))
  op('extension value -1 as 38 00', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ 'x-n': -1 }) }, { replace: { 7: 'a1' + key('x-n') + '3800' } }))
  op('signature length as 59 0040', 'D3', 'LOG_NON_CANONICAL', withoutSig(valid) + '590040' + sigItem(valid).slice(4))
  const withTs = header({ extensions: ext({ ts: 1_700_000_000_000 }) })
  op('signature length as 8 bytes (5b 0000000000000040), at the end of the input, after an extension', 'D3', 'LOG_NON_CANONICAL', withoutSig(withTs) + '5b0000000000000040' + sigItem(withTs).slice(4))
  op('keys out of order: epoch before ts', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1, epoch: 2 }) }, { replace: { 7: 'a2' + key('epoch') + '02' + key('ts') + '01' } }))
  op('keys in the order of their text ("aa" before "b"), not of their encodings', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ b: 1, aa: 2 }) }, { replace: { 7: 'a2' + key('aa') + '02' + key('b') + '01' } }))
  op('keys in the order of their encodings ("b" before "aa")', 'D3', null, header({ extensions: ext({ b: 1, aa: 2 }) }))
  op('a key repeated with the same value', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1 }) }, { replace: { 7: 'a2' + key('ts') + '01' + key('ts') + '01' } }))
  op('a key repeated with another value', 'D3', 'LOG_NON_CANONICAL', header({ extensions: ext({ ts: 1 }) }, { replace: { 7: 'a2' + key('ts') + '02' + key('ts') + '01' } }))

  // D4: an array, version 1, nine elements.
  op('a map, not an array', 'D4', 'LOG_MALFORMED', 'a0')
  op('an integer, not an array', 'D4', 'LOG_MALFORMED', '01')
  op('an empty array', 'D4', 'LOG_MALFORMED', '80')
  op('version 2 with nine fields', 'D4', 'LOG_UNKNOWN_VERSION', header({ version: 2 }))
  op('version 0 with nine fields', 'D4', 'LOG_UNKNOWN_VERSION', header({ version: 0 }))
  op('version as the text "1"', 'D4', 'LOG_UNKNOWN_VERSION', header({ version: '1' }))
  op('version 2 alone: the version is read before the length', 'D4', 'LOG_UNKNOWN_VERSION', '8102')
  op('version 1 alone', 'D4', 'LOG_MALFORMED', '8101')
  op('eight fields (no signature)', 'D4', 'LOG_MALFORMED', hex(signingInput(BASE)))
  op('ten fields (an extra null after the signature)', 'D4', 'LOG_MALFORMED', '8a' + valid.slice(2) + 'f6')

  // D5: field types and sizes. Each is signed as it stands.
  const d5 = (name: string, overrides: Partial<Fields>, more: More = {}): void => op(name, 'D5', 'LOG_MALFORMED', header(overrides), more)
  d5('author of 31 bytes', { author: alice.publicKey.subarray(0, 31) })
  d5('author of 33 bytes', { author: Uint8Array.from([...alice.publicKey, 0]) })
  d5('author as a text string', { author: 'alice' })
  d5('log id of 0 bytes', { logId: new Uint8Array(0) })
  d5('log id of 65 bytes', { logId: new Uint8Array(65).fill(0x42) })
  op('log id of 64 bytes', 'D5', null, header({ logId: new Uint8Array(64).fill(0x42) }))
  op('log id of 1 byte', 'D5', null, header({ logId: new Uint8Array([0]) }))
  d5('log id as a text string', { logId: 'log' })
  d5('seq -1', { seq: -1 })
  d5('seq as the text "0"', { seq: '0' })
  d5('seq null', { seq: null })
  d5('backlink of 31 bytes', { ...seq1, backlink: hash0.subarray(0, 31) })
  d5('backlink of 33 bytes', { ...seq1, backlink: Uint8Array.from([...hash0, 0]) })
  d5('backlink false', { ...seq1, backlink: false })
  d5('payload hash of 31 bytes', { payloadHash: sha256(PAYLOAD).subarray(0, 31) })
  d5('payload hash null with payload size 12', { payloadHash: null })
  d5('payload hash present with payload size 0', { payloadSize: 0 })
  d5('payload hash as a text string', { payloadHash: 'hash' })
  d5('payload size -1', { payloadSize: -1 })
  d5('payload size null', { payloadSize: null })
  d5('payload size as the text "12"', { payloadSize: '12' })
  d5('extensions as an array', { extensions: [] })
  d5('extensions null', { extensions: null })
  d5('prune as 1', { extensions: ext({ prune: 1 }) })
  d5('prune as the text "true"', { extensions: ext({ prune: 'true' }) })
  d5('prune null', { extensions: ext({ prune: null }) })
  d5('ts -5', { extensions: ext({ ts: -5 }) })
  d5('ts true', { extensions: ext({ ts: true }) })
  d5('epoch as a byte string', { extensions: ext({ epoch: new Uint8Array(1) }) })
  d5('epoch -1', { extensions: ext({ epoch: -1 }) })
  op('unknown keys, the empty key included, take any value', 'D5', null, header({ extensions: ext({ '': null, x: [true, new Uint8Array(2), ext({ y: 'z' })], prune: false, epoch: 0 }) }))
  const sig = alice.sign(signingInput(BASE))
  op('signature of 63 bytes', 'D5', 'LOG_MALFORMED', header({}, { signature: sig.subarray(0, 63) }))
  op('signature of 65 bytes', 'D5', 'LOG_MALFORMED', header({}, { signature: Uint8Array.from([...sig, 0]) }))
  op('signature null', 'D5', 'LOG_MALFORMED', header({}, { signature: null }))
  d5('author of 31 bytes and a declared payload over the limit: structure first', { author: alice.publicKey.subarray(0, 31), payloadSize: LIMITS.maxPayloadBytes + 1 }, { alsoBreaks: ['D6'] })
  d5('payload hash null with a declared payload over the limit', { payloadHash: null, payloadSize: LIMITS.maxPayloadBytes + 1 }, { alsoBreaks: ['D6'] })

  // D6: the declared payload size, after the whole structure.
  op('declared payload size one over the limit', 'D6', 'LOG_OVERSIZE', header({ payloadSize: LIMITS.maxPayloadBytes + 1 }))
  op('declared payload size at the limit, no payload given', 'D6', null, header({ payloadSize: LIMITS.maxPayloadBytes }))
  op('declared payload over the limit at seq 0 with a backlink: decoding before validation', 'D6', 'LOG_OVERSIZE', header({ payloadSize: LIMITS.maxPayloadBytes + 1, backlink: hash0 }), { alsoBreaks: ['V2'] })
  op('declared payload over the limit and a bad signature', 'D6', 'LOG_OVERSIZE', header({ payloadSize: LIMITS.maxPayloadBytes + 1 }, { signature: new Uint8Array(64) }), { alsoBreaks: ['V5'] })

  // V2: backlink present exactly when seq > 0.
  op('seq 0 with a backlink', 'V2', 'LOG_WRONG_BACKLINK', header({ backlink: hash0 }))
  op('seq 1 without a backlink', 'V2', 'LOG_WRONG_BACKLINK', header({ seq: 1 }))
  op('seq 0 with a backlink and a wrong payload', 'V2', 'LOG_WRONG_BACKLINK', header({ backlink: hash0 }), { payload: hex(utf8('HELLO BURROW')), alsoBreaks: ['V3'] })
  op('seq 1 without a backlink and a bad signature', 'V2', 'LOG_WRONG_BACKLINK', header({ seq: 1 }, { signature: new Uint8Array(64) }), { alsoBreaks: ['V5'] })

  // V3: the payload, when given.
  op('the payload', 'V3', null, valid, { payload: hex(PAYLOAD) })
  op('no payload given (deleted or not fetched)', 'V3', null, valid)
  op('payload one byte short', 'V3', 'LOG_PAYLOAD_SIZE_MISMATCH', valid, { payload: hex(PAYLOAD.subarray(0, 11)) })
  op('payload one byte long', 'V3', 'LOG_PAYLOAD_SIZE_MISMATCH', valid, { payload: hex(PAYLOAD) + '00' })
  op('empty payload given for a payload size of 12', 'V3', 'LOG_PAYLOAD_SIZE_MISMATCH', valid, { payload: '' })
  const noPayload = header({ payloadHash: null, payloadSize: 0 })
  op('one-byte payload given for a payload size of 0', 'V3', 'LOG_PAYLOAD_SIZE_MISMATCH', noPayload, { payload: '00' })
  op('empty payload given for a payload size of 0: the same as none', 'V3', null, noPayload, { payload: '' })
  op('payload of the right size, other bytes', 'V3', 'LOG_PAYLOAD_HASH_MISMATCH', valid, { payload: hex(utf8('HELLO BURROW')) })
  op('payload one byte short and a bad signature', 'V3', 'LOG_PAYLOAD_SIZE_MISMATCH', header({}, { signature: new Uint8Array(64) }), { payload: hex(PAYLOAD.subarray(0, 11)), alsoBreaks: ['V5'] })
  op('payload of other bytes and the wrong seq for the previous operation', 'V3', 'LOG_PAYLOAD_HASH_MISMATCH', header({ seq: 2, backlink: hash0 }), { payload: hex(utf8('HELLO BURROW')), previous: valid, alsoBreaks: ['V4'] })

  // V4: the chain.
  const next = header(seq1)
  op('seq 0 with nothing retained before it', 'V4', null, valid, { previous: null })
  op('seq 1 with nothing retained before it, no prune flag', 'V4', 'LOG_WRONG_SEQ', next, { previous: null })
  op('seq 1 with nothing retained before it, prune: true (a pruned log\'s start)', 'V4', null, header({ ...seq1, extensions: ext({ prune: true }) }), { previous: null })
  op('seq 1 with nothing retained before it, prune: false', 'V4', 'LOG_WRONG_SEQ', header({ ...seq1, extensions: ext({ prune: false }) }), { previous: null })
  op('seq 1 after seq 0', 'V4', null, next, { previous: valid })
  op('seq 2 after seq 0', 'V4', 'LOG_WRONG_SEQ', header({ seq: 2, backlink: hash0 }), { previous: valid })
  op('seq 0 after seq 0', 'V4', 'LOG_WRONG_SEQ', header({ payloadHash: null, payloadSize: 0 }), { previous: valid })
  op('backlink that does not name the previous operation', 'V4', 'LOG_WRONG_BACKLINK', header({ seq: 1, backlink: new Uint8Array(32) }), { previous: valid })
  op('prune: true does not skip the check when the previous operation is held', 'V4', 'LOG_WRONG_BACKLINK', header({ seq: 1, backlink: new Uint8Array(32), extensions: ext({ prune: true }) }), { previous: valid })
  op('previous operation by another author', 'V4', 'LOG_WRONG_BACKLINK', next, { previous: header({ author: bob.publicKey }, { signer: bob }) })
  op('previous operation in another log', 'V4', 'LOG_WRONG_BACKLINK', next, { previous: header({ logId: new Uint8Array(32).fill(0x43) }) })
  op('previous operation in another log, and the wrong seq: the log is compared first', 'V4', 'LOG_WRONG_BACKLINK', header({ seq: 2, backlink: hash0 }), { previous: header({ logId: new Uint8Array(32).fill(0x43) }) })
  op('wrong seq and a wrong backlink: the seq is compared first', 'V4', 'LOG_WRONG_SEQ', header({ seq: 2, backlink: new Uint8Array(32) }), { previous: valid })
  op('wrong seq and a bad signature', 'V4', 'LOG_WRONG_SEQ', header({ seq: 2, backlink: hash0 }, { signature: new Uint8Array(64) }), { previous: valid, alsoBreaks: ['V5'] })

  // V5: the signature, as libsodium checks it.
  op('signed by another key', 'V5', 'LOG_INVALID_SIGNATURE', header({}, { signer: bob }))
  const flipped = sig.slice()
  flipped[32]! ^= 1
  op('lowest bit of S flipped', 'V5', 'LOG_INVALID_SIGNATURE', header({}, { signature: flipped }))
  op('a byte of the log id changed after signing', 'V5', 'LOG_INVALID_SIGNATURE', valid.replace(hex(LOG_ID), hex(LOG_ID).slice(0, -2) + '43'))
  op('signature of 64 zero bytes', 'V5', 'LOG_INVALID_SIGNATURE', header({}, { signature: new Uint8Array(64) }))
  op('S + L instead of S: the same scalar, not canonical (RFC 8032 refuses it)', 'V5', 'LOG_INVALID_SIGNATURE', nonCanonicalSHeader())
  op('key = the identity point, R = the identity, S = 0: passes [S]B = R + [k]A for every message; the key is of small order', 'V5', 'LOG_INVALID_SIGNATURE', header({ author: IDENTITY }, { signature: Uint8Array.from([...IDENTITY, ...new Uint8Array(32)]) }))
  op('R = the identity and S = k·a: passes the equation; R is of small order', 'V5', 'LOG_INVALID_SIGNATURE', smallOrderRHeader())
  op('key aB + T (T of order 8) signed so that only the cofactored equation holds', 'V5', 'LOG_INVALID_SIGNATURE', mixedOrderHeader())
  op('author that is not a curve point', 'V5', 'LOG_INVALID_SIGNATURE', header({ author: notAPoint() }, { signature: sig }))
  return out
}

// ---- fork proofs ----

const PROOF_BOUND = 2 * (LIMITS.maxHeaderBytes + 9) + 2

/** Two headers by alice at seq 0, as [lower hash, higher hash]. */
function forkPair(): [string, string] {
  const a = header()
  // The epoch makes the proof's length not a multiple of 3, so its base64url ends in a partial group.
  const b = header({ payloadHash: sha256(utf8('hello forked')), extensions: ext({ epoch: 1 }) })
  return Buffer.compare(hashOfHex(a), hashOfHex(b)) < 0 ? [a, b] : [b, a]
}

/** Hex of a proof array [version, …items] with the items as byte strings. */
const proofOf = (...headers: string[]): string => enc([1, ...headers.map(unhex)])
/** Orders two headers by hash, so an entry breaks only the rule it names. */
const ordered = (x: string, y: string): [string, string] => (Buffer.compare(hashOfHex(x), hashOfHex(y)) < 0 ? [x, y] : [y, x])

function forkProofVectors(): ForkProofVector[] {
  const out: ForkProofVector[] = []
  const proof = (name: string, rule: RuleId, bytes: string, more: { alsoBreaks?: RuleId[]; valid?: boolean } = {}): void => {
    out.push({ name, rule, ...(more.alsoBreaks ? { alsoBreaks: more.alsoBreaks } : {}), kind: 'fork-proof', proof: bytes, error: more.valid === true ? null : 'LOG_INVALID_FORK_PROOF' })
  }
  const [a, b] = forkPair()
  proof('two headers at the same seq, in the order of their hashes', 'F7', proofOf(a, b), { valid: true })
  // F1
  const big = (n: number): Uint8Array => new Uint8Array(n)
  proof(`one byte over ${PROOF_BOUND} bytes (two headers of 4102 and 4103 bytes)`, 'F1', enc([1, big(4102), big(4103)]), { alsoBreaks: ['F4'] })
  // F2
  proof('empty input', 'F2', '')
  proof('not CBOR of the subset (ff)', 'F2', 'ff')
  proof('trailing byte', 'F2', proofOf(a, b) + '00')
  if (!enc(unhex(a)).startsWith('58')) throw new Error('header A must be under 256 bytes')
  proof('header A\'s length as 59 00xx: not canonical', 'F2', '8301' + '5900' + enc(unhex(a)).slice(2) + enc(unhex(b)))
  proof('indefinite-length array', 'F2', '9f01' + enc(unhex(a)) + enc(unhex(b)) + 'ff')
  // F3
  proof('a map', 'F3', 'a0')
  proof('an array of two', 'F3', enc([1, unhex(a)]))
  proof('an array of four', 'F3', enc([1, unhex(a), unhex(b), unhex(b)]))
  proof('version 2', 'F3', enc([2, unhex(a), unhex(b)]))
  proof('header B as a text string', 'F3', enc([1, unhex(a), 'header']))
  proof('header A as an array', 'F3', enc([1, [], unhex(b)]))
  // F4
  const [c1, c2] = ordered(header({}, { replace: { 0: '1801' } }), b)
  proof('a header not canonical (version as 18 01)', 'F4', proofOf(c1, c2))
  const [m1, m2] = ordered(header({ author: alice.publicKey.subarray(0, 31) }), b)
  proof('a header with a 31-byte author', 'F4', proofOf(m1, m2))
  const [o1, o2] = ordered(header({ payloadSize: LIMITS.maxPayloadBytes + 1 }), b)
  proof('a header declaring a payload over the limit', 'F4', proofOf(o1, o2))
  // F5
  proof('headers by different authors', 'F5', proofOf(...ordered(a, header({ author: bob.publicKey }, { signer: bob }))))
  proof('headers in different logs', 'F5', proofOf(...ordered(a, header({ logId: new Uint8Array(32).fill(0x43) }))))
  proof('headers at different seqs', 'F5', proofOf(...ordered(a, header({ seq: 1, backlink: hashOfHex(b) }))))
  // F6, F7
  proof('the same header twice', 'F6', proofOf(a, a), { alsoBreaks: ['F7'] })
  proof('the same two headers, in the other order: one fork has one proof', 'F7', proofOf(b, a))
  // F8
  const [s1, s2] = ordered(header({}, { signature: new Uint8Array(64) }), b)
  proof('a header with a bad signature', 'F8', proofOf(s1, s2))
  const [w1, w2] = ordered(header({ backlink: hashOfHex(b) }), b)
  proof('a header at seq 0 with a backlink', 'F8', proofOf(w1, w2))
  const [x1, x2] = ordered(header({ author: IDENTITY }, { signature: Uint8Array.from([...IDENTITY, ...new Uint8Array(32)]) }), header({ author: IDENTITY, payloadHash: null, payloadSize: 0 }, { signature: Uint8Array.from([...IDENTITY, ...new Uint8Array(32)]) }))
  proof('two headers with the small-order key that "signs" everything', 'F8', proofOf(x1, x2))
  return out
}

function textVectors(): ForkProofTextVector[] {
  const out: ForkProofTextVector[] = []
  const [a, b] = forkPair()
  const base64 = Buffer.from(unhex(proofOf(a, b))).toString('base64url')
  const form = `burrow-fork-proof:${base64}`
  const text = (name: string, rule: RuleId, s: string, valid = false, alsoBreaks?: RuleId[]): void => {
    out.push({ name, rule, ...(alsoBreaks ? { alsoBreaks } : {}), kind: 'fork-proof-text', text: hex(utf8(s)), error: valid ? null : 'LOG_INVALID_FORK_PROOF' })
  }
  text('the text form', 'T1', form, true)
  text('surrounded by ASCII space, tab, CR and LF', 'T1', ` \t\r\n${form}\r\n\t `, true)
  for (const [what, c] of [['U+00A0 (no-break space)', '\u00a0'], ['U+FEFF (byte order mark)', '\ufeff'], ['U+0085 (next line)', '\u0085'], ['U+000B (vertical tab)', '\v'], ['U+000C (form feed)', '\f']] as const) {
    text(`${what} before it is not stripped`, 'T1', c + form)
  }
  for (const [what, c] of [['U+2028 (line separator)', '\u2028'], ['U+3000 (ideographic space)', '\u3000'], ['U+00A0 (no-break space)', '\u00a0']] as const) {
    text(`${what} after it is not stripped`, 'T2', form + c)
  }
  text('prefix in capitals', 'T1', form.replace('burrow', 'BURROW'))
  text('no prefix', 'T1', base64)
  text('a space after the colon', 'T2', `burrow-fork-proof: ${base64}`)
  text('a line break inside', 'T2', `${form.slice(0, 40)}\n${form.slice(40)}`)
  const standard = Buffer.from(unhex(proofOf(a, b))).toString('base64').replace(/=+$/, '')
  if (!/[+/]/.test(standard)) throw new Error('the proof\'s base64 must contain + or /')
  text('base64 (+ and /) instead of base64url', 'T2', `burrow-fork-proof:${standard}`)
  // A proof whose base64url ends in a partial group (2 or 3 characters), so it has padding and unused bits to get wrong.
  const tail = base64.length % 4
  if (tail < 2) throw new Error('the proof must end in a partial base64 group')
  text('with = padding', 'T2', form + '='.repeat(4 - tail))
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  text('non-zero unused bits in the last character', 'T2', form.slice(0, -1) + alphabet[alphabet.indexOf(form.at(-1)!) | 1])
  text('one character too many (length 4n+1)', 'T2', form + 'A'.repeat(5 - tail))
  text('nothing after the prefix: zero bytes are no proof', 'F2', 'burrow-fork-proof:')
  text('the two headers in the other order', 'F7', `burrow-fork-proof:${Buffer.from(unhex(proofOf(b, a))).toString('base64url')}`)
  return out
}

/** Every entry of log-invalid.json, in file order. */
export function buildInvalidVectors(): InvalidVectorFile {
  return {
    format: 'burrow log v1: rule vectors (docs/log-format.md, "Rule vectors")',
    limits: LIMITS,
    vectors: [...operationVectors(), ...forkProofVectors(), ...textVectors()],
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('./log-invalid.json', import.meta.url)
  writeFileSync(file, JSON.stringify(buildInvalidVectors(), null, 2) + '\n')
  process.stdout.write(`wrote ${fileURLToPath(file)}\n`)
}
