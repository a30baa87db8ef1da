/**
 * Fuzzing contact cards with fast-check: a card someone pastes can be
 * anything. Valid cards round-trip (in either case, with white space
 * around); a display name is taken exactly when it follows the rules;
 * edited text and forged bodies behind a valid checksum are refused with
 * KeysError INVALID_CONTACT_CARD, and never decode to another card.
 */
import { bech32m } from '@scure/base'
import { describe, expect } from 'vitest'
import { createContactCard, decodeContactCard, KEYS_ERRORS, type ContactCard } from '../../src/keys/index.js'
import { decodeDisplayName, encodeDisplayName } from '../../src/keys/display-name.js'
import { applyEdits, byteEdits } from '../arbitraries/bytes.js'
import { anyDisplayName, contactCard, nodeKeys } from '../arbitraries/keys.js'
import { expectSameData, fc, fuzz, typedErrorOf } from '../helpers/fuzz.js'

/** The display name rules of src/keys/display-name.ts, restated. */
function nameFollowsRules(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name, 'utf8') <= 64 && !/\p{Cs}/u.test(name) && !/[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u.test(name)
}

/** Decodes `text`: the card, or undefined after checking the error is INVALID_CONTACT_CARD. */
function decoded(text: string): ContactCard | undefined {
  let card: ContactCard | undefined
  typedErrorOf(() => (card = decodeContactCard(text)), KEYS_ERRORS, ['INVALID_CONTACT_CARD'])
  return card
}

const space = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u3000'), maxLength: 3 })

describe('contact cards', () => {
  fuzz('keys: contact cards round trip', [contactCard, fc.boolean(), space, space], { runs: 150, timeoutMs: 60_000 })(
    'decode back to the card, in lower or upper case, with white space around',
    ({ card, text }, upper, before, after) => {
      expectSameData(decodeContactCard(`${before}${upper ? text.toUpperCase() : text}${after}`), card)
    },
  )

  fuzz('keys: display names', [nodeKeys, anyDisplayName], { runs: 3000 })(
    'are taken exactly when they follow the rules (else INVALID_DISPLAY_NAME), and read back from their bytes unchanged',
    (keys, name) => {
      let card: ContactCard | undefined
      typedErrorOf(() => (card = createContactCard(keys, name)), KEYS_ERRORS, ['INVALID_DISPLAY_NAME'])
      expect(card !== undefined, JSON.stringify(name)).toBe(nameFollowsRules(name))
      if (card !== undefined) expect(decodeDisplayName(encodeDisplayName(name))).toBe(name)
    },
  )

  fuzz('keys: contact card text edited', [contactCard, byteEdits(4)], { runs: 2000, timeoutMs: 60_000 })(
    'refuses edited text with INVALID_CONTACT_CARD, or reads the same card',
    ({ card, text }, edits) => {
      const result = decoded(Buffer.from(applyEdits(Buffer.from(text, 'latin1'), edits)).toString('latin1'))
      if (result !== undefined) expectSameData(result, card)
    },
  )

  fuzz('keys: contact card body forged', [contactCard, byteEdits(3), fc.constantFrom('burrow', 'burrow', 'burrox', 'bc')], { runs: 400, timeoutMs: 60_000 })(
    'refuses a changed body behind a valid checksum with INVALID_CONTACT_CARD: layout, keys and signature are all checked',
    ({ card, text }, edits, prefix) => {
      const { words } = bech32m.decode(text as `${string}1${string}`, false)
      const body = bech32m.fromWords(words)
      const forged = applyEdits(body, edits)
      const result = decoded(bech32m.encode(prefix, bech32m.toWords(forged), false))
      if (result !== undefined) {
        expect(prefix).toBe('burrow')
        expect(Buffer.from(forged).equals(Buffer.from(body))).toBe(true)
        expectSameData(result, card)
      }
    },
  )
})
