import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createContactCard, deriveNodeKeys } from '../../src/keys/index.js'
import { AddressTable, peerIdOfIdentityKey } from '../../src/net/address-table.js'
import { peerIdFromIdentitySeed } from '../../src/net/index.js'
import { openDatabase, PeerStore } from '../../src/store/index.js'

function table() {
  const path = join(mkdtempSync(join(tmpdir(), 'burrow-peers-')), 'burrow.db')
  const db = openDatabase(path)
  const own = deriveNodeKeys(randomBytes(32))
  let now = 1_000
  const t = new AddressTable(new PeerStore(db), peerIdOfIdentityKey(own.identity.publicKey), () => now++)
  return { t, own, db, path }
}

describe('allow-list address table', () => {
  it('derives the same PeerId as libp2p does from the identity seed', async () => {
    const keys = deriveNodeKeys(randomBytes(32))
    expect(peerIdOfIdentityKey(keys.identity.publicKey)).toBe((await peerIdFromIdentitySeed(keys.identity.seed)).toString())
  })

  it('adds from a card, allows, resolves by id, onion and name, and removes', () => {
    const { t } = table()
    const bob = deriveNodeKeys(randomBytes(32))
    const added: string[] = []
    t.on('added', (p) => added.push(p.peerId))
    const record = t.add(createContactCard(bob, 'bob'))
    expect(added).toEqual([record.peerId])
    expect(t.isAllowed(record.peerId)).toBe(true)
    expect(t.resolve(bob.onionAddress).peerId).toBe(record.peerId)
    expect(t.resolve(bob.onionAddress.replace('.onion', '').toUpperCase()).peerId).toBe(record.peerId)
    expect(t.resolve('bob').peerId).toBe(record.peerId)
    expect(t.list()[0]?.clientAuthKey).toEqual(bob.clientAuth.publicKey)
    t.recordError(record.peerId, 'onion-client-auth-missing', 'no key')
    expect(t.get(record.peerId)).toBeDefined()
    expect(t.list()[0]?.lastError?.code).toBe('onion-client-auth-missing')
    t.remove('bob')
    expect(t.isAllowed(record.peerId)).toBe(false)
    expect(() => t.resolve('bob')).toThrow(expect.objectContaining({ code: 'PEER_UNKNOWN' }))
  })

  it('survives a reopen, orders by last seen, and refuses our own card and onion clashes', () => {
    const { t, own, db } = table()
    const a = deriveNodeKeys(randomBytes(32))
    const b = deriveNodeKeys(randomBytes(32))
    const pa = t.add(createContactCard(a, 'same'))
    const pb = t.add(createContactCard(b, 'same'))
    t.markSeen(pa.peerId)
    expect(t.list().map((p) => p.peerId)).toEqual([pa.peerId, pb.peerId])
    expect(() => t.resolve('same')).toThrow(expect.objectContaining({ code: 'PEER_AMBIGUOUS' }))
    expect(() => t.add(createContactCard(own))).toThrow(expect.objectContaining({ code: 'PEER_REJECTED' }))
    const reopened = new AddressTable(new PeerStore(db), 'x')
    expect(reopened.isAllowed(pb.peerId)).toBe(true)
  })
})
