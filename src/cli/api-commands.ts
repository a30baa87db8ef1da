import { sleep } from '../util/async.js'
import { decodeContactCard, identityFingerprint, keystoreExists, type ContactCard } from '../keys/index.js'
import { NetError } from '../net/errors.js'
import { LocalApiClient, LocalApiError, MAX_SEND_BYTES, READ_MAX_LIMIT, socketAnswers, type GroupJson, type MessageJson, type PeerJson, type PendingInviteJson } from '../api/index.js'
import { NodeError } from '../node/errors.js'
import { nodePaths } from '../node/paths.js'
import { BurrowError, TimeoutError } from '../errors.js'
import { canAsk, confirm } from './confirm.js'
import { CliError, EXIT } from './errors.js'
import { ago, keyValues, printable, printableLine, shortId, shortOnion, table, timestamp } from './format.js'
import type { CliIo } from './io.js'
import { integerOption, type Invocation } from './parse.js'
import { fileEntry, formatPeriod, sendFile } from './file-commands.js'
import { nodeRuns, withOfflineNode } from './at-rest-commands.js'
import { keeperQuestion, keepingQuestion, keptTable } from './keeper-commands.js'

/** A parsed command ready to run. */
export type Run = Extract<Invocation, { kind: 'run' }>

const STOP_WAIT_MS = 60_000

/** Prints one JSON document. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`)
}

/**
 * Connects to the node of the data directory. When none answers, says what
 * to run: `burrow init` (exit 4) if there is no node there yet, else
 * `burrow start` (exit 3).
 */
export async function connect(run: Run): Promise<LocalApiClient> {
  const dataDir = run.globals.dataDir
  try {
    return await LocalApiClient.connect(nodePaths(dataDir).socket)
  } catch (err) {
    if (!(err instanceof BurrowError) || err.code !== 'API_NOT_RUNNING') throw err
    if (!(await keystoreExists(dataDir))) throw new NodeError('NODE_NOT_FOUND', `no node in ${dataDir}; create one with \`burrow init\``)
    throw new LocalApiError('API_NOT_RUNNING', `the node in ${dataDir} is not running; start it with \`burrow start\``, { cause: err })
  }
}

export async function withApi<T>(run: Run, fn: (api: LocalApiClient) => Promise<T>): Promise<T> {
  const api = await connect(run)
  try {
    return await fn(api)
  } finally {
    await api.close()
  }
}

export function groupLabel(g: GroupJson): string {
  return g.name !== undefined ? `${g.name} (${g.id.slice(0, 12)})` : g.id.slice(0, 12)
}

function authorLabel(m: MessageJson): string {
  if (m.self) return 'you'
  return m.authorName ?? shortId(m.authorPeerId)
}

/**
 * A message's body for the terminal: a file's entry, or its text with every
 * line after the first indented, so that a member's text cannot pass for
 * another message's line; or the size of binary data.
 */
export function messageBody(m: MessageJson): string {
  if (m.file !== undefined) return fileEntry(m.file)
  return m.text !== undefined ? printable(m.text).replace(/\n/g, '\n    ') : `[${Buffer.from(m.data, 'base64').length} bytes of binary data]`
}

function messageLine(m: MessageJson): string {
  return `#${m.id}  ${timestamp(m.receivedAt)}  ${printableLine(authorLabel(m))}: ${messageBody(m)}\n`
}

function peerRows(peers: PeerJson[]): string {
  return table(
    ['NAME', 'PEER ID', 'ONION', 'CONNECTED', 'LAST SEEN', 'LAST ERROR', 'FINGERPRINT'],
    peers.map((p) => [
      `${p.name ?? '-'}${p.forked ? ' [forked]' : ''}${p.keeping !== undefined ? ` (${p.keeping.join(', ')})` : ''}`,
      shortId(p.peerId),
      shortOnion(p.onion),
      p.connected ? 'yes' : 'no',
      ago(p.lastSeen),
      p.lastError === undefined ? '-' : `${p.lastError.code} (${ago(p.lastError.at)})`,
      p.fingerprint,
    ]),
  )
}

/** `burrow status` */
async function status(run: Run, io: CliIo): Promise<number> {
  const s = await withApi(run, (api) => api.call('status', {}))
  if (run.globals.json) printJson(io, s)
  else {
    io.stdout.write(
      keyValues([
        ['state', s.state],
        ['peer id', s.peerId],
        ['onion', s.onion],
        ['tor', `${s.tor.state}, bootstrap ${s.tor.bootstrap}%${s.tor.pid !== undefined ? `, pid ${s.tor.pid}` : ''}`],
        ['reachable', s.reachable ? 'yes' : 'no'],
        ['peers', `${s.peers.connected} connected of ${s.peers.total}`],
        ['groups', String(s.groups)],
        ['operations', String(s.operations)],
      ]),
    )
    if (s.diskFull) io.stdout.write('\nthe disk is nearly full (under 1 GiB free): nothing from peers is stored until space is freed\n')
    if (s.kept.length > 0) io.stdout.write(`\n${keptTable(s.kept)}`)
    for (const q of s.keeperQuestions) io.stdout.write(`\n${keeperQuestion(q)}\n`)
    for (const o of s.keepingQuestions) io.stdout.write(`\n${keepingQuestion(o)}\n`)
  }
  return EXIT.OK
}

