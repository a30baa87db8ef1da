import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  decodeForkProof,
  decodeHeader,
  decodeOperation,
  forkProofFromText,
  LogError,
  signingInputOf,
  validateOperation,
  verifyForkProof,
  type DecodeLimits,
} from '../../src/log/index.js'
import { buildInvalidVectors, type InvalidVector, type InvalidVectorFile, type RuleId } from '../vectors/generate-log-invalid-vectors.js'

const file = JSON.parse(readFileSync(new URL('../vectors/log-invalid.json', import.meta.url), 'utf8')) as InvalidVectorFile
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))

/** What Burrow answers for an entry: the error code, or null when it accepts the input. */
function outcome(v: InvalidVector): string | null {
  const limits: DecodeLimits = (v.kind === 'operation' ? v.limits : undefined) ?? file.limits
  try {
    switch (v.kind) {
      case 'operation': {
        const op = decodeOperation(bytes(v.header), v.payload === undefined ? undefined : bytes(v.payload), limits)
        const previous = v.previous === undefined || v.previous === null ? v.previous : decodeOperation(bytes(v.previous))
        validateOperation(op, previous)
        break
      }
      case 'fork-proof':
        verifyForkProof(decodeForkProof(bytes(v.proof), limits), limits)
        break
      case 'fork-proof-text':
        verifyForkProof(forkProofFromText(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes(v.text)), limits), limits)
        break
    }
    return null
  } catch (err) {
    if (err instanceof LogError) return err.code
    throw err
  }
}

/** Every rule of docs/log-format.md that an input can break. V1 cannot fail for bytes that decode: it guards hand-built objects. */
const RULES: readonly RuleId[] = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'V2', 'V3', 'V4', 'V5', 'F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'T1', 'T2']

describe('rule vectors (test/vectors/log-invalid.json)', () => {
  it('are what the generator builds', () => {
    expect(file).toEqual(JSON.parse(JSON.stringify(buildInvalidVectors())))
  })

  it('cover every rule with at least one rejected input', () => {
    const rejected = new Set(file.vectors.filter((v) => v.error !== null).map((v) => v.rule))
    expect(RULES.filter((r) => !rejected.has(r))).toEqual([])
    expect(new Set(file.vectors.map((v) => v.rule))).toEqual(new Set(RULES))
  })

  it('are counted right in docs/log-format.md', () => {
    const spec = readFileSync(new URL('../../docs/log-format.md', import.meta.url), 'utf8').replace(/\s+/g, ' ')
    const refused = file.vectors.filter((v) => v.error !== null).length
    const precedence = file.vectors.filter((v) => v.alsoBreaks !== undefined).length
    expect(spec).toContain(`holds ${file.vectors.length} inputs`)
    expect(spec).toContain(`${refused} must be refused with a given code, ${file.vectors.length - refused} sit on a rule's boundary`)
    expect(spec).toContain(`${precedence} inputs break two rules`)
    expect(file.vectors.every((v) => (v.alsoBreaks?.length ?? 1) === 1)).toBe(true)
  })

  it('have unique names within a rule', () => {
    const names = file.vectors.map((v) => `${v.rule}: ${v.name}`)
    expect(names.length).toBe(new Set(names).size)
  })

  it('Burrow gives every expected outcome', () => {
    const wrong = file.vectors.map((v) => ({ rule: v.rule, name: v.name, expected: v.error, got: outcome(v) })).filter((r) => r.got !== r.expected)
    expect(wrong).toEqual([])
  })

  // The signature entries that some Ed25519 verifiers accept: @noble/curves verifies with the
  // cofactored equation and allows small-order points, so it accepts each of them.
  it('the small-order and mixed-order signatures pass a permissive verifier, so they test the rule and not the arithmetic', () => {
    const permissive = file.vectors.filter((v) => v.rule === 'V5' && /small order|cofactored/.test(v.name))
    expect(permissive).toHaveLength(3)
    for (const v of permissive) {
      if (v.kind !== 'operation') throw new Error('not an operation entry')
      const h = decodeHeader(bytes(v.header))
      expect(ed25519.verify(h.signature, signingInputOf(bytes(v.header)), h.author)).toBe(true)
      expect(outcome(v)).toBe('LOG_INVALID_SIGNATURE')
    }
  })
})
