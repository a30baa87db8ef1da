/**
 * Cost of the sync policy's questions, asked for every received frame
 * (`GroupManager.mayShare`) and at every session start (`sharedLogs`), on a
 * node with 100 groups of its own (one peer a member of all of them) and
 * 2,000 pending invitations from 63 inviters (the most the invitation caps
 * allow is 2,048). Real SQLite file, real key packages.
 *
 * `npx tsx scripts/bench/group-sharing.ts` prints the table and writes
 * bench-results/group-sharing-*.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { GroupManager, type InvitationLimits, type MlsIdentity } from '../../src/group/index.js'
import { newGroupId } from '../../src/group/group-id.js'
import { LogStore, openDatabase } from '../../src/store/index.js'
import { writeReport, type BenchReport, type BenchRow } from './report.js'

const GROUPS = 100
const INVITATIONS = 2000
const PER_INVITER = 32
/** Each figure: calls until this many ms passed (at most MAX_CALLS), after a few warm-up calls. */
const BUDGET_MS = 2000
const MAX_CALLS = 100_000

function newIdentity(): MlsIdentity {
  const seed = ed25519.utils.randomSecretKey()
  return { seed, publicKey: ed25519.getPublicKey(seed) }
}

function manager(dir: string, name: string, identity: MlsIdentity, limits: Partial<InvitationLimits>): GroupManager {
  const db = openDatabase(join(dir, `${name}.db`))
  return new GroupManager({ db, logs: new LogStore(db), identity, limits })
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-sharing-'))
  try {
    // The request rate would stop the set-up long before 2,000 packages; the node's caps stay as they are.
    const node = manager(dir, 'node', newIdentity(), { requestBurst: 1_000_000 })
    const memberIdentity = newIdentity()
    // The member never processes its Welcomes here, so its 100 invitations from the node all stay pending.
    const member = manager(dir, 'member', memberIdentity, { requestBurst: 1_000_000, pendingPerInviter: GROUPS })
    const groups: Uint8Array[] = []
    for (let i = 0; i < GROUPS; i++) {
      const { id } = await node.create()
      const pkg = await member.createKeyPackage(id, node.identityKey, node.ownershipNonce(id))
      await node.invite(id, memberIdentity.publicKey, pkg)
      groups.push(id)
    }
    const inviters: Uint8Array[] = []
    const invited: Uint8Array[] = []
    for (let i = 0; i < INVITATIONS; i++) {
      if (i % PER_INVITER === 0) inviters.push(newIdentity().publicKey)
      const inviter = inviters.at(-1)!
      const { id, nonce } = newGroupId(inviter)
      await node.createKeyPackage(id, inviter, nonce)
      invited.push(id)
    }
    const stranger = newIdentity().publicKey
    const lastInviter = inviters.at(-1)!
    const microseconds = (fn: () => void): number => {
      for (let w = 0; w < 5; w++) fn()
      const start = process.hrtime.bigint()
      let calls = 0
      while (calls < MAX_CALLS && (calls % 64 !== 0 || Number(process.hrtime.bigint() - start) < BUDGET_MS * 1e6)) {
        fn()
        calls++
      }
      return Number(process.hrtime.bigint() - start) / 1e3 / calls
    }
    let i = 0
    const rows: BenchRow[] = [
      { metric: 'mayShare: a member, one of its groups', value: microseconds(() => node.mayShare(memberIdentity.publicKey, groups[i++ % GROUPS]!)), unit: 'µs/call' },
      { metric: 'mayShare: an inviter, its pending group', value: microseconds(() => node.mayShare(lastInviter, invited.at(-1)!)), unit: 'µs/call' },
      { metric: 'mayShare: a stranger (no match)', value: microseconds(() => node.mayShare(stranger, invited[i++ % INVITATIONS]!)), unit: 'µs/call' },
      { metric: 'sharedLogs: a member of 100 groups', value: microseconds(() => node.sharedLogs(memberIdentity.publicKey)), unit: 'µs/call' },
      { metric: 'sharedLogs: an inviter', value: microseconds(() => node.sharedLogs(lastInviter)), unit: 'µs/call' },
    ]
    return { name: 'group-sharing', rows, extra: { groups: GROUPS, pendingInvitations: node.invitations().length, inviters: inviters.length, budgetMs: BUDGET_MS } }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await run()
  process.stdout.write(`${JSON.stringify(report.extra)}\nwrote ${writeReport(report)}\n`)
}
