import { NodeCallError, type EventData, type GroupJson, type LocalApiClient } from '../api/index.js'
import { EXIT } from './errors.js'
import { connect, groupLabel, printGroup, printJson, withApi, type Run } from './api-commands.js'
import { printableLine, shortId } from './format.js'
import type { CliIo } from './io.js'

/** The life of a group from the command line: inviting (queued when the peer is away), leaving, renaming. */

type InviteEvent = EventData['group:invite']

/** How a wait for a queued invitation ended. */
type WaitEnd = { how: 'invited' } | { how: 'failed'; error: NodeCallError } | { how: 'cancelled' } | { how: 'interrupted' } | { how: 'node-gone'; message: string }

/**
 * Waits for the outcome of a queued invitation of `peerId`, from the events
 * already held and those to come, until Ctrl-C or SIGTERM (the invitation
 * stays queued) or the node's end. Bounded by the invitation's own lifetime:
 * the node drops it after a week with a `failed` event.
 */
function waitForInvite(api: LocalApiClient, peerId: string, held: InviteEvent[], listen: (on: (e: InviteEvent) => void) => void, io: CliIo, json: boolean): Promise<WaitEnd> {
  return new Promise((resolve) => {
    const finish = (end: WaitEnd): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(end)
    }
    const onSignal = (): void => finish({ how: 'interrupted' })
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    api.onClose((err) => finish({ how: 'node-gone', message: err.message }))
    const on = (e: InviteEvent): void => {
      if (e.peerId !== peerId) return
      if (e.state === 'invited') finish({ how: 'invited' })
      else if (e.state === 'cancelled') finish({ how: 'cancelled' })
      else if (e.state === 'failed') finish({ how: 'failed', error: new NodeCallError('group.invite', e.error?.code ?? 'NODE_INVITE_FAILED', e.error?.message ?? 'the invitation failed') })
      else if (!json && e.error !== undefined) io.stderr.write(`${printableLine(`still waiting (last attempt: ${e.error.code})`)}\n`)
    }
    held.forEach(on)
    listen(on)
  })
}

/** `burrow group invite <group> <peer> [--no-wait | --cancel]` */
async function groupInvite(run: Run, io: CliIo): Promise<number> {
  const [group, peer] = run.args as [string, string]
  if (run.options.cancel === true) {
    const cancelled = await withApi(run, (api) => api.call('group.invite.cancel', { group, peer }))
    if (run.globals.json) printJson(io, cancelled)
    else io.stdout.write(`cancelled the invitation of ${printableLine(cancelled.name ?? shortId(cancelled.peerId))}\n`)
    return EXIT.OK
  }
  const api = await connect(run)
  try {
    // Subscribed before asking, so that an outcome right after the answer is not missed.
    const held: InviteEvent[] = []
    let deliver: ((e: InviteEvent) => void) | undefined
    await api.subscribe(['group:invite'], (e) => (deliver ?? ((x: InviteEvent) => held.push(x)))(e.data as InviteEvent), { group })
    const first = await api.call('group.invite', { group, peer })
    const who = printableLine(first.invite?.name ?? peer)
    const where = printableLine(groupLabel(first.group))
    if (first.state === 'invited') return printInvited(run, io, first.group, peer)
    if (run.options['no-wait'] === true) {
      if (run.globals.json) printJson(io, first)
      else io.stdout.write(`queued the invitation of ${who} to ${where}: it goes out when ${who} comes online (see \`burrow group members\`)\n`)
      return EXIT.OK
    }
    const cancel = `burrow group invite --cancel ${printableLine(group)} ${printableLine(peer)}`
    if (!run.globals.json) {
      const why = first.invite?.lastError === undefined ? `${who} is not reachable now` : `${who} could not be invited yet (${printableLine(first.invite.lastError.code)})`
      io.stderr.write(
        `${why}: the invitation is queued (it survives a restart of your node) and goes out when ${who} comes online.\n` +
          `waiting for ${who}… Ctrl-C stops waiting and leaves the invitation queued; \`${cancel}\` cancels it.\n`,
      )
    }
    const end = await waitForInvite(api, first.invite?.peerId ?? '', held, (on) => (deliver = on), io, run.globals.json)
    switch (end.how) {
      case 'invited': {
        const { groups } = await api.call('group.list', {})
        return printInvited(run, io, groups.find((g) => g.id === first.group.id) ?? first.group, peer)
      }
      case 'failed':
        throw end.error
      case 'cancelled':
        throw new NodeCallError('group.invite', 'NODE_INVITE_NOT_QUEUED', 'the invitation was cancelled')
      case 'node-gone':
        throw new NodeCallError('group.invite', 'API_CONNECTION_CLOSED', `${end.message}; the invitation stays queued and goes out once the node runs again`)
      case 'interrupted':
        if (run.globals.json) printJson(io, first)
        else io.stderr.write(`stopped waiting; the invitation of ${who} stays queued and goes out when ${who} comes online (\`${cancel}\` cancels it)\n`)
        return EXIT.OK
    }
  } finally {
    await api.close()
  }
}

function printInvited(run: Run, io: CliIo, g: GroupJson, peer: string): number {
  if (run.globals.json) {
    printJson(io, { state: 'invited', group: g })
    return EXIT.OK
  }
  return printGroup(run, io, g, `invited ${printableLine(peer)} to`)
}

/** `burrow group leave <group>` */
async function groupLeave(run: Run, io: CliIo): Promise<number> {
  const g = await withApi(run, (api) => api.call('group.leave', { group: run.args[0]! }))
  if (run.globals.json) printJson(io, g)
  else {
    const owner = g.members.find((m) => m.owner)
    io.stdout.write(
      `asked to leave ${printableLine(groupLabel(g))}: it shows as "${g.status}" until the owner (${printableLine(owner?.name ?? shortId(g.owner))}) commits it, then as "left" (\`burrow group list\`)\n`,
    )
  }
  return EXIT.OK
}

/** `burrow group rename <group> <name> [--description TEXT]` */
async function groupRename(run: Run, io: CliIo): Promise<number> {
  const [group, name] = run.args as [string, string]
  const description = typeof run.options.description === 'string' ? { description: run.options.description === '' ? null : run.options.description } : {}
  const g = await withApi(run, (api) => api.call('group.rename', { group, name, ...description }))
  if (run.globals.json) printJson(io, g)
  else if (g.isOwner) io.stdout.write(`${printableLine(`renamed ${g.id.slice(0, 12)} to ${g.name ?? '-'} for every member${g.description !== undefined ? ` (described: ${g.description})` : ''}`)}\n`)
  else io.stdout.write(`${printableLine(`renamed ${g.id.slice(0, 12)} to ${g.name ?? '-'} on this node only (the owner's name for it: ${g.sharedName ?? 'none'})`)}\n`)
  return EXIT.OK
}

/** Commands of the life of a group, by command path. */
export const GROUP_LIFE_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  'group invite': groupInvite,
  'group leave': groupLeave,
  'group rename': groupRename,
}
