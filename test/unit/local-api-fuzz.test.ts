import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LocalApiClient, startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { MemoryNode } from '../helpers/memory-node.js'
import { prng } from '../helpers/prng.js'


const SEED = 0xb0220
const ROUNDS = 1500

let dir: string
let node: MemoryNode
let api: LocalApiServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-api-fuzz-'))
  node = new MemoryNode()
  api = await startLocalApi(node, join(dir, 'burrow.sock'), { onStop: () => {} })
})

afterAll(async () => {
  await api.close()
  rmSync(dir, { recursive: true, force: true })
})

it(`answers ${ROUNDS} mutated requests with typed errors or results only, and stays usable`, async () => {
  const group = await node.createGroup('g')
  const gid = group.id
  const seeds: unknown[] = [
    { id: 1, method: 'status' },
    { id: 2, method: 'card', params: {} },
    { id: 3, method: 'peers.add', params: { card: node.contactCard() } },
    { id: 4, method: 'peers.remove', params: { peer: 'bob' } },
    { id: 5, method: 'group.create', params: { name: 'x' } },
    { id: 6, method: 'group.invite', params: { group: gid, peer: 'bob' } },
    { id: 7, method: 'group.members', params: { group: 'g' } },
    { id: 8, method: 'send', params: { group: gid, text: 'hello' } },
    { id: 9, method: 'send', params: { group: 'g', data: 'AAEC' } },
    { id: 10, method: 'read', params: { group: 'g', afterId: 0, limit: 5 } },
    { id: 11, method: 'subscribe', params: { events: ['group:message', 'tor:ready'] } },
    { id: 12, method: 'group.rotate', params: { group: 'g' } },
    { id: 13, method: 'stop', params: {} },
  ]
  const junk: unknown[] = [null, true, -1, 1e308, 2 ** 53 + 1, '', 'x'.repeat(300), [], {}, [[[[[]]]]], { a: { b: { c: {} } } }, '\u0000', '\ud800', 'AAE=', NaN]
  const random = prng(SEED)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T

  const mutateValue = (value: unknown, depth = 0): unknown => {
    if (depth < 3 && value !== null && typeof value === 'object' && !Array.isArray(value) && random() < 0.7) {
      const obj = { ...(value as Record<string, unknown>) }
      const keys = Object.keys(obj)
      const r = random()
      if (r < 0.3 && keys.length > 0) delete obj[pick(keys)]
      else if (r < 0.5) obj[pick(['extra', 'id', 'method', 'params', 'group', 'text', 'data', '__proto__', 'constructor'])] = pick(junk)
      else if (keys.length > 0) {
        const k = pick(keys)
        obj[k] = mutateValue(obj[k], depth + 1)
      }
      return obj
    }
    return pick(junk)
  }

  const mutateText = (text: string): string => {
    const chars = [...text]
    const n = 1 + Math.floor(random() * 4)
    for (let i = 0; i < n; i++) {
      const at = Math.floor(random() * (chars.length + 1))
      const r = random()
      if (r < 0.4) chars.splice(at, 1)
      else if (r < 0.8) chars.splice(at, 0, pick(['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'e', '-', ' ', '\u00e9', '\t']))
      else chars[at] = String.fromCharCode(Math.floor(random() * 128))
    }
    return chars.join('').replace(/[\n\r]/g, ' ')
  }

  const lines: string[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const base = pick(seeds)
    const line = random() < 0.5 ? JSON.stringify(mutateValue(base)) : mutateText(JSON.stringify(base))
    if (line !== undefined && line.length > 0) lines.push(line)
  }

  const socket = createConnection({ path: join(dir, 'burrow.sock') })
  socket.setEncoding('utf8')
  let buffer = ''
  const responses: Record<string, unknown>[] = []
  socket.on('data', (chunk: string) => {
    buffer += chunk
    let nl
    while ((nl = buffer.indexOf('\n')) !== -1) {
      responses.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>)
      buffer = buffer.slice(nl + 1)
    }
  })
  // Sent in small batches so the in-flight bound is not what answers them.
  const deadline = Date.now() + 60_000
  for (let i = 0; i < lines.length; i += 8) {
    const batch = lines.slice(i, i + 8)
    const want = responses.filter((r) => !('event' in r)).length + batch.length
    socket.write(batch.map((l) => `${l}\n`).join(''))
    while (responses.filter((r) => !('event' in r)).length < want) {
      if (Date.now() > deadline) throw new Error(`no answer after ${responses.length} responses`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }
  socket.destroy()

  const answers = responses.filter((r) => !('event' in r))
  expect(answers).toHaveLength(lines.length)
  const codes = new Map<string, number>()
  for (const r of answers) {
    if ('error' in r) {
      const error = r.error as { code: unknown; message: unknown }
      expect(typeof error.code).toBe('string')
      expect(typeof error.message).toBe('string')
      expect(error.code).toMatch(/^[A-Z][A-Z0-9_]+$/)
      expect(error.code).not.toBe('API_INTERNAL')
      codes.set(error.code as string, (codes.get(error.code as string) ?? 0) + 1)
    } else {
      expect(r).toHaveProperty('result')
    }
  }
  // The mutations exercised more than one kind of refusal.
  expect(codes.get('API_BAD_REQUEST') ?? 0).toBeGreaterThan(100)
  expect(codes.size).toBeGreaterThan(2)

  const client = await LocalApiClient.connect(join(dir, 'burrow.sock'))
  expect((await client.call('status', {})).peerId).toBe(node.peerId)
  await client.close()
})
