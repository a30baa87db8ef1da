import { decodeCanonical, encodeCanonical, type CborValue } from '../log/cbor.js'
import { LogError } from '../log/errors.js'
import { GroupError } from './errors.js'

/**
 * The owner's settings of a group: its name and description, shared with
 * every member. They travel as an MLS application message in the owner's
 * log (payload kind `setting`), so only members read them and only the owner
 * can write them: members take a setting from nobody else.
 *
 * The plaintext is a canonical CBOR array `[1, name, description]`, each a
 * text string or `null`:
 * ```
 * 83          array(3)
 *   01        version 1
 *   64 7465616d   "team"
 *   f6        null: no description
 * ```
 * A member keeps the latest setting it processed (settings are processed in
 * the owner's log order). The owner writes its setting again after every
 * invitation, in the new epoch, since a joiner cannot read earlier epochs.
 */
export interface GroupSetting {
  readonly name: string | null
  readonly description: string | null
}

/** Longest group name, in characters (local or shared). */
export const MAX_GROUP_NAME_LENGTH = 200

/** Longest description, in characters. */
export const MAX_GROUP_DESCRIPTION_LENGTH = 1000

const SETTING_VERSION = 1

// C0 and C1 controls, DEL, bidi marks, overrides and isolates, the zero-width space and BOM, and line separators: a
// name must not rewrite a terminal or disguise itself (as another group's name, with an invisible character added).
// The zero-width (non-)joiners stay: Persian and Indic writing and emoji sequences need them.
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/
// The same, but a description may hold tabs and line breaks.
const UNSAFE_IN_DESCRIPTION = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/

/** Checks a name or description (ours or the owner's); throws `GROUP_INVALID_ARGUMENT`, or `code` for one that came from the network. */
export function checkSettingText(value: string | null, what: 'name' | 'description', code: 'GROUP_INVALID_ARGUMENT' | 'GROUP_MALFORMED_PAYLOAD' = 'GROUP_INVALID_ARGUMENT'): void {
  if (value === null) return
  const max = what === 'name' ? MAX_GROUP_NAME_LENGTH : MAX_GROUP_DESCRIPTION_LENGTH
  if (typeof value !== 'string' || value.length > max) throw new GroupError(code, `group ${what} must be a string of at most ${max} characters`)
  if (what === 'name' && value.trim().length === 0) throw new GroupError(code, 'group name must not be empty or blank')
  if ((what === 'name' ? UNSAFE_IN_NAME : UNSAFE_IN_DESCRIPTION).test(value)) throw new GroupError(code, `group ${what} must not hold control characters`)
}

/** The plaintext of a setting. */
export function encodeGroupSetting(setting: GroupSetting): Uint8Array {
  checkSettingText(setting.name, 'name')
  checkSettingText(setting.description, 'description')
  return encodeCanonical([SETTING_VERSION, setting.name, setting.description])
}

/** Reads a setting's plaintext (from the owner, but still checked like everything received); `GROUP_MALFORMED_PAYLOAD` otherwise. */
export function decodeGroupSetting(bytes: Uint8Array): GroupSetting {
  let value: CborValue
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof LogError) throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'group setting is not canonical CBOR', { cause: err })
    throw err
  }
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== SETTING_VERSION) {
    throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'group setting must be [1, name, description]')
  }
  const [, name, description] = value as readonly CborValue[]
  if (!(name === null || typeof name === 'string') || !(description === null || typeof description === 'string')) {
    throw new GroupError('GROUP_MALFORMED_PAYLOAD', 'group setting name and description must be text or null')
  }
  checkSettingText(name, 'name', 'GROUP_MALFORMED_PAYLOAD')
  checkSettingText(description, 'description', 'GROUP_MALFORMED_PAYLOAD')
  return { name, description }
}
