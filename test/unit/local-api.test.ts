import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { Server, createConnection, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { deriveNodeKeys, createContactCard, encodeContactCard, generateMasterSeed } from '../../src/keys/index.js'
import {
  LocalApiClient,
  MAX_IN_FLIGHT_PER_CONNECTION,
  MAX_REQUEST_LINE_BYTES,
  MAX_SEND_BYTES,
  startLocalApi,
  type ApiEvent,
  type LocalApiServer,
} from '../../src/api/index.js'
import { MemoryNode } from '../helpers/memory-node.js'

function peerCard(name?: string): { card: string; identityKey: Uint8Array } {
  const keys = deriveNodeKeys(generateMasterSeed())
  return { card: encodeContactCard(createContactCard(keys, name), keys), identityKey: keys.identity.publicKey }
}

/** A raw connection speaking lines, to send what a well-behaved client never would. */
class RawConnection {
  readonly socket: Socket
  readonly lines: unknown[] = []
  #buffer = ''
  #waiters: (() => void)[] = []
  closed = false

  constructor(path: string) {
    this.socket = createConnection({ path })
    this.socket.setEncoding('utf8')
    this.socket.on('data', (chunk: string) => {
      this.#buffer += chunk
      let nl
      while ((nl = this.#buffer.indexOf('\n')) !== -1) {
        this.lines.push(JSON.parse(this.#buffer.slice(0, nl)))
        this.#buffer = this.#buffer.slice(nl + 1)
      }
      this.#wake()
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  send(text: string): void {
    this.socket.write(text)
  }

  /** Waits (bounded) until `count` lines arrived or the connection closed. */
  async waitLines(count: number, timeoutMs = 5000): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs
    while (this.lines.length < count && !this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${count} lines (have ${this.lines.length})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.lines
  }

  async request(line: string): Promise<Record<string, unknown>> {
    const before = this.lines.length
    this.send(line.endsWith('\n') ? line : `${line}\n`)
    await this.waitLines(before + 1)
    return this.lines[before] as Record<string, unknown>
  }

  close(): void {
    this.socket.destroy()
  }
}

let dir: string
let socketPath: string
let node: MemoryNode
let api: LocalApiServer
let client: LocalApiClient

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-api-'))
  socketPath = join(dir, 'burrow.sock')
  node = new MemoryNode({ displayName: 'me' })
  api = await startLocalApi(node, socketPath)
  client = await LocalApiClient.connect(socketPath)
})

afterEach(async () => {
  await client.close()
  await api.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('local API round trips against an in-memory node', () => {
  it('status and card', async () => {
    const status = await client.call('status', {})
    expect(status).toMatchObject({ state: 'running', peerId: node.peerId, onion: node.keys.onionAddress, reachable: true, groups: 0 })
    const card = await client.call('card', {})
    expect(card.card).toBe(node.contactCard())
    expect(card.qr).toBe(node.contactCardQr())
    expect(card.fingerprint).toMatch(/^([0-9a-f]{4} ){4}[0-9a-f]{4}$/)
    expect(card.fingerprint.replace(/ /g, '')).toBe(status.identityKey.slice(0, 20))
    expect(status.fingerprint).toBe(card.fingerprint)
  })

  it('peers.add, peers.list, peers.remove', async () => {
    const bob = peerCard('bob')
    const added = await client.call('peers.add', { card: bob.card })
    expect(added).toMatchObject({ name: 'bob', connected: false, identityKey: Buffer.from(bob.identityKey).toString('hex') })
    expect(added.onion).toMatch(/^[a-z2-7]{56}\.onion$/)
    node.setConnected('bob', true)
    const { peers } = await client.call('peers.list', {})
    expect(peers).toHaveLength(1)
    expect(peers[0]).toMatchObject({ peerId: added.peerId, connected: true })
    expect(typeof peers[0]?.lastSeen).toBe('number')
    const removed = await client.call('peers.remove', { peer: 'bob' })
    expect(removed.peerId).toBe(added.peerId)
    expect((await client.call('peers.list', {})).peers).toEqual([])
  })

  it('peers.add with cards adds them together, in order, or none when one is bad', async () => {
    const [bob, carol] = [peerCard('bob'), peerCard('carol')]
    await expect(client.call('peers.add', { cards: [bob.card, 'burrow1garbage'] })).rejects.toMatchObject({ code: 'INVALID_CONTACT_CARD' })
    expect(node.peers()).toEqual([])
    const { peers } = await client.call('peers.add', { cards: [bob.card, carol.card] })
    expect(peers.map((p) => p.name)).toEqual(['bob', 'carol'])
    expect((await client.call('peers.list', {})).peers).toHaveLength(2)
  })

  it('groups: create, invite, members, list, rotate, remove', async () => {
    const bob = peerCard('bob')
    await client.call('peers.add', { card: bob.card })
    node.setConnected('bob', true)
    const created = await client.call('group.create', { name: 'friends', description: 'the usual' })
    expect(created).toMatchObject({ name: 'friends', sharedName: 'friends', description: 'the usual', isOwner: true, epoch: 0, active: true, status: 'active' })
    expect(created.id).toMatch(/^[0-9a-f]{64}$/)
    const invited = await client.call('group.invite', { group: 'friends', peer: 'bob' })
    expect(invited.state).toBe('invited')
    expect(invited.group.members.map((m) => m.identityKey)).toContain(Buffer.from(bob.identityKey).toString('hex'))
    const { group, members, pending } = await client.call('group.members', { group: created.id.slice(0, 8) })
    expect(group).toBe(created.id)
    expect(members).toHaveLength(2)
    expect(pending).toEqual([])
    expect(members.find((m) => m.self)).toMatchObject({ owner: true, forked: false })
    expect(members.find((m) => !m.self)).toMatchObject({ name: 'bob', owner: false })
    const rotated = await client.call('group.rotate', { group: 'friends' })
    expect(rotated).toMatchObject({ state: 'committed', epoch: invited.group.epoch + 1, group: { epoch: invited.group.epoch + 1 } })
    const after = await client.call('group.remove', { group: 'friends', peer: 'bob' })
    expect(after.members).toHaveLength(1)
    expect((await client.call('group.list', {})).groups.map((g) => g.id)).toEqual([created.id])
    await expect(client.call('group.create', { name: 'friends' })).rejects.toMatchObject({ code: 'GROUP_NAME_TAKEN' })
  })

  it('an invitation to a peer that is away is queued, shown in members, completed when it connects, or cancelled', async () => {
    const [bob, carol] = [peerCard('bob'), peerCard('carol')]
    await client.call('peers.add', { card: bob.card })
    await client.call('peers.add', { card: carol.card })
    const g = await client.call('group.create', { name: 'team' })
    const events: ApiEvent[] = []
    await client.subscribe(['group:invite'], (e) => events.push(e), { group: 'team' })
    const queued = await client.call('group.invite', { group: 'team', peer: 'bob' })
    expect(queued).toMatchObject({ state: 'queued', invite: { name: 'bob', groupId: g.id, attempts: 0 } })
    await client.call('group.invite', { group: 'team', peer: 'carol' })
    expect((await client.call('group.members', { group: 'team' })).pending.map((p) => p.name)).toEqual(['bob', 'carol'])
    expect(await client.call('group.invite.cancel', { group: 'team', peer: 'carol' })).toMatchObject({ name: 'carol' })
    await expect(client.call('group.invite.cancel', { group: 'team', peer: 'carol' })).rejects.toMatchObject({ code: 'NODE_INVITE_NOT_QUEUED' })
    node.setConnected('bob', true)
    await vi.waitFor(() => expect(events.map((e) => (e.data as { state: string }).state)).toEqual(['cancelled', 'invited']), { timeout: 2000 })
    const after = await client.call('group.members', { group: 'team' })
    expect(after.pending).toEqual([])
    expect(after.members.map((m) => m.name ?? 'me')).toContain('bob')
  })

  it('rename, leave, a member\'s rotation is proposed', async () => {
    const owned = await client.call('group.create', { name: 'mine' })
    const renamed = await client.call('group.rename', { group: 'mine', name: 'ours', description: 'shared' })
    expect(renamed).toMatchObject({ id: owned.id, name: 'ours', sharedName: 'ours', description: 'shared' })
    expect(await client.call('group.rename', { group: 'ours', name: 'ours', description: '' })).not.toHaveProperty('description')
    await expect(client.call('group.leave', { group: 'ours' })).rejects.toMatchObject({ code: 'GROUP_OWNER_CANNOT_LEAVE' })
    node.joined('theirs', peerCard().identityKey)
    expect(await client.call('group.rotate', { group: 'theirs' })).toMatchObject({ state: 'proposed', group: { pendingProposal: 'update' } })
    expect(await client.call('group.leave', { group: 'theirs' })).toMatchObject({ status: 'leaving', active: true })
    await expect(client.call('group.rename', { group: 'theirs', name: 'x', description: 'no' })).rejects.toMatchObject({ code: 'GROUP_NOT_OWNER' })
  })

  it('ephemeral messages through the API, and fork proofs', async () => {
    const bob = peerCard('bob')
    await client.call('peers.add', { card: bob.card })
    node.setConnected('bob', true)
    await client.call('group.create', { name: 'g' })
    expect(await client.call('group.ephemeral', { group: 'g', text: 'typing…' })).toEqual({ peers: 1 })
    expect(await client.call('group.ephemeral', { group: 'g', data: Buffer.from([1, 2]).toString('base64') })).toEqual({ peers: 1 })
    await expect(client.call('group.ephemeral', { group: 'g', text: 'x'.repeat(16 * 1024 + 1) })).rejects.toMatchObject({ code: 'API_BAD_REQUEST' })
    const events: ApiEvent[] = []
    await client.subscribe(['group:ephemeral', 'log:fork'], (e) => events.push(e))
    const groupId = (await client.call('group.list', {})).groups[0]!.id
    node.emit('group:ephemeral', { groupId, peerId: 'p', name: 'bob', data: new TextEncoder().encode('here') })
    const view = { id: '0123456789abcdef', author: 'aa'.repeat(32), authorPeerId: 'x', fingerprint: 'aaaa aaaa aaaa aaaa aaaa', self: false, logId: groupId, seq: 3 }
    node.addFork(view, 'burrow-fork-proof:AAAA', 'p')
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 2000 })
    expect(events[0]).toEqual({ event: 'group:ephemeral', data: { group: groupId, peerId: 'p', name: 'bob', data: Buffer.from('here').toString('base64'), text: 'here' } })
    expect(events[1]).toMatchObject({ event: 'log:fork', data: { id: view.id, seq: 3, peerId: 'p' } })
    expect((await client.call('forks.list', {})).forks).toEqual([view])
    expect(await client.call('forks.export', { id: '0123' })).toEqual({ id: view.id, proof: 'burrow-fork-proof:AAAA' })
    await expect(client.call('forks.export', { id: 'ffff' })).rejects.toMatchObject({ code: 'NODE_FORK_NOT_FOUND' })
  })

  it('forwards tor going offline and the recovery that follows', async () => {
    const events: ApiEvent[] = []
    await client.call('group.create', { name: 'g' })
    // Not events of a group: sent whatever group the subscription names.
    await client.subscribe(['tor:offline', 'node:recovering'], (e) => events.push(e), { group: 'g' })
    node.emit('tor:offline')
    node.emit('node:recovering', { reason: 'network', awayMs: 120_000 })
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 2000 })
    expect(events).toEqual([
      { event: 'tor:offline', data: {} },
      { event: 'node:recovering', data: { reason: 'network', awayMs: 120_000 } },
    ])
  })

  it('send text and data, read with afterId and limit', async () => {
    const g = await client.call('group.create', {})
    const first = await client.call('send', { group: g.id, text: 'hello' })
    expect(first).toMatchObject({ text: 'hello', self: true, group: g.id, data: Buffer.from('hello').toString('base64') })
    const binary = Buffer.from([0xff, 0x00, 0xfe])
    const second = await client.call('send', { group: g.id, data: binary.toString('base64') })
    expect(second.text).toBeUndefined()
    expect(Buffer.from(second.data, 'base64')).toEqual(binary)
    const all = await client.call('read', { group: g.id })
    expect(all.messages.map((m) => m.id)).toEqual([first.id, second.id])
    expect(all.more).toBe(false)
    expect((await client.call('read', { group: g.id, afterId: first.id })).messages.map((m) => m.id)).toEqual([second.id])
    expect((await client.call('read', { group: g.id, limit: 1 })).messages).toHaveLength(1)
  })

  it('names the author of a received message from the allow-list', async () => {
    const bob = peerCard('bob')
    await client.call('peers.add', { card: bob.card })
    const g = await client.call('group.create', {})
    node.receive(g.id, bob.identityKey, 'hi from bob')
    const { messages } = await client.call('read', { group: g.id })
    expect(messages[0]).toMatchObject({ text: 'hi from bob', authorName: 'bob', self: false })
  })

  it('subscribe pushes events, limited to one group when asked', async () => {
    const g1 = await client.call('group.create', { name: 'one' })
    const g2 = await client.call('group.create', { name: 'two' })
    const events: ApiEvent[] = []
    await client.subscribe(['group:message', 'peer:connected'], (e) => events.push(e), { group: 'one' })
    const bob = peerCard('bob')
    await client.call('peers.add', { card: bob.card })
    node.setConnected('bob', true)
    await client.call('send', { group: g2.id, text: 'not for this subscriber' })
    await client.call('send', { group: g1.id, text: 'for it' })
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 2000 })
    expect(events[0]).toMatchObject({ event: 'peer:connected', data: { name: 'bob' } })
    expect(events[1]).toMatchObject({ event: 'group:message', data: { text: 'for it', group: g1.id } })
    // An empty list unsubscribes.
    await client.subscribe([], (e) => events.push(e))
    await client.call('send', { group: g1.id, text: 'after unsubscribe' })
    await client.call('status', {})
    expect(events).toHaveLength(2)
  })

  it('stop answers, then asks the node to stop', async () => {
    expect(await client.call('stop', {})).toEqual({ stopping: true })
    await vi.waitFor(() => expect(node.stopCalls).toBe(1), { timeout: 2000 })
  })

  it('node errors keep their code', async () => {
    await expect(client.call('group.members', { group: 'nope' })).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' })
    await expect(client.call('peers.remove', { peer: 'nobody' })).rejects.toMatchObject({ code: 'PEER_UNKNOWN' })
    await expect(client.call('peers.add', { card: 'burrow1garbage' })).rejects.toMatchObject({ code: 'INVALID_CONTACT_CARD' })
    await expect(client.call('peers.add', { card: node.contactCard() })).rejects.toMatchObject({ code: 'PEER_REJECTED' })
  })
})

describe('malformed requests', () => {
  let raw: RawConnection
  beforeEach(async () => {
    await client.call('group.create', { name: 'g' })
    raw = new RawConnection(socketPath)
  })
  afterEach(() => raw.close())

  const cases: { what: string; line: string; code: string }[] = ([
    ['not JSON', '{nope', 'API_BAD_REQUEST'],
    ['a JSON array', '[1,2]', 'API_BAD_REQUEST'],
    ['a JSON string', '"status"', 'API_BAD_REQUEST'],
    ['null', 'null', 'API_BAD_REQUEST'],
    ['missing id', '{"method":"status"}', 'API_BAD_REQUEST'],
    ['string id', '{"id":"1","method":"status"}', 'API_BAD_REQUEST'],
    ['negative id', '{"id":-1,"method":"status"}', 'API_BAD_REQUEST'],
    ['fractional id', '{"id":1.5,"method":"status"}', 'API_BAD_REQUEST'],
    ['huge id', '{"id":1e300,"method":"status"}', 'API_BAD_REQUEST'],
    ['id beyond 31 bits', '{"id":2147483648,"method":"status"}', 'API_BAD_REQUEST'],
    ['unknown method', '{"id":1,"method":"peers.steal"}', 'API_UNKNOWN_METHOD'],
    ['method not a string', '{"id":1,"method":["status"]}', 'API_BAD_REQUEST'],
    ['unknown top-level key', '{"id":1,"method":"status","extra":1}', 'API_BAD_REQUEST'],
    ['__proto__ key', '{"id":1,"method":"status","__proto__":{"x":1}}', 'API_BAD_REQUEST'],
    ['params an array', '{"id":1,"method":"status","params":[]}', 'API_BAD_REQUEST'],
    ['params null', '{"id":1,"method":"status","params":null}', 'API_BAD_REQUEST'],
    ['unknown param', '{"id":1,"method":"status","params":{"verbose":true}}', 'API_BAD_REQUEST'],
    ['missing param', '{"id":1,"method":"peers.add","params":{}}', 'API_BAD_REQUEST'],
    ['wrong type', '{"id":1,"method":"peers.add","params":{"card":42}}', 'API_BAD_REQUEST'],
    ['card and cards', '{"id":1,"method":"peers.add","params":{"card":"a","cards":["b"]}}', 'API_BAD_REQUEST'],
    ['cards empty', '{"id":1,"method":"peers.add","params":{"cards":[]}}', 'API_BAD_REQUEST'],
    ['cards not a list', '{"id":1,"method":"peers.add","params":{"cards":"a"}}', 'API_BAD_REQUEST'],
    ['a card not a string', '{"id":1,"method":"peers.add","params":{"cards":["a",7]}}', 'API_BAD_REQUEST'],
    ['too many cards', `{"id":1,"method":"peers.add","params":{"cards":${JSON.stringify(Array.from({ length: 1_001 }, () => 'c'))}}}`, 'API_BAD_REQUEST'],
    ['nested junk', '{"id":1,"method":"group.create","params":{"name":{"a":[{"b":{}}]}}}', 'API_BAD_REQUEST'],
    ['empty string', '{"id":1,"method":"group.create","params":{"name":""}}', 'API_BAD_REQUEST'],
    ['lone surrogate', '{"id":1,"method":"group.create","params":{"name":"\\ud800"}}', 'API_BAD_REQUEST'],
    ['too long a name', `{"id":1,"method":"group.create","params":{"name":"${'x'.repeat(201)}"}}`, 'API_BAD_REQUEST'],
    ['rename without a name', '{"id":1,"method":"group.rename","params":{"group":"g"}}', 'API_BAD_REQUEST'],
    ['rename to a number', '{"id":1,"method":"group.rename","params":{"group":"g","name":5}}', 'API_BAD_REQUEST'],
    ['ephemeral with neither text nor data', '{"id":1,"method":"group.ephemeral","params":{"group":"g"}}', 'API_BAD_REQUEST'],
    ['fork id too long', `{"id":1,"method":"forks.export","params":{"id":"${'a'.repeat(17)}"}}`, 'API_BAD_REQUEST'],
    ['send with both text and data', '{"id":1,"method":"send","params":{"group":"g","text":"a","data":"YQ=="}}', 'API_BAD_REQUEST'],
    ['send with neither', '{"id":1,"method":"send","params":{"group":"g"}}', 'API_BAD_REQUEST'],
    ['bad base64', '{"id":1,"method":"send","params":{"group":"g","data":"!!!!"}}', 'API_BAD_REQUEST'],
    ['unpadded base64', '{"id":1,"method":"send","params":{"group":"g","data":"YQ"}}', 'API_BAD_REQUEST'],
    ['non-canonical base64', '{"id":1,"method":"send","params":{"group":"g","data":"YR=="}}', 'API_BAD_REQUEST'],
    ['base64 with whitespace', '{"id":1,"method":"send","params":{"group":"g","data":"YW Jj"}}', 'API_BAD_REQUEST'],
    ['text over the limit', `{"id":1,"method":"send","params":{"group":"g","text":"${'é'.repeat(MAX_SEND_BYTES / 2 + 1)}"}}`, 'API_BAD_REQUEST'],
    ['read limit 0', '{"id":1,"method":"read","params":{"group":"g","limit":0}}', 'API_BAD_REQUEST'],
    ['read limit too big', '{"id":1,"method":"read","params":{"group":"g","limit":100000}}', 'API_BAD_REQUEST'],
    ['read afterId negative', '{"id":1,"method":"read","params":{"group":"g","afterId":-5}}', 'API_BAD_REQUEST'],
    ['read afterId a string', '{"id":1,"method":"read","params":{"group":"g","afterId":"5"}}', 'API_BAD_REQUEST'],
    ['subscribe to an unknown event', '{"id":1,"method":"subscribe","params":{"events":["keys:leak"]}}', 'API_BAD_REQUEST'],
    ['subscribe twice the same event', '{"id":1,"method":"subscribe","params":{"events":["tor:ready","tor:ready"]}}', 'API_BAD_REQUEST'],
    ['subscribe events not an array', '{"id":1,"method":"subscribe","params":{"events":"tor:ready"}}', 'API_BAD_REQUEST'],
    ['stop with params', '{"id":1,"method":"stop","params":{"now":true}}', 'API_BAD_REQUEST'],
  ] as [string, string, string][]).map(([what, line, code]) => ({ what, line, code }))

  it('invalid UTF-8 → API_BAD_REQUEST', async () => {
    const line = Buffer.concat([Buffer.from('{"id":1,"method":"group.create","params":{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')])
    raw.socket.write(line)
    expect(((await raw.waitLines(1))[0] as { error: { code: string } }).error.code).toBe('API_BAD_REQUEST')
  })

  it.each(cases)('$what → $code, nothing changes, the connection stays usable', async ({ line, code }) => {
    const before = node.snapshot()
    raw.socket.write(`${line}\n`)
    const [response] = (await raw.waitLines(1)) as { id: unknown; error?: { code: string; message: string } }[]
    expect(response?.error?.code).toBe(code)
    expect(typeof response?.error?.message).toBe('string')
    expect(node.snapshot()).toBe(before)
    expect(await raw.request('{"id":99,"method":"status"}')).toMatchObject({ id: 99, result: { state: 'running' } })
  })

  it('says where a parameter put beside "method" belongs', async () => {
    const response = await raw.request('{"id":1,"method":"group.create","name":"x"}')
    expect(response).toMatchObject({ id: 1, error: { code: 'API_BAD_REQUEST' } })
    expect((response.error as { message: string }).message).toMatch(/unknown key "name" in the request.*parameters go inside "params"/)
  })

  it('echoes the id when it could be read', async () => {
    expect(await raw.request('{"id":5,"method":"nope"}')).toMatchObject({ id: 5, error: { code: 'API_UNKNOWN_METHOD' } })
    expect(await raw.request('{"id":"x","method":"status"}')).toMatchObject({ id: null, error: { code: 'API_BAD_REQUEST' } })
  })

  it('ignores blank lines and accepts several requests in one write', async () => {
    raw.send('\n\n{"id":1,"method":"status"}\n{"id":2,"method":"group.list"}\n')
    const lines = (await raw.waitLines(2)) as { id: number }[]
    expect(lines.map((l) => l.id).sort()).toEqual([1, 2])
  })

  it('an oversize line gets API_LINE_TOO_LONG and the connection is closed; the server stays usable', async () => {
    const before = node.snapshot()
    raw.send(`{"id":1,"method":"peers.add","params":{"card":"${'a'.repeat(MAX_REQUEST_LINE_BYTES)}"}}\n`)
    const lines = (await raw.waitLines(1)) as { error?: { code: string } }[]
    expect(lines[0]?.error?.code).toBe('API_LINE_TOO_LONG')
    await vi.waitFor(() => expect(raw.closed).toBe(true), { timeout: 3000 })
    expect(node.snapshot()).toBe(before)
    expect((await client.call('status', {})).state).toBe('running')
  })

  it('an endless line without newline is cut off at the limit', async () => {
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 5 && !raw.closed; i++) raw.send(chunk)
    const lines = (await raw.waitLines(1)) as { error?: { code: string } }[]
    expect(lines[0]?.error?.code).toBe('API_LINE_TOO_LONG')
  })

  it('too many requests in flight get API_TOO_MANY_REQUESTS', async () => {
    // Hold every invitation open until released, so they stay in flight.
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const invite = node.invite.bind(node)
    node.invite = async (...args) => {
      await gate
      return invite(...args)
    }
    const n = MAX_IN_FLIGHT_PER_CONNECTION + 3
    raw.send(Array.from({ length: n }, (_, i) => `{"id":${i},"method":"group.invite","params":{"group":"g","peer":"nobody"}}\n`).join(''))
    await raw.waitLines(3)
    const early = raw.lines as { id: number; error?: { code: string } }[]
    expect(early.every((l) => l.error?.code === 'API_TOO_MANY_REQUESTS')).toBe(true)
    release()
    const all = (await raw.waitLines(n)) as { id: number; error?: { code: string } }[]
    expect(all.filter((l) => l.error?.code === 'PEER_UNKNOWN')).toHaveLength(MAX_IN_FLIGHT_PER_CONNECTION)
  })
})