/** `burrow card [--qr]`: from the running node, or from the keystore when none runs. */
async function card(run: Run, io: CliIo): Promise<number> {
  const c = (await nodeRuns(run.globals.dataDir))
    ? await withApi(run, (api) => api.call('card', {}))
    : await withOfflineNode(run, io, (node) => ({ card: node.contactCard(), qr: node.contactCardQr(), fingerprint: node.status().fingerprint }))
  const qr = run.options.qr === true
  if (run.globals.json) printJson(io, qr ? c : { card: c.card, fingerprint: c.fingerprint })
  else io.stdout.write(`${qr ? `${c.qr}\n` : ''}${c.card}\nfingerprint  ${c.fingerprint}\n`)
  return EXIT.OK
}

/**
 * Shows what each card names, its fingerprint first of all, and asks before
 * the cards are stored (see `burrow peers add --help`): on a terminal, a
 * yes/no question per card; without one, a refusal unless --yes was given.
 * This node's own card is refused before anyone is asked anything.
 */
async function confirmCards(run: Run, io: CliIo, cards: readonly ContactCard[], ownFingerprint: string): Promise<boolean> {
  const fingerprints = cards.map((card) => identityFingerprint(card.identityKey))
  if (fingerprints.includes(ownFingerprint)) throw new NetError('PEER_REJECTED', `that is this node's own contact card (fingerprint ${ownFingerprint}); add the card of another node`)
  if (run.options.yes === true) return true
  for (const [i, card] of cards.entries()) {
    const fingerprint = fingerprints[i]!
    const name = card.displayName !== undefined ? printableLine(card.displayName) : '(no name)'
    if (!canAsk(io)) {
      throw new CliError(
        'CLI_USAGE',
        `not a terminal, so nobody can confirm: compare the fingerprint ${fingerprint} of ${name} with the peer over a channel you trust, then run again with --yes`,
      )
    }
    io.stderr.write(
      `${keyValues([
        ['name', name],
        ['onion', card.onionAddress],
        ['fingerprint', fingerprint],
      ])}Compare this fingerprint with the one the peer sees in \`burrow card\`, over a channel you trust (in person, a call).\n`,
    )
    if (!(await confirm(io, `Add ${name}? [y/N] `))) {
      io.stderr.write(cards.length > 1 ? 'none added\n' : 'not added\n')
      return false
    }
  }
  return true
}

type AddedPeer = { name?: string; peerId: string; onion: string; fingerprint: string }

/**
 * `burrow peers add <card>…`: through the running node, or into the database
 * when none runs. Several cards go in one call (one re-publication); each is
 * confirmed first, and one refused adds none. Every card is decoded before
 * anything is asked, so one malformed card stops the command at once.
 */
async function peersAdd(run: Run, io: CliIo): Promise<number> {
  const cards = run.args
  const decoded = cards.map((c) => decodeContactCard(c))
  const one = cards.length === 1 ? cards[0] : undefined
  let added: AddedPeer | AddedPeer[] | undefined
  if (await nodeRuns(run.globals.dataDir)) {
    added = await withApi(run, async (api) => {
      if (!(await confirmCards(run, io, decoded, (await api.call('card', {})).fingerprint))) return undefined
      return one !== undefined ? api.call('peers.add', { card: one }) : (await api.call('peers.add', { cards })).peers
    })
  } else {
    added = await withOfflineNode(run, io, async (node) => {
      if (!(await confirmCards(run, io, decoded, node.status().fingerprint))) return undefined
      return one !== undefined ? node.addPeer(one) : node.addPeers(cards)
    })
  }
  if (added === undefined) return EXIT.FAILURE
  if (run.globals.json) printJson(io, Array.isArray(added) ? { peers: added } : added)
  else io.stdout.write((Array.isArray(added) ? added : [added]).map(addedLine).join(''))
  return EXIT.OK
}

function addedLine(p: AddedPeer): string {
  return `added ${printableLine(p.name ?? shortId(p.peerId))}: ${p.peerId} at ${p.onion}, fingerprint ${p.fingerprint}\n`
}

