/**
 * Fuzzing the local API with fast-check: request lines through the
 * validator, and whole sessions of lines, cut anywhere, through the server
 * on a real unix socket in front of the in-memory node double. Every line
 * gets one answer: a result, or an error whose code is one of the layers'
 * tables (never API_INTERNAL), with the request's id when it was readable.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_ERRORS, LocalApiClient, MAX_REQUEST_ID, METHODS, startLocalApi, type LocalApiServer } from '../../src/api/index.js'
import { parseRequestLine } from '../../src/api/validate.js'
import { GROUP_ERRORS } from '../../src/group/index.js'
import { KEYS_ERRORS } from '../../src/keys/index.js'
import { NET_ERRORS } from '../../src/net/index.js'
import { NODE_ERRORS } from '../../src/node/index.js'
import { chunkSizes, splitBytes } from '../arbitraries/bytes.js'
import { requestLine, validRequest } from '../arbitraries/api.js'
import { expectSameData, expectTypedError, fc, fuzz } from '../helpers/fuzz.js'
import { MemoryNode } from '../helpers/memory-node.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The id an error answer must carry: the request's, when the line is a JSON object with a valid id. */
function readableId(line: Uint8Array): number | null {
  try {
    const value = JSON.parse(strictUtf8.decode(line)) as unknown
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
    const id = (value as { id?: unknown }).id
    return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_REQUEST_ID ? id : null
  } catch {
    return null
  }
}

describe('request validation', () => {
  it('generates requests of every method', () => {
    const seen = new Set(fc.sample(validRequest, { numRuns: 5000, seed: 1 }).map((r) => r.method))
    expect([...METHODS].filter((m) => !seen.has(m))).toEqual([])
  })

  fuzz('api: valid requests', [validRequest], { runs: 3000 })('parse back to the request', (request) => {
    expectSameData(parseRequestLine(Buffer.from(JSON.stringify(request))), { ok: true, request })
  })

  fuzz('api: request lines', [requestLine], { runs: 8000, timeoutMs: 60_000 })(
    'never throw: a request that parses is one the validator takes again unchanged, and a refusal is API_BAD_REQUEST or API_UNKNOWN_METHOD with the readable id',
    (line) => {
      const parsed = parseRequestLine(line)
      if (parsed.ok) {
        expect(METHODS).toContain(parsed.request.method)
        expectSameData(parseRequestLine(Buffer.from(JSON.stringify(parsed.request))), parsed)
        return
      }
      expectTypedError(parsed.error, API_ERRORS, ['API_BAD_REQUEST', 'API_UNKNOWN_METHOD'])
      expect(parsed.id).toBe(readableId(line))
    },
  )
})

/** Every code a call may answer with: the API's own and those of the layers behind the node. */
const NODE_CALL_ERRORS = { ...API_ERRORS, ...GROUP_ERRORS, ...KEYS_ERRORS, ...NET_ERRORS, ...NODE_ERRORS }

describe('the server on a unix socket', () => {
  let dir: string
  let node: MemoryNode
  let api: LocalApiServer
  let socketPath: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-api-fuzz-'))
    socketPath = join(dir, 'burrow.sock')
    node = new MemoryNode()
    await node.createGroup('g')
    api = await startLocalApi(node, socketPath, { onStop: () => {} })
  })

  afterAll(async () => {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  fuzz('api: server sessions', [fc.array(requestLine, { minLength: 1, maxLength: 20 }), chunkSizes], { runs: 100, timeoutMs: 60_000 })(
    'answers every line once, with a result or a typed error other than API_INTERNAL, and stays usable',
    async (lines, sizes) => {
      // A line holds no newline: the client cuts its lines there itself.
      const sent = lines.map((l) => Buffer.from(l.filter((b) => b !== 0x0a))).filter((l) => l.length > 0)
      const socket = createConnection({ path: socketPath })
      socket.setEncoding('utf8')
      const answers: Record<string, unknown>[] = []
      let buffer = ''
      socket.on('data', (chunk: string) => {
        buffer += chunk
        for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
          const answer = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>
          if (!('event' in answer)) answers.push(answer)
          buffer = buffer.slice(nl + 1)
        }
      })
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
      for (const chunk of splitBytes(Buffer.concat(sent.map((l) => Buffer.concat([l, Buffer.from('\n')]))), sizes)) socket.write(chunk)
      const deadline = Date.now() + 20_000
      while (answers.length < sent.length) {
        if (Date.now() > deadline) throw new Error(`${answers.length} answers to ${sent.length} lines`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      socket.destroy()
      expect(answers).toHaveLength(sent.length)
      for (const answer of answers) {
        if ('result' in answer) continue
        const error = answer.error as { code: string; message: unknown }
        expect(typeof error.message).toBe('string')
        expect(error.code).not.toBe('API_INTERNAL')
        expect(Object.keys(NODE_CALL_ERRORS)).toContain(error.code)
      }
      const client = await LocalApiClient.connect(socketPath)
      expect((await client.call('status', {})).peerId).toBe(node.peerId)
      await client.close()
    },
  )
})