describe('the socket', () => {
  it('is mode 0600 and the server listens on no TCP port', async () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o600)
    const listen = vi.spyOn(Server.prototype, 'listen')
    const other = join(dir, 'other.sock')
    const second = await startLocalApi(new MemoryNode(), other)
    try {
      expect(listen).toHaveBeenCalled()
      for (const call of listen.mock.calls) {
        const arg = call[0] as unknown
        expect(typeof arg === 'object' && arg !== null && 'path' in arg).toBe(true)
        expect(arg).not.toHaveProperty('port')
      }
      expect(statSync(other).mode & 0o777).toBe(0o600)
    } finally {
      listen.mockRestore()
      await second.close()
    }
  })

  it('refuses to start while another node answers on the path', async () => {
    await expect(startLocalApi(new MemoryNode(), socketPath)).rejects.toMatchObject({ code: 'API_ALREADY_RUNNING' })
    expect((await client.call('status', {})).state).toBe('running')
  })

  it('removes a stale socket left by a node that died', async () => {
    const stale = join(dir, 'stale.sock')
    // A node killed with SIGKILL leaves its socket file behind, with nobody answering on it.
    const child = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`], { timeout: 10_000 })
    expect(child.signal).toBe('SIGKILL')
    expect(statSync(stale).isSocket()).toBe(true)
    const revived = await startLocalApi(new MemoryNode(), stale)
    const c = await LocalApiClient.connect(stale)
    expect((await c.call('status', {})).state).toBe('running')
    await c.close()
    await revived.close()
  })

  it('refuses to replace a file that is not a socket', async () => {
    const file = join(dir, 'not-a-socket')
    writeFileSync(file, 'keep me')
    await expect(startLocalApi(new MemoryNode(), file)).rejects.toMatchObject({ code: 'API_SOCKET_UNUSABLE' })
  })

  it('close() removes the socket file; a client then gets API_NOT_RUNNING', async () => {
    await client.close()
    await api.close()
    expect(() => statSync(socketPath)).toThrow()
    await expect(LocalApiClient.connect(socketPath)).rejects.toMatchObject({ code: 'API_NOT_RUNNING' })
  })

  it('a call on a connection the server closed fails with API_CONNECTION_CLOSED', async () => {
    const pending = new Promise<never>(() => {})
    node.invite = () => pending
    const call = client.call('group.invite', { group: 'x', peer: 'y' })
    await api.close()
    await expect(call).rejects.toMatchObject({ code: 'API_CONNECTION_CLOSED' })
  })

  it('a call times out with API_TIMEOUT', async () => {
    node.rotateKeys = () => new Promise<never>(() => {})
    const g = await client.call('group.create', {})
    await expect(client.call('group.rotate', { group: g.id }, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'API_TIMEOUT' })
  })
})
