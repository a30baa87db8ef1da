import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { LengthPrefixedReader, withLengthPrefix } from '../../src/net/length-prefix.js'
import { prng } from '../helpers/prng.js'

const accept = (): void => {}
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** Feeds `bytes` to a fresh reader in pieces that end at `cuts`; returns the messages, in hex. */
function readIn(bytes: Uint8Array, cuts: number[]): string[] {
  const reader = new LengthPrefixedReader(accept)
  const out: Uint8Array[] = []
  let from = 0
  for (const to of [...cuts, bytes.length]) {
    out.push(...reader.push(bytes.subarray(from, to)))
    from = to
  }
  return out.map(hex)
}

describe('length-prefixed reader', () => {
  const messages = [new Uint8Array(0), new Uint8Array(randomBytes(1)), new Uint8Array(randomBytes(300)), new Uint8Array(randomBytes(70_000))]
  const stream = Buffer.concat(messages.map(withLengthPrefix))
  const expected = messages.map(hex)

  it('reads messages whole from one chunk', () => {
    expect(readIn(stream, [])).toEqual(expected)
  })

  it('reads them byte by byte, the prefix split across chunks included', () => {
    const cuts = Array.from({ length: 400 }, (_, i) => i + 1)
    expect(readIn(stream, cuts)).toEqual(expected)
  })

  it('reads them from 500 random splits, with empty chunks among them', () => {
    const random = prng(4)
    for (let round = 0; round < 500; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * stream.length)).sort((a, b) => a - b)
      expect(readIn(stream, cuts)).toEqual(expected)
    }
  })

  it('refuses an announced length from its prefix alone, before any body arrives', () => {
    const seen: number[] = []
    const reader = new LengthPrefixedReader((length) => {
      seen.push(length)
      if (length > 1000) throw new RangeError(`too long: ${length}`)
    })
    expect(reader.push(withLengthPrefix(new Uint8Array(10)))).toHaveLength(1)
    reader.push(Uint8Array.of(0x7f, 0xff))
    expect(() => reader.push(Uint8Array.of(0xff, 0xff))).toThrow(/too long: 2147483647/)
    // Each length is checked once, however many chunks its body takes.
    expect(seen).toEqual([10, 0x7fffffff])
  })

  it('keeps a partial message until the rest arrives', () => {
    const reader = new LengthPrefixedReader(accept)
    const framed = withLengthPrefix(Uint8Array.of(1, 2, 3))
    expect(reader.push(framed.subarray(0, 5))).toEqual([])
    expect(reader.push(framed.subarray(5)).map(hex)).toEqual(['010203'])
    expect(reader.push(new Uint8Array(0))).toEqual([])
  })
})
