// Any allow-listed contact gets a key package from us for a group of its own
// (answered without a user step), then writes a Welcome for it whose ratchet
// tree is malformed. ts-mls 1.6.4 walks the direct path of every unmerged
// leaf a parent lists before it checks the tree hash; for a leaf outside the
// tree that walk never ends and fills the heap. The node must refuse such a
// Welcome (recorded, never tried again), and an operation whose processing
// killed the node must not kill it at every start.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCommit, encodeMlsMessage, type ClientState } from 'ts-mls'
import { describe, expect, it } from 'vitest'
import { createKeyPackage, encodeGroupPayload } from '../../src/group/index.js'
import { RosterAuthService } from '../../src/group/mls/credential.js'
import { decodeKeyPackage } from '../../src/group/mls/messages.js'
import { decodeStoredGroup } from '../../src/group/mls/state-codec.js'
import { cipherSuite, clientConfig } from '../../src/group/mls/suite.js'
import { toHex } from '../../src/log/index.js'
import { GroupAttempts } from '../../src/store/index.js'
import { moduleEntry, runUntilKilled } from '../helpers/child.js'
import { appendRaw, deliver, invite, newIdentity, syncAll, text, type Member, type ReceiverConfig } from '../helpers/group.js'
import { trackedMembers } from '../helpers/members.js'

const member = trackedMembers()
const HELPER = fileURLToPath(new URL('../helpers/group.ts', import.meta.url))

/**
 * X owns a group; `v` answered X's key-package request. X writes, and `v`
 * stores, a Welcome for `v` whose tree has X, a filler leaf and `v`, and a
 * parent node listing `unmerged` as its unmerged leaves: validly signed by X,
 * so only the tree's structure is wrong.
 */
async function hostileWelcome(x: Member, v: Member, unmerged: number[]): Promise<Uint8Array> {
  const { id: groupId } = await x.manager.create()
  const vPackage = await v.manager.createKeyPackage(groupId, x.key, x.manager.ownershipNonce(groupId))
  const row = x.db.prepare('SELECT state FROM groups WHERE group_id = ?').get(groupId) as { state: Buffer }
  const cs = await cipherSuite()
  let state: ClientState = { ...decodeStoredGroup(new Uint8Array(row.state)).state, signaturePrivateKey: x.identity.seed.slice(), clientConfig: clientConfig(new RosterAuthService(() => true)) }
  const filler = decodeKeyPackage((await createKeyPackage(newIdentity())).publicPackage)
  state = (await createCommit({ state, cipherSuite: cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: filler } }] })).newState
  const tree = state.ratchetTree.slice()
  tree[1] = { nodeType: 'parent', parent: { hpkePublicKey: new Uint8Array(32).fill(7), parentHash: new Uint8Array(0), unmergedLeaves: unmerged } }
  state = { ...state, ratchetTree: tree }
  const { welcome } = await createCommit({ state, cipherSuite: cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: decodeKeyPackage(vPackage) } }], ratchetTreeExtension: true })
  appendRaw(x, groupId, encodeGroupPayload({ kind: 'welcome', welcome: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: welcome! }) }), { epoch: 2 })
  deliver(x, v, groupId, x)
  return groupId
}

describe('group manager: a hostile Welcome', () => {
  it('a ratchet tree whose parent lists a leaf outside the tree is refused and recorded; a start processes it without running out of memory', { timeout: 60_000 }, async () => {
    const [x, v] = [member('x'), member('v')]
    const groupId = await hostileWelcome(x, v, [5])

    // The start-up pass runs in a child with a small heap: ts-mls's walk killed it within seconds.
    v.close()
    const config: ReceiverConfig = { dbPath: v.path, seed: toHex(v.identity.seed) }
    const configPath = join(v.path, '..', 'receiver.json')
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })
    const lines = await runUntilKilled(['--max-old-space-size=128', ...moduleEntry(HELPER, 'runReceiver', configPath)], 'done', 30_000)
    expect(lines.at(-1)).toMatch(/^done 0 /)

    v.open()
    expect(v.manager.rejected(groupId).map((r) => [r.code, toHex(r.author)])).toEqual([['GROUP_INVALID_WELCOME', x.hex]])
    expect(v.manager.get(groupId)).toBeUndefined()
    // Passed for good: the next start has nothing to do.
    expect(await v.manager.processPending()).toMatchObject({ joined: 0, rejected: 0 })
  })
})

describe('group manager: an operation the node died processing', () => {
  it.each([
    [1, 'tried again (a power cut is no reason to refuse it)', 3, []],
    [2, 'refused and recorded', 2, ['GROUP_PROCESSING_INTERRUPTED']],
  ])("a member's proposal the owner's node died in %i time(s) is %s at the next start, and the rest is processed", async (deaths, _outcome, epoch, rejected) => {
    const [a, b, c] = [member('a'), member('b'), member('c')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await invite(a, c, groupId)
    await syncAll([a, b, c], groupId)
    await c.manager.send(groupId, text('c at epoch 2'))
    await b.manager.rotate(groupId)
    deliver(b, a, groupId, b)
    deliver(c, a, groupId, c)
    const proposal = a.logs.operationsAfter(b.key, groupId, -1, 100).at(-1)!

    // What a node that died in the proposal leaves behind: the mark, set at each start and never cleared.
    for (let i = 0; i < deaths; i++) new GroupAttempts(a.db).begin(groupId, b.key, proposal.header.seq)
    a.restart()
    await a.manager.processPending()
    expect(a.manager.get(groupId)?.epoch).toBe(epoch)
    expect(a.manager.rejected(groupId).map((r) => r.code)).toEqual(rejected)
    expect(a.texts(groupId)).toEqual(['c at epoch 2'])
    // The mark is gone: the next operation starts afresh.
    expect(new GroupAttempts(a.db).begin(groupId, b.key, proposal.header.seq)).toBe(0)
  })

  it("an owner's commit is applied however often the node died in it: refusing it would cut the member off for good", async () => {
    const [a, b] = [member('a'), member('b')]
    const { id: groupId } = await a.manager.create()
    await invite(a, b, groupId)
    await syncAll([a, b], groupId)
    await a.manager.rotate(groupId)
    await a.manager.send(groupId, text('after the rotation'))
    deliver(a, b, groupId, a)
    const commit = b.logs.operationsAfter(a.key, groupId, -1, 100).at(-2)!
    for (let i = 0; i < 3; i++) new GroupAttempts(b.db).begin(groupId, a.key, commit.header.seq)
    b.restart()
    await b.manager.processPending()
    expect(b.manager.rejected(groupId)).toEqual([])
    expect(b.texts(groupId)).toEqual(['after the rotation'])
  })
})
