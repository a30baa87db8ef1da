import type { KeepersJson, KeepingOrdererJson, KeptGroupJson } from '../api/index.js'
import { canAsk, confirm } from './confirm.js'
import { CliError, EXIT } from './errors.js'
import { formatBytes } from './file-commands.js'
import { printableLine, shortId, table } from './format.js'
import type { CliIo } from './io.js'
import { printJson, withApi, type Run } from './api-commands.js'

/** Keepers from the command line: the owner names them, members allow or deny them, a keeper shows what it keeps. */

/** The question a group's keepers put to a member, in one line with the commands that answer it. */
export function keeperQuestion(q: KeepersJson): string {
  const owner = q.ownerName ?? shortId(q.owner, 12, 0)
  const group = q.group ?? q.groupId.slice(0, 12)
  const names = q.keepers.map((k) => k.name ?? shortId(k.peerId)).join(', ')
  return printableLine(
    `${owner} introduced keeper${q.keepers.length === 1 ? '' : 's'} ${names} for ${group}: run \`burrow group keepers allow ${group}\` to accept, \`burrow group keepers deny ${group}\` to refuse`,
  )
}

/** What a peer that wants groups kept here asks this node's user, in one line with the commands that answer it. */
export function keepingQuestion(o: KeepingOrdererJson): string {
  const who = o.name ?? shortId(o.peerId)
  return printableLine(`${who} asked this node to keep a group: run \`burrow kept allow ${who}\` to accept, \`burrow kept deny ${who}\` to refuse`)
}

/** A kept group in one table row. */
function keptRow(k: KeptGroupJson): string[] {
  return [k.groupId.slice(0, 12), k.ownerName ?? shortId(k.owner, 12, 0), String(k.members), String(k.operations), `${formatBytes(k.bytes)} of ${formatBytes(k.quotaBytes)}`, k.full ? 'FULL (KEEPER_QUOTA_FULL)' : 'ok']
}

/** The kept groups as a table (`burrow status`, `burrow kept`). */
export function keptTable(kept: readonly KeptGroupJson[]): string {
  return table(['kept group', 'owner', 'members', 'operations', 'size', 'state'], kept.map(keptRow))
}

function printKeepers(io: CliIo, k: KeepersJson): void {
  const group = printableLine(k.group ?? k.groupId.slice(0, 12))
  if (k.keepers.length === 0) {
    io.stdout.write(`no keepers in ${group}\n`)
    return
  }
  io.stdout.write(table(['keeper', 'peer id', 'onion'], k.keepers.map((x) => [x.name ?? '-', x.peerId, x.onion])))
  const answer = { allow: 'allowed: they hold the group\'s logs (ciphertext only) for you', deny: 'refused: nothing is shared with them', ask: 'not answered yet' }[k.decision]
  io.stdout.write(`${group}: ${answer}\n`)
  if (k.decision === 'ask') io.stdout.write(`${keeperQuestion(k)}\n`)
}

/** `burrow group keeper add|remove <group> <peer>` and `burrow group keeper list <group>` */
async function groupKeeper(run: Run, io: CliIo): Promise<number> {
  const [action, group, peer] = run.args as [string, string | undefined, string | undefined]
  if (action !== 'add' && action !== 'remove' && action !== 'list') throw new CliError('CLI_USAGE', `burrow group keeper takes add, remove or list, not "${printableLine(action.slice(0, 20))}"`)
  if (group === undefined) throw new CliError('CLI_USAGE', `burrow group keeper ${action} needs a group`)
  const k = await withApi(run, (api) => {
    if (action === 'list') return api.call('group.keepers', { group })
    if (peer === undefined) throw new CliError('CLI_USAGE', `burrow group keeper ${action} needs a group and a peer`)
    return api.call(action === 'add' ? 'group.keeper.add' : 'group.keeper.remove', { group, peer })
  })
  if (run.globals.json) printJson(io, k)
  else printKeepers(io, k)
  return EXIT.OK
}

/** `burrow group keepers [allow|deny] <group>` */
async function groupKeepers(run: Run, io: CliIo): Promise<number> {
  const [first, second] = run.args as [string, string | undefined]
  const decision = first === 'allow' || first === 'deny' ? first : undefined
  const group = decision === undefined ? first : second
  if (group === undefined) throw new CliError('CLI_USAGE', 'name the group: burrow group keepers allow <group>')
  let k = await withApi(run, (api) => (decision === undefined ? api.call('group.keepers', { group }) : api.call('group.keepers.decide', { group, decision })))
  // Unanswered, and a person at the terminal: asked here and now (anything but yes leaves it unanswered).
  if (decision === undefined && !run.globals.json && k.decision === 'ask' && k.keepers.length > 0 && canAsk(io)) {
    const owner = printableLine(k.ownerName ?? shortId(k.owner, 12, 0))
    const names = printableLine(k.keepers.map((x) => x.name ?? shortId(x.peerId)).join(', '))
    if (await confirm(io, `${owner} introduced keeper${k.keepers.length === 1 ? '' : 's'} ${names} for ${printableLine(k.group ?? group)}: they would hold the group's encrypted logs and learn when you are online. Allow? [y/N] `)) {
      k = await withApi(run, (api) => api.call('group.keepers.decide', { group, decision: 'allow' }))
    }
  }
  if (run.globals.json) printJson(io, k)
  else printKeepers(io, k)
  return EXIT.OK
}

/** `burrow kept`: the groups this node keeps for others; `burrow kept allow|deny <peer>`: whether it keeps a peer's groups. */
async function kept(run: Run, io: CliIo): Promise<number> {
  const [action, peer] = run.args as [string | undefined, string | undefined]
  if (action !== undefined) {
    if (action !== 'allow' && action !== 'deny') throw new CliError('CLI_USAGE', `burrow kept takes allow or deny, not "${printableLine(action.slice(0, 20))}"`)
    if (peer === undefined) throw new CliError('CLI_USAGE', `name the peer: burrow kept ${action} <peer>`)
    const o = await withApi(run, (api) => api.call('kept.decide', { peer, decision: action }))
    if (run.globals.json) printJson(io, o)
    else {
      const who = printableLine(o.name ?? shortId(o.peerId))
      io.stdout.write(action === 'allow' ? `${who} may have its groups kept here (${o.groups} now)\n` : `${who}'s orders are refused; no group is kept for it\n`)
    }
    return EXIT.OK
  }
  const { kept: groups, orderers } = await withApi(run, (api) => api.call('kept.list', {}))
  if (run.globals.json) printJson(io, { kept: groups, orderers })
  else {
    io.stdout.write(groups.length === 0 ? 'this node keeps no group\n' : keptTable(groups))
    const answered = orderers.filter((o) => o.decision !== 'ask')
    if (answered.length > 0) io.stdout.write(`\n${table(['orderer', 'peer id', 'answer', 'groups'], answered.map((o) => [o.name ?? '-', o.peerId, o.decision, String(o.groups)]))}`)
    for (const o of orderers) if (o.decision === 'ask') io.stdout.write(`\n${keepingQuestion(o)}\n`)
  }
  return EXIT.OK
}

/** Keeper commands, by command path. */
export const KEEPER_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  'group keeper': groupKeeper,
  'group keepers': groupKeepers,
  kept,
}
