// Deleted key material must not stay readable in the data directory: the
// HPKE private keys of a used key package, the private package of an
// expired invitation, and the secrets of superseded MLS states. After the
// deletions and a checkpoint, every file of the directory (database, -wal,
// -shm, any journal) is scanned for them. Real GroupManagers, real SQLite
// files, real ts-mls.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { INVITATION_LIMITS } from '../../src/group/index.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { toHex } from '../../src/log/index.js'
import { invite, manualClock, syncAll, type Member } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()

/** Which of `secrets` (by name) occur in any file of `m`'s data directory. */
function foundIn(m: Member, secrets: Record<string, Uint8Array>): string[] {
  const dir = dirname(m.path)
  const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)))
  return Object.entries(secrets)
    .filter(([, secret]) => files.some((bytes) => bytes.indexOf(secret) >= 0))
    .map(([name]) => name)
}

function privatePackages(m: Member): Uint8Array[] {
  return (m.db.prepare('SELECT private_package FROM group_invitations ORDER BY id').all() as { private_package: Buffer }[]).map((r) => new Uint8Array(r.private_package))
}

/** Epoch secrets of `m`'s group state as stored now (not kept for past epochs: only their receiver data is). */
function epochSecrets(m: Member, groupId: Uint8Array): { init: Uint8Array; exporter: Uint8Array } {
  const row = m.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }
  const { keySchedule } = decodeStoredGroup(new Uint8Array(row.state)).state
  return { init: keySchedule.initSecret.slice(), exporter: keySchedule.exporterSecret.slice() }
}

describe('deleted key material leaves the data directory', () => {
  it('used and expired private key packages and superseded epoch secrets are gone from every file after a checkpoint', async () => {
    const [a, v] = [member('a'), member('v')]
    const time = manualClock(Date.now())
    v.remanage({ now: time.now })
    a.remanage({ now: time.now })
    const { id: groupId } = await a.manager.create()
    const { id: unused } = await a.manager.create()
    await invite(a, v, groupId)
    await v.manager.createKeyPackage(unused, a.key, a.manager.ownershipNonce(unused))
    const [used, expiring] = privatePackages(v)
    const secrets: Record<string, Uint8Array> = {
      'init key of the used package': used!.subarray(1, 33),
      'init key of the expired package': expiring!.subarray(1, 33),
      'leaf key of the expired package': expiring!.subarray(33, 65),
    }
    expect(foundIn(v, secrets)).toEqual(Object.keys(secrets))

    await syncAll([a, v], groupId)
    expect(v.manager.get(groupId)?.active).toBe(true)
    // The used package's leaf key is V's leaf key in the group until V rotates it.
    secrets['leaf key of the used package'] = used!.subarray(33, 65)
    const joinedAt = epochSecrets(v, groupId)
    secrets['init secret of the epoch V joined'] = joinedAt.init
    secrets['exporter secret of the epoch V joined'] = joinedAt.exporter
    await v.manager.rotate(groupId)
    for (let i = 0; i < 3; i++) {
      await syncAll([a, v], groupId)
      await a.manager.rotate(groupId)
    }
    await syncAll([a, v], groupId)
    expect(v.manager.get(groupId)?.epoch).toBe(5)
    time.advance(INVITATION_LIMITS.pendingTtlMs)
    await v.manager.processPending()
    expect(privatePackages(v)).toEqual([])

    v.db.pragma('wal_checkpoint(TRUNCATE)')
    const current = epochSecrets(v, groupId)
    // The scan does find live secrets.
    expect(foundIn(v, { init: current.init, exporter: current.exporter })).toEqual(['init', 'exporter'])
    expect(foundIn(v, secrets)).toEqual([])
    expect(toHex(current.init)).not.toBe(toHex(joinedAt.init))
  })
})
