import { describe, expect, it } from 'vitest'
import { microdescDigests, parseMicrodescConsensus } from '../../src/testnet/consensus.js'
import { assessReadiness } from '../../src/testnet/readiness.js'
import type { TestnetNode } from '../../src/testnet/state.js'

// Excerpts of what tor 0.4.9.11 served and cached on a private network.
const CONSENSUS = `network-status-version 3 microdesc
vote-status consensus
known-flags Authority Exit Fast Guard HSDir NoEdConsensus Running Stable StaleDesc Sybil V2Dir Valid
r auth1 CzbASPqAQrm4zxlrjkCGPmoX4Bk 2038-01-01 00:00:00 127.0.0.1 35797 32857
m lOEDXQ4NGSB2x17FjF3qr0qAffSdq+AJ6Gj/AkTBaes
s Authority Fast Guard HSDir Running Stable V2Dir Valid
v Tor 0.4.9.11
w Bandwidth=7 Unmeasured=1
r relay1 VJfGp3B6w/++P+0+03QWjdH9WZs 2038-01-01 00:00:00 127.0.0.1 41399 0
m od0uIWQGictcvfDv4+kLrjnQWS2074g45s6kVtm7wKk
s Fast Guard Running Stable V2Dir Valid
v Tor 0.4.9.11
directory-footer
bandwidth-weights Wbd=0
r ignored AAAA 2038-01-01 00:00:00 127.0.0.1 1 0
`

const CACHE = `@last-listed 2026-11-21 11:40:32
onion-key
-----BEGIN RSA PUBLIC KEY-----
MIGJAoGBALUjDnnANUg3e5Qu6VV7UKf0cw4eu8FR2nxZE9E8LHIf9b5vDOx50IgN
fk8LJi3KBR6n2S5tVEcn0DquqrlHmtGv37/yM4Ox537lLBYyIO+5Y1OTkmmYvEhc
TyJEUni/OeorDFWHOg6piOG0zaqaIgC/3ashI9vt4SGbwZlMzZtzAgMBAAE=
-----END RSA PUBLIC KEY-----
ntor-onion-key jr2a9JYORlFF055Xvj3jpvm5U4TIAwui8QTGwCefnik
id ed25519 vCRuSelX5LQk95OIi4zI0N2DyFumsjSUh1lellTIDsE
@last-listed 2026-11-21 11:40:32
onion-key
-----BEGIN RSA PUBLIC KEY-----
MIGJAoGBAMlDEiiw0zBJOsVFKeyd/zt+ApVRn2bZpo0fvycF+uV6hvpr+ADirE08
q2iXK4xgaheXmj0vShn6zkCiqYGsvdIEQyiGOKMI66ZKrxL0xI+zbEKte5SCEuvU
yuaN7WKCZk8QJQeDXkg3MEjblEV5o2572hQDmdQvM0hjPAYgQMbXAgMBAAE=
-----END RSA PUBLIC KEY-----
ntor-onion-key O1/oSyzWc/5fsv03kp0MA90l4cP6Fcnkms6EjiS7eBc
id ed25519 IDdkqBZYuffaEAOc/szH8hTdmkO6SR5F+QVPwTkZJtI
`

const AUTH1_FPR = '0B36C048FA8042B9B8CF196B8E40863E6A17E019'
const RELAY1_FPR = '5497C6A7707AC3FFBE3FED3ED374168DD1FD599B'

describe('parseMicrodescConsensus', () => {
  const routers = parseMicrodescConsensus(CONSENSUS)

  it('reads nickname, hex fingerprint, microdescriptor digest and flags of each router, stopping at the footer', () => {
    expect(routers).toEqual([
      { nickname: 'auth1', fingerprint: AUTH1_FPR, microdescDigest: 'lOEDXQ4NGSB2x17FjF3qr0qAffSdq+AJ6Gj/AkTBaes', flags: ['Authority', 'Fast', 'Guard', 'HSDir', 'Running', 'Stable', 'V2Dir', 'Valid'] },
      { nickname: 'relay1', fingerprint: RELAY1_FPR, microdescDigest: 'od0uIWQGictcvfDv4+kLrjnQWS2074g45s6kVtm7wKk', flags: ['Fast', 'Guard', 'Running', 'Stable', 'V2Dir', 'Valid'] },
    ])
  })

  it('returns nothing for a document without router entries', () => {
    expect(parseMicrodescConsensus('404 Not found')).toEqual([])
  })
})

describe('microdescDigests', () => {
  it('hashes each cached descriptor body as tor does (digest matches the consensus m line)', () => {
    const digests = microdescDigests(CACHE)
    expect(digests.size).toBe(2)
    expect(digests.has('od0uIWQGictcvfDv4+kLrjnQWS2074g45s6kVtm7wKk')).toBe(true)
    expect(digests.has('pCPAOHLjlDo3cpHbuINh98p8+7RYvZ6ni/gLRg2XfL4')).toBe(true)
  })

  it('changes when a descriptor is altered', () => {
    expect(microdescDigests(CACHE.replace('jr2a9', 'Jr2a9')).has('pCPAOHLjlDo3cpHbuINh98p8+7RYvZ6ni/gLRg2XfL4')).toBe(false)
    expect(microdescDigests('').size).toBe(0)
  })
})

describe('assessReadiness', () => {
  const node = (nickname: string, fingerprint: string): TestnetNode => ({ nickname, role: 'relay', pid: 1, orPort: 1, dataDir: `/x/${nickname}`, fingerprint })
  const nodes = [node('auth1', AUTH1_FPR), node('relay1', RELAY1_FPR)]
  const routers = parseMicrodescConsensus(CONSENSUS)
  const all = new Set(['lOEDXQ4NGSB2x17FjF3qr0qAffSdq+AJ6Gj/AkTBaes', 'od0uIWQGictcvfDv4+kLrjnQWS2074g45s6kVtm7wKk'])

  it('reports relays the consensus does not list as HSDir', () => {
    expect(assessReadiness(nodes, routers, () => all)).toEqual({ missingFromConsensus: ['relay1'], lackingMicrodescs: [] })
    expect(assessReadiness(nodes, [], () => all).missingFromConsensus).toEqual(['auth1', 'relay1'])
  })

  it('once all are HSDirs, reports relays whose cache lacks a listed microdescriptor', () => {
    const full = routers.map((r) => ({ ...r, flags: [...r.flags, 'HSDir'] }))
    expect(assessReadiness(nodes, full, () => all)).toEqual({ missingFromConsensus: [], lackingMicrodescs: [] })
    const partial = new Set(['od0uIWQGictcvfDv4+kLrjnQWS2074g45s6kVtm7wKk'])
    expect(assessReadiness(nodes, full, (n) => (n.nickname === 'relay1' ? partial : all))).toEqual({ missingFromConsensus: [], lackingMicrodescs: ['relay1'] })
  })
})