async function peersRemove(run: Run, io: CliIo): Promise<number> {
  const p = await withApi(run, (api) => api.call('peers.remove', { peer: run.args[0]! }))
  if (run.globals.json) printJson(io, p)
  else io.stdout.write(`removed ${printableLine(p.name ?? shortId(p.peerId))} (${p.peerId})\n`)
  return EXIT.OK
}

async function peersList(run: Run, io: CliIo): Promise<number> {
  const result = await withApi(run, (api) => api.call('peers.list', {}))
  if (run.globals.json) printJson(io, result)
  else io.stdout.write(result.peers.length === 0 ? 'no peers yet; add one with `burrow peers add <card>`\n' : peerRows(result.peers))
  return EXIT.OK
}

export function printGroup(run: Run, io: CliIo, g: GroupJson, what: string): number {
  if (run.globals.json) printJson(io, g)
  else io.stdout.write(`${what} ${printableLine(groupLabel(g))}: epoch ${g.epoch}, ${g.members.length} member${g.members.length === 1 ? '' : 's'}\n`)
  return EXIT.OK
}

async function groupCreate(run: Run, io: CliIo): Promise<number> {
  const name = run.args[0]
  const description = typeof run.options.description === 'string' && run.options.description !== '' ? run.options.description : undefined
  const g = await withApi(run, (api) => api.call('group.create', { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) }))
  if (!run.globals.json) io.stdout.write(`created group ${g.id}${g.name !== undefined ? ` (${printableLine(g.name)})` : ''}\n`)
  else printJson(io, g)
  return EXIT.OK
}

async function groupRemove(run: Run, io: CliIo): Promise<number> {
  const g = await withApi(run, (api) => api.call('group.remove', { group: run.args[0]!, peer: run.args[1]! }))
  return printGroup(run, io, g, `removed ${run.args[1]} from`)
}

async function groupRotate(run: Run, io: CliIo): Promise<number> {
  const r = await withApi(run, (api) => api.call('group.rotate', { group: run.args[0]! }))
  if (run.globals.json) printJson(io, r)
  else if (r.state === 'committed') io.stdout.write(`rotated your keys in ${printableLine(groupLabel(r.group))}: committed at epoch ${r.epoch}\n`)
  else {
    const owner = r.group.members.find((m) => m.owner)
    io.stdout.write(
      `proposed a key update in ${printableLine(groupLabel(r.group))}; it takes effect when the owner (${printableLine(owner?.name ?? shortId(r.group.owner))}) commits it: \`burrow group list\` shows "update proposed" until then\n`,
    )
  }
  return EXIT.OK
}

/** Queued invitations, as lines under a member table. */
export function pendingLines(pending: readonly PendingInviteJson[]): string {
  return pending
    .map((i) => {
      const error = i.lastError === undefined ? '' : `; last attempt: ${i.lastError.code}`
      return `invitation queued for ${i.name ?? shortId(i.peerId)} since ${ago(i.since)} (${i.attempts} attempt${i.attempts === 1 ? '' : 's'}${error}); sent when the peer comes online`
    })
    .map((line) => `${printableLine(line)}\n`)
    .join('')
}

async function groupMembers(run: Run, io: CliIo): Promise<number> {
  const result = await withApi(run, (api) => api.call('group.members', { group: run.args[0]! }))
  if (run.globals.json) printJson(io, result)
  else {
    io.stdout.write(
      table(
        ['NAME', 'PEER ID', 'IDENTITY', 'ROLE'],
        result.members.map((m) => [`${m.self ? 'you' : (m.name ?? '-')}${m.forked ? ' [forked]' : ''}`, shortId(m.peerId), shortId(m.identityKey), m.owner ? 'owner' : 'member']),
      ) + pendingLines(result.pending),
    )
    if (result.retentionMs !== null) io.stdout.write(`retention: every member deletes what is older than ${formatPeriod(result.retentionMs)}\n`)
  }
  return EXIT.OK
}

async function groupList(run: Run, io: CliIo): Promise<number> {
  const result = await withApi(run, (api) => api.call('group.list', {}))
  if (run.globals.json) printJson(io, result)
  else if (result.groups.length === 0) io.stdout.write('no groups yet; create one with `burrow group create [name]`\n')
  else {
    io.stdout.write(
      table(
        ['ID', 'NAME', 'ROLE', 'EPOCH', 'MEMBERS', 'RETENTION', 'STATE'],
        result.groups.map((g) => [
          g.id.slice(0, 12),
          g.name ?? '-',
          g.isOwner ? 'owner' : 'member',
          String(g.epoch),
          String(g.members.length),
          formatPeriod(g.retentionMs),
          g.status === 'removed' ? 'removed by the owner' : g.pendingProposal === 'update' ? 'active, update proposed' : g.status,
        ]),
      ),
    )
  }
  return EXIT.OK
}

