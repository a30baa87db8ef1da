/**
 * Arbitraries of the keys layer: node keys (a few fixed seeds, derived once),
 * display names (valid ones, and each way a name can break the rules) and
 * contact cards.
 */
import fc from 'fast-check'
import { createContactCard, deriveNodeKeys, encodeContactCard, type ContactCard, type NodeKeys } from '../../src/keys/index.js'

const derived = new Map<number, NodeKeys>()

/** One of a few fixed nodes (key derivation costs milliseconds, so each is derived once). */
export const nodeKeys: fc.Arbitrary<NodeKeys> = fc.integer({ min: 1, max: 5 }).map((n) => {
  let keys = derived.get(n)
  if (keys === undefined) derived.set(n, (keys = deriveNodeKeys(new Uint8Array(32).fill(n))))
  return keys
})

/** Characters a display name may not hold: controls, line and paragraph separators, bidi overrides and isolates. */
export const FORBIDDEN_IN_NAMES = ['\u0000', '\u0007', '\n', '\r', '\t', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069']

/** Display names that follow the rules: 1 to 64 UTF-8 bytes of well-formed, printable text. */
export const validDisplayName = fc
  .string({ unit: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), fc.constantFrom('é', '中', '😀', '\u200d', '\ufeff', ' ')), minLength: 1, maxLength: 16 })
  .filter((name) => Buffer.byteLength(name, 'utf8') <= 64 && !FORBIDDEN_IN_NAMES.some((c) => name.includes(c)))

/** Names that may break a rule: any code unit (lone surrogates too), forbidden characters, too long, empty. */
export const anyDisplayName = fc.oneof(
  validDisplayName,
  fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', maxLength: 1 }), fc.constantFrom(...FORBIDDEN_IN_NAMES, '\ud800', '\udc00')), maxLength: 12 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 60, maxLength: 70 }),
  fc.string({ unit: fc.constantFrom('é', '中', '😀'), minLength: 15, maxLength: 40 }),
)

const encoded = new Map<string, string>()

/** Names the cards carry: a few of each kind of text (any name's rules are {@link anyDisplayName}'s property, without signing). */
const cardNames = ['a', 'Ann', 'José Ñandú', '中文名字', 'emoji 😀🧅', 'zero\u200dwidth', '\ufeffbom', 'x'.repeat(64), 'é'.repeat(32), '😀'.repeat(16)]

/** A card of one of the fixed nodes, with or without a name, and its text (signing costs milliseconds, so each is encoded once). */
export const contactCard: fc.Arbitrary<{ keys: NodeKeys; card: ContactCard; text: string }> = fc
  .record({ keys: nodeKeys, name: fc.option(fc.constantFrom(...cardNames), { nil: undefined }) })
  .map(({ keys, name }) => {
    const card = createContactCard(keys, name)
    const key = `${keys.onionAddress}:${name ?? ''}`
    let text = encoded.get(key)
    if (text === undefined) encoded.set(key, (text = encodeContactCard(card, keys)))
    return { keys, card, text }
  })
