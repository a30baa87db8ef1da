import { createHash } from 'node:crypto'
import { base64 } from '@scure/base'

/** One router entry of a microdescriptor-flavoured consensus. */
export interface ConsensusRouter {
  nickname: string
  /** Relay identity fingerprint, 40 upper-case hex digits; empty when the entry's identity is malformed. */
  fingerprint: string
  /** Flags from the `s` line, e.g. `HSDir`, `Guard`, `Running`. */
  flags: string[]
  /** Digest from the `m` line: unpadded base64 SHA-256 of the router's microdescriptor. */
  microdescDigest?: string
}

/**
 * Parses the router entries (`r`, `m`, `s` lines) of a consensus served at
 * `/tor/status-vote/current/consensus-microdesc`. Signatures are not checked:
 * the text comes from our own authority over loopback and only drives a
 * readiness decision. One entry (dir-spec; `r` carries nickname, identity
 * digest in unpadded base64, publication, address, ORPort, DirPort):
 *
 * ```text
 * r auth2 Bsn+THpH1Q59Gc0Ko5WASlZ7+x8 2038-01-01 00:00:00 127.0.0.1 38913 34137
 * m KJxxi3OAzmtZW6VHEipR8Vrw27HM7dTQWZzgIb1VJKI
 * s Authority Fast Guard HSDir Running Stable V2Dir Valid
 * v Tor 0.4.9.11
 * w Bandwidth=447 Unmeasured=1
 * ```
 *
 * Parsing stops at `directory-footer`.
 */
export function parseMicrodescConsensus(text: string): ConsensusRouter[] {
  const routers: ConsensusRouter[] = []
  let current: ConsensusRouter | undefined
  for (const line of text.split('\n')) {
    const [keyword, ...args] = line.trim().split(' ')
    if (keyword === 'r' && args.length >= 2) {
      current = { nickname: args[0] ?? '', fingerprint: identityToHex(args[1] ?? ''), flags: [] }
      routers.push(current)
    } else if (keyword === 'm' && current !== undefined && args[0] !== undefined) {
      current.microdescDigest = args[0]
    } else if (keyword === 's' && current !== undefined) {
      current.flags = args.filter((f) => f !== '')
    } else if (keyword === 'directory-footer') {
      break
    }
  }
  return routers
}

/** Length of a relay identity digest (SHA-1). */
const IDENTITY_BYTES = 20

// The r line carries the 20-byte identity digest as unpadded base64; anything else names no relay.
function identityToHex(identity: string): string {
  const padded = identity + '='.repeat((4 - (identity.length % 4)) % 4)
  try {
    const digest = base64.decode(padded)
    return digest.length === IDENTITY_BYTES ? Buffer.from(digest).toString('hex').toUpperCase() : ''
  } catch {
    return ''
  }
}

/**
 * Digests (unpadded base64 SHA-256) of the microdescriptors in a tor
 * `cached-microdescs` or `cached-microdescs.new` file. Each entry is a run of
 * `@annotation` lines followed by the descriptor body, which is what is hashed.
 */
export function microdescDigests(cacheText: string): Set<string> {
  const digests = new Set<string>()
  for (const body of cacheText.split(/^@[^\n]*\n/m)) {
    if (body.trim() === '') continue
    digests.add(createHash('sha256').update(body, 'utf8').digest('base64').replace(/=+$/, ''))
  }
  return digests
}
