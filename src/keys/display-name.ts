
import { KeysError } from './errors.js'
/** Longest display name, in UTF-8 bytes. */
export const DISPLAY_NAME_MAX_BYTES = 64

// Control characters and line/paragraph separators would break a one-line
// display; bidirectional overrides and isolates can make a name render as
// different text (or reorder what follows it), which invites impersonation.
const FORBIDDEN_CHARACTERS = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u

// ignoreBOM keeps a leading U+FEFF as part of the name instead of dropping it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Returns the UTF-8 encoding of a display name after checking it: not empty,
 * at most {@link DISPLAY_NAME_MAX_BYTES} bytes, well-formed (no lone UTF-16
 * surrogates), no control, line-separator or bidi-override characters.
 * Throws `INVALID_DISPLAY_NAME`. The name is not normalised: what the
 * user typed is what gets signed.
 */
export function encodeDisplayName(name: string): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) throw new KeysError('INVALID_DISPLAY_NAME', `invalid display name: it is empty (omit it instead)`)
  const bytes = new TextEncoder().encode(name)
  if (bytes.length > DISPLAY_NAME_MAX_BYTES) {
    throw new KeysError('INVALID_DISPLAY_NAME', `invalid display name: it is ${bytes.length} bytes in UTF-8, the limit is ${DISPLAY_NAME_MAX_BYTES}`)
  }
  // TextEncoder silently replaces lone surrogates with U+FFFD; a round trip exposes that.
  if (strictUtf8.decode(bytes) !== name) throw new KeysError('INVALID_DISPLAY_NAME', `invalid display name: it is not well-formed Unicode`)
  if (FORBIDDEN_CHARACTERS.test(name)) {
    throw new KeysError('INVALID_DISPLAY_NAME', `invalid display name: it contains control, line-break or text-direction characters`)
  }
  return bytes
}

/** Inverse of {@link encodeDisplayName}: decodes strict UTF-8 and applies the same checks. */
export function decodeDisplayName(bytes: Uint8Array): string {
  let name: string
  try {
    name = strictUtf8.decode(bytes)
  } catch {
    throw new KeysError('INVALID_DISPLAY_NAME', `invalid display name: it is not valid UTF-8`)
  }
  encodeDisplayName(name)
  return name
}
