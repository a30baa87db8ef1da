import { getRandomValues, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { equalBytes } from '@noble/ciphers/utils.js'
import { assertMasterSeed, MASTER_SEED_LENGTH } from './master-seed.js'
import { KeysError } from './errors.js'

/**
 * On-disk keystore format, version 1. All integers are single bytes.
 *
 * ```
 * offset  size  field
 *      0     8  magic "BURROWKS" (ASCII)
 *      8     1  format version = 1
 *      9     1  kind: 0 = plain, 1 = sealed
 * plain (kind 0):
 *     10    32  master seed
 * sealed (kind 1):
 *     10     1  scrypt log2(N)
 *     11     1  scrypt r
 *     12     1  scrypt p
 *     13    16  scrypt salt
 *     29    24  XChaCha20-Poly1305 nonce
 *     53    48  XChaCha20-Poly1305(key = scrypt(passphrase), seed), 16-byte tag included;
 *               associated data = bytes 0..52 (the whole header), so no header
 *               field can be changed without failing authentication
 * both:
 *   last    32  SHA-256 of every preceding byte
 * ```
 * The trailing SHA-256 is not a security measure (anyone can recompute it):
 * it tells accidental damage (`KEYSTORE_CORRUPT`) apart from a wrong
 * passphrase, which otherwise look the same to the AEAD. Plain files are 74
 * bytes, sealed files 133. The passphrase is NFC-normalised UTF-8, so the same
 * passphrase typed on differently-normalising systems opens the file.
 */
export const KEYSTORE_FORMAT_VERSION = 1

/** scrypt cost parameters, stored in a sealed keystore so they can be raised later. */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number
  /** Block size. */
  readonly r: number
  /** Parallelisation. */
  readonly p: number
}

/** Parameters for new sealed keystores: N = 2^17, r = 8 (128 MiB, a few hundred ms), p = 1. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ logN: 17, r: 8, p: 1 })

const MAGIC = new TextEncoder().encode('BURROWKS')
const KIND_PLAIN = 0
const KIND_SEALED = 1
const PREFIX_LENGTH = MAGIC.length + 2
const SALT_LENGTH = 16
const NONCE_LENGTH = 24
const TAG_LENGTH = 16
const CHECKSUM_LENGTH = 32
const SEALED_HEADER_LENGTH = PREFIX_LENGTH + 3 + SALT_LENGTH + NONCE_LENGTH
const PLAIN_FILE_LENGTH = PREFIX_LENGTH + MASTER_SEED_LENGTH + CHECKSUM_LENGTH
const SEALED_FILE_LENGTH = SEALED_HEADER_LENGTH + MASTER_SEED_LENGTH + TAG_LENGTH + CHECKSUM_LENGTH

/** Largest file any version may have; readers refuse bigger files before reading them whole. */
export const KEYSTORE_MAX_FILE_LENGTH = 4096

// A file's stored parameters decide how much memory and time opening it costs;
// bound them so a damaged or hostile file cannot exhaust the machine.
const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024
const MAX_SCRYPT_P = 4

/** A keystore file whose structure and checksum are valid. */
export type ParsedKeystore =
  | { readonly kind: 'plain'; readonly seed: Uint8Array }
  | {
      readonly kind: 'sealed'
      readonly scrypt: ScryptParams
      readonly salt: Uint8Array
      readonly nonce: Uint8Array
      /** Associated data of the AEAD: the header bytes. */
      readonly header: Uint8Array
      readonly ciphertext: Uint8Array
    }

/** Serialises an unencrypted keystore holding `seed`. */
export function encodePlainKeystore(seed: Uint8Array): Uint8Array {
  assertMasterSeed(seed)
  const out = new Uint8Array(PLAIN_FILE_LENGTH)
  writePrefix(out, KIND_PLAIN)
  out.set(seed, PREFIX_LENGTH)
  appendChecksum(out)
  return out
}

