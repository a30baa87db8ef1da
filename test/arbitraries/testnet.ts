/**
 * Arbitraries of the testnet's directory documents: router entries of a
 * microdescriptor consensus and entries of a microdescriptor cache, with
 * the text tor writes for them (dir-spec), noise lines included.
 */
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import type { ConsensusRouter } from '../../src/testnet/index.js'
import { opaqueBytes } from './bytes.js'

const FLAGS = ['Authority', 'BadExit', 'Exit', 'Fast', 'Guard', 'HSDir', 'NoEdConsensus', 'Running', 'Stable', 'StaleDesc', 'Sybil', 'V2Dir', 'Valid']
const unpadded = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '')

/** A router entry: the model and its lines (`r`, `m`, `s`, then lines the parser skips). */
const routerEntry = fc
  .record({
    nickname: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789'), minLength: 1, maxLength: 19 }),
    identity: opaqueBytes(20, 20),
    digest: fc.option(opaqueBytes(32, 32), { nil: undefined }),
    flags: fc.option(fc.subarray(FLAGS), { nil: undefined }),
  })
  .map(({ nickname, identity, digest, flags }) => {
    const router: ConsensusRouter = { nickname, fingerprint: Buffer.from(identity).toString('hex').toUpperCase(), flags: flags ?? [], ...(digest === undefined ? {} : { microdescDigest: unpadded(digest) }) }
    const lines = [
      `r ${nickname} ${unpadded(identity)} 2038-01-01 00:00:00 127.0.0.1 5000 0`,
      ...(digest === undefined ? [] : [`m ${unpadded(digest)}`]),
      ...(flags === undefined ? [] : [`s ${flags.join(' ')}`.trimEnd()]),
      'v Tor 0.4.9.11',
      'w Bandwidth=20 Unmeasured=1',
    ]
    return { router, lines }
  })

/** A consensus document and the routers parseMicrodescConsensus must read from it (nothing after the footer counts). */
export const consensus = fc
  .record({ entries: fc.array(routerEntry, { maxLength: 6 }), after: fc.array(routerEntry, { maxLength: 2 }), crlf: fc.boolean() })
  .map(({ entries, after, crlf }) => ({
    text: ['network-status-version 3 microdesc', 'vote-status consensus', 'known-flags ' + FLAGS.join(' '), ...entries.flatMap((e) => e.lines), 'directory-footer', 'bandwidth-weights Wbd=0', ...after.flatMap((e) => e.lines)].join(crlf ? '\r\n' : '\n') + '\n',
    routers: entries.map((e) => e.router),
  }))

/** A microdescriptor cache file and the digests of its descriptors. */
export const microdescCache = fc
  .array(
    fc.record({
      annotations: fc.array(fc.constantFrom('@last-listed 2026-11-21 11:40:32', '@source "127.0.0.1"'), { minLength: 1, maxLength: 2 }),
      body: fc.array(fc.string({ unit: fc.constantFrom(...'abcxyz-+/= 0123456789ABC'), minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }).filter((lines) => lines.join('').trim() !== ''),
    }),
    { maxLength: 5 },
  )
  .map((entries) => ({
    text: entries.map((e) => [...e.annotations, ...e.body].join('\n') + '\n').join(''),
    digests: new Set(entries.map((e) => createHash('sha256').update(e.body.join('\n') + '\n').digest('base64').replace(/=+$/, ''))),
  }))
