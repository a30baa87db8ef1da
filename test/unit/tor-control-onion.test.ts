import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  buildAddOnionCommand,
  buildClientAuthAddCommand,
  parseAddOnionReply,
  ReplyParser,
  type ControlReply,
} from '../../src/tor/control/index.js'
import { TorError } from '../../src/tor/errors.js'

const KEY_B64 = Buffer.alloc(64, 0xab).toString('base64')
const KEY = `ED25519-V3:${KEY_B64}`
const CLIENT = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST'
const SERVICE_ID = 'z3eg73s63ledjjmmma2wceunr7cefwy2lvznwsuqvnuqg5foduzaefid'

function reply(wire: string): ControlReply {
  return new ReplyParser().push(wire)[0] as ControlReply
}

function argumentError(fn: () => unknown): TorError {
  try {
    fn()
  } catch (err) {
    expect(err).toMatchObject({ code: 'TOR_CONTROL_ARGUMENT' })
    return err as TorError
  }
  throw new Error('expected a TOR_CONTROL_ARGUMENT error')
}

describe('buildAddOnionCommand', () => {
  it('builds a minimal command for a new key', () => {
    expect(buildAddOnionCommand({ key: 'NEW:ED25519-V3', ports: [{ virtualPort: 80, target: '127.0.0.1:8080' }] })).toBe(
      'ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:8080',
    )
  })

  it('adds V3Auth for client auth and sends PoW as keyword arguments, not flags', () => {
    const line = buildAddOnionCommand({
      key: KEY,
      ports: [
        { virtualPort: 80, target: '127.0.0.1:8080' },
        { virtualPort: 81, target: 'unix:/run/burrow/p2p.sock' },
      ],
      flags: ['Detach'],
      clientAuthV3: [CLIENT],
      powDefenses: { enabled: true, queueRate: 50, queueBurst: 100 },
      maxStreams: 8,
    })
    expect(line).toBe(
      `ADD_ONION ${KEY} Flags=Detach,V3Auth MaxStreams=8 PoWDefensesEnabled=1 PoWQueueRate=50 PoWQueueBurst=100 ` +
        `Port=80,127.0.0.1:8080 Port=81,unix:/run/burrow/p2p.sock ClientAuthV3=${CLIENT}`,
    )
    expect(line).not.toMatch(/Flags=[^ ]*PoW/)
  })

  it('does not duplicate V3Auth and leaves PoW out when disabled', () => {
    expect(
      buildAddOnionCommand({ key: KEY, ports: [{ virtualPort: 1, target: '[::1]:2' }], flags: ['V3Auth'], clientAuthV3: [CLIENT], powDefenses: { enabled: false } }),
    ).toBe(`ADD_ONION ${KEY} Flags=V3Auth Port=1,[::1]:2 ClientAuthV3=${CLIENT}`)
  })

  it('refuses bad keys without echoing them', () => {
    for (const key of ['NEW:RSA1024', `ED25519-V3:${KEY_B64.slice(4)}`, `ED25519-V3:${KEY_B64} Port=1`, `RSA1024:${KEY_B64}`, `ED25519-V3:${KEY_B64}\r\nSIGNAL HALT`]) {
      const err = argumentError(() => buildAddOnionCommand({ key, ports: [{ virtualPort: 80, target: '127.0.0.1:1' }] }))
      expect(err.message).not.toContain(KEY_B64.slice(0, 20))
    }
  })

  it('refuses non-loopback or malformed targets, bad ports and bad options', () => {
    const ok = { key: 'NEW:ED25519-V3', ports: [{ virtualPort: 80, target: '127.0.0.1:1' }] }
    for (const target of ['10.0.0.1:80', 'localhost:80', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'unix:relative', 'unix:/a b', 'unix:/a#b/s', 'unix:/a,b', 'unix:/a"b', 'unix:/a\\b', '127.0.0.1:80 Flags=x']) {
      argumentError(() => buildAddOnionCommand({ ...ok, ports: [{ virtualPort: 80, target }] }))
    }
    argumentError(() => buildAddOnionCommand({ ...ok, ports: [] }))
    argumentError(() => buildAddOnionCommand({ ...ok, ports: [{ virtualPort: 0, target: '127.0.0.1:1' }] }))
    argumentError(() => buildAddOnionCommand({ ...ok, ports: [{ virtualPort: 1.5, target: '127.0.0.1:1' }] }))
    argumentError(() => buildAddOnionCommand({ ...ok, flags: ['Detach,DiscardPK Port=1'] }))
    argumentError(() => buildAddOnionCommand({ ...ok, clientAuthV3: ['short'] }))
    argumentError(() => buildAddOnionCommand({ ...ok, maxStreams: -1 }))
    argumentError(() => buildAddOnionCommand({ ...ok, powDefenses: { enabled: false, queueRate: 5 } }))
    argumentError(() => buildAddOnionCommand({ ...ok, powDefenses: { enabled: true, queueBurst: Number.NaN } }))
  })
})

describe('parseAddOnionReply', () => {
  it('reads ServiceID and PrivateKey, and never prints the key', () => {
    const result = parseAddOnionReply(reply(`250-ServiceID=${SERVICE_ID}\r\n250-PrivateKey=${KEY}\r\n250 OK\r\n`))
    expect(result).toEqual({ serviceId: SERVICE_ID, privateKey: KEY })
    expect(JSON.stringify(result)).not.toContain(KEY_B64.slice(0, 20))
    expect(inspect(result)).not.toContain(KEY_B64.slice(0, 20))
    expect(JSON.stringify(result)).toContain(SERVICE_ID)
  })

  it('has no privateKey for an existing key', () => {
    expect(parseAddOnionReply(reply(`250-ServiceID=${SERVICE_ID}\r\n250 OK\r\n`))).toEqual({ serviceId: SERVICE_ID })
  })

  it('rejects a reply without a valid service id', () => {
    expect(() => parseAddOnionReply(reply('250 OK\r\n'))).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
    expect(() => parseAddOnionReply(reply('250-ServiceID=NOT-A-SERVICE\r\n250 OK\r\n'))).toThrow(expect.objectContaining({ code: 'TOR_CONTROL_PROTOCOL' }))
  })
})

describe('buildClientAuthAddCommand', () => {
  const priv = Buffer.alloc(32, 1).toString('base64')

  it('builds the command with optional nickname and Permanent flag', () => {
    expect(buildClientAuthAddCommand(SERVICE_ID, priv)).toBe(`ONION_CLIENT_AUTH_ADD ${SERVICE_ID} x25519:${priv}`)
    expect(buildClientAuthAddCommand(SERVICE_ID, priv, { nickname: 'alice-1', permanent: true })).toBe(
      `ONION_CLIENT_AUTH_ADD ${SERVICE_ID} x25519:${priv} ClientName=alice-1 Flags=Permanent`,
    )
  })

  it('refuses bad ids, keys and nicknames', () => {
    argumentError(() => buildClientAuthAddCommand(`${SERVICE_ID}.onion`, priv))
    argumentError(() => buildClientAuthAddCommand(SERVICE_ID.toUpperCase(), priv))
    const err = argumentError(() => buildClientAuthAddCommand(SERVICE_ID, Buffer.alloc(31, 1).toString('base64')))
    expect(err.message).not.toContain('AQEB')
    argumentError(() => buildClientAuthAddCommand(SERVICE_ID, priv, { nickname: 'has space' }))
    argumentError(() => buildClientAuthAddCommand(SERVICE_ID, priv, { nickname: 'x'.repeat(17) }))
  })
})