/** Serialises a keystore holding `seed` encrypted under `passphrase`. */
export async function encodeSealedKeystore(
  seed: Uint8Array,
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<Uint8Array> {
  assertMasterSeed(seed)
  if (passphrase.length === 0) throw new KeysError('KEYSTORE_PASSPHRASE_INVALID', `passphrase rejected: it is empty`)
  if (!scryptParamsInBounds(params)) throw new KeysError('KEYSTORE_PARAMS_INVALID', `scrypt parameters out of bounds: ${describeScrypt(params)}`)
  const out = new Uint8Array(SEALED_FILE_LENGTH)
  writePrefix(out, KIND_SEALED)
  out.set([params.logN, params.r, params.p], PREFIX_LENGTH)
  const salt = getRandomValues(new Uint8Array(SALT_LENGTH))
  const nonce = getRandomValues(new Uint8Array(NONCE_LENGTH))
  out.set(salt, PREFIX_LENGTH + 3)
  out.set(nonce, PREFIX_LENGTH + 3 + SALT_LENGTH)
  const header = out.subarray(0, SEALED_HEADER_LENGTH)
  const key = await deriveKey(passphrase, salt, params)
  try {
    out.set(xchacha20poly1305(key, nonce, header).encrypt(seed), SEALED_HEADER_LENGTH)
  } finally {
    key.fill(0)
  }
  appendChecksum(out)
  return out
}

/**
 * Checks a keystore file's magic, version, kind, length, checksum and (for
 * sealed files) scrypt parameter bounds. Throws `KEYSTORE_CORRUPT`.
 * The returned arrays are views into `bytes`.
 */
export function parseKeystore(bytes: Uint8Array): ParsedKeystore {
  if (bytes.length < PREFIX_LENGTH || !equalBytes(bytes.subarray(0, MAGIC.length), MAGIC)) {
    throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: not a Burrow keystore file`)
  }
  const body = bytes.subarray(0, bytes.length - CHECKSUM_LENGTH)
  if (bytes.length < PREFIX_LENGTH + CHECKSUM_LENGTH || !equalBytes(sha256(body), bytes.subarray(body.length))) {
    throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: checksum mismatch (the file is damaged or truncated)`)
  }
  const version = bytes[MAGIC.length]
  if (version !== KEYSTORE_FORMAT_VERSION) throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: unsupported format version ${version}`)
  const kind = bytes[MAGIC.length + 1]
  if (kind === KIND_PLAIN) {
    if (bytes.length !== PLAIN_FILE_LENGTH) throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: wrong length for a plain keystore`)
    return { kind: 'plain', seed: bytes.subarray(PREFIX_LENGTH, PREFIX_LENGTH + MASTER_SEED_LENGTH) }
  }
  if (kind === KIND_SEALED) {
    if (bytes.length !== SEALED_FILE_LENGTH) throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: wrong length for a sealed keystore`)
    const [logN = 0, r = 0, p = 0] = bytes.subarray(PREFIX_LENGTH, PREFIX_LENGTH + 3)
    const scrypt = { logN, r, p }
    if (!scryptParamsInBounds(scrypt)) throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: scrypt parameters out of bounds: ${describeScrypt(scrypt)}`)
    const saltAt = PREFIX_LENGTH + 3
    return {
      kind: 'sealed',
      scrypt,
      salt: bytes.subarray(saltAt, saltAt + SALT_LENGTH),
      nonce: bytes.subarray(saltAt + SALT_LENGTH, SEALED_HEADER_LENGTH),
      header: bytes.subarray(0, SEALED_HEADER_LENGTH),
      ciphertext: bytes.subarray(SEALED_HEADER_LENGTH, body.length),
    }
  }
  throw new KeysError('KEYSTORE_CORRUPT', `keystore is corrupt: unknown keystore kind ${kind}`)
}

/**
 * Returns a fresh copy of the master seed held in a keystore file, decrypting
 * it if sealed. The caller owns the copy and should zero it when done.
 * Throws `KEYSTORE_CORRUPT`, `KEYSTORE_PASSPHRASE_REQUIRED` or
 * `KEYSTORE_WRONG_PASSPHRASE`. A passphrase given for a plain keystore is ignored.
 */
export async function readKeystoreSeed(bytes: Uint8Array, passphrase?: string): Promise<Uint8Array> {
  const parsed = parseKeystore(bytes)
  if (parsed.kind === 'plain') return parsed.seed.slice()
  if (passphrase === undefined) throw new KeysError('KEYSTORE_PASSPHRASE_REQUIRED')
  const key = await deriveKey(passphrase, parsed.salt, parsed.scrypt)
  try {
    return xchacha20poly1305(key, parsed.nonce, parsed.header).decrypt(parsed.ciphertext)
  } catch {
    // Checksum passed, so the file is intact: authentication failure means the key is wrong.
    throw new KeysError('KEYSTORE_WRONG_PASSPHRASE')
  } finally {
    key.fill(0)
  }
}

function writePrefix(out: Uint8Array, kind: number): void {
  out.set(MAGIC, 0)
  out.set([KEYSTORE_FORMAT_VERSION, kind], MAGIC.length)
}

function appendChecksum(out: Uint8Array): void {
  const bodyLength = out.length - CHECKSUM_LENGTH
  out.set(sha256(out.subarray(0, bodyLength)), bodyLength)
}

function scryptMemory(params: ScryptParams): number {
  return 128 * 2 ** params.logN * params.r
}

function scryptParamsInBounds(params: ScryptParams): boolean {
  const { logN, r, p } = params
  return (
    [logN, r, p].every((n) => Number.isInteger(n) && n >= 1 && n <= 255) &&
    p <= MAX_SCRYPT_P &&
    scryptMemory(params) <= MAX_SCRYPT_MEMORY
  )
}

function describeScrypt({ logN, r, p }: ScryptParams): string {
  return `logN=${logN}, r=${r}, p=${p}`
}

async function deriveKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8')
  const options: ScryptOptions = {
    N: 2 ** params.logN,
    r: params.r,
    p: params.p,
    // Node's default cap is 32 MiB; allow the stored cost plus headroom.
    maxmem: scryptMemory(params) * 2,
  }
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      scryptCallback(secret, salt, 32, options, (err, key) => {
        if (err) reject(err)
        else resolve(key)
      })
    })
  } finally {
    secret.fill(0)
  }
}