async function send(run: Run, io: CliIo): Promise<number> {
  const [group, text] = run.args as [string, string | undefined]
  const file = run.options.file
  if ((text === undefined) === (file === undefined)) {
    throw new CliError('CLI_USAGE', 'give either <text> or --file PATH; see `burrow send --help`')
  }
  if (typeof file === 'string') return sendFile(run, io, group, file)
  const m = await withApi(run, (api) => api.call('send', { group, text: text! }))
  if (run.globals.json) printJson(io, m)
  else io.stdout.write(`sent #${m.id} to ${m.group.slice(0, 12)} (${Buffer.from(m.data, 'base64').length} bytes)\n`)
  return EXIT.OK
}

async function read(run: Run, io: CliIo): Promise<number> {
  const group = run.args[0]!
  const after = integerOption(run.options, 'after', 0, Number.MAX_SAFE_INTEGER)
  const limit = integerOption(run.options, 'limit', 1, READ_MAX_LIMIT)
  const api = await connect(run)
  try {
    if (run.options.follow === true) return await follow(run, io, api, group, after)
    const page = await api.call('read', { group, ...(after !== undefined ? { afterId: after } : {}), ...(limit !== undefined ? { limit } : {}) })
    if (run.globals.json) printJson(io, page)
    else {
      for (const m of page.messages) io.stdout.write(messageLine(m))
      const asked = await api.call('group.keepers', { group })
      if (asked.decision === 'ask' && asked.keepers.length > 0) io.stderr.write(`${keeperQuestion(asked)}\n`)
    }
    return EXIT.OK
  } finally {
    await api.close()
  }
}

/**
 * Prints the backlog, then every new message until SIGINT/SIGTERM (the user
 * ending it: exit 0, nothing more printed) or the node goes away (exit 1,
 * with the reason).
 */
async function follow(run: Run, io: CliIo, api: LocalApiClient, group: string, after: number | undefined): Promise<number> {
  let ended = false
  let resolveEnd!: (code: number) => void
  const end = new Promise<number>((resolve) => (resolveEnd = resolve))
  const finish = (code: number): void => {
    ended = true
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    resolveEnd(code)
  }
  const onSignal = (): void => finish(EXIT.OK)
  // From the start: a Ctrl-C during the backlog ends the command as quietly as one after it.
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  api.onClose((err) => {
    if (ended) return
    if (!run.globals.json) io.stderr.write(`burrow: ${err.message} (${err.code})\n`)
    else printJson(io, { error: { code: err.code, message: err.message } })
    finish(EXIT.FAILURE)
  })

  let last = after ?? 0
  const print = (m: MessageJson): void => {
    if (ended || m.id <= last) return
    last = m.id
    if (run.globals.json) printJson(io, m)
    else io.stdout.write(messageLine(m))
  }
  try {
    // Subscribe first and hold live messages until the backlog is printed, so none falls in between.
    let held: MessageJson[] | undefined = []
    await api.subscribe(['group:message'], (e) => {
      const m = e.data as MessageJson
      if (held !== undefined) held.push(m)
      else print(m)
    }, { group })
    for (;;) {
      if (ended) return await end
      const page = await api.call('read', { group, afterId: last, limit: READ_MAX_LIMIT })
      page.messages.forEach(print)
      if (page.messages.length < READ_MAX_LIMIT && !page.more) break
    }
    held.forEach(print)
    held = undefined
  } catch (err) {
    // The connection's end was already reported (or the user ended it): that is the outcome, not this call's error.
    if (ended) return await end
    finish(EXIT.FAILURE)
    throw err
  }
  return end
}

async function stop(run: Run, io: CliIo): Promise<number> {
  const socket = nodePaths(run.globals.dataDir).socket
  await withApi(run, (api) => api.call('stop', {}))
  const deadline = Date.now() + STOP_WAIT_MS
  while (await socketAnswers(socket)) {
    if (Date.now() > deadline) {
      throw new TimeoutError('waiting for the node to stop', STOP_WAIT_MS)
    }
    await sleep(200)
  }
  if (run.globals.json) printJson(io, { stopped: true })
  else io.stdout.write('node stopped\n')
  return EXIT.OK
}

/** Commands that talk to a running node through its local API, by command path. */
export const API_COMMANDS: Record<string, (run: Run, io: CliIo) => Promise<number>> = {
  status,
  card,
  stop,
  'peers add': peersAdd,
  'peers remove': peersRemove,
  'peers list': peersList,
  'group create': groupCreate,
  'group remove': groupRemove,
  'group members': groupMembers,
  'group list': groupList,
  'group rotate': groupRotate,
  send,
  read,
}
