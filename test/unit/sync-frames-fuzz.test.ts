import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder, type SyncFrame } from '../../src/net/sync/index.js'
import { encodeCanonical } from '../../src/log/cbor.js'
import { withLengthPrefix } from '../../src/net/length-prefix.js'
import { TestAuthor } from '../helpers/logs.js'
import { prng } from '../helpers/prng.js'


describe('sync frame decoder fuzz', () => {
  it('round-trips every frame type', () => {
    const log = new Uint8Array(randomBytes(32))
    const op = new TestAuthor().next(log)
    const frames: SyncFrame[] = [
      { type: 'have', logId: log, heights: [{ author: new Uint8Array(op.header.author), seq: 7 }] },
      { type: 'have', logId: log, heights: [], ask: true },
      { type: 'ops', logId: log, ops: [{ header: new Uint8Array(op.headerBytes), payload: op.payload ? new Uint8Array(op.payload) : null }] },
      { type: 'synced', logId: log },
      { type: 'ephemeral', logId: log, data: new Uint8Array(randomBytes(10)) },
    ]
    const decoder = new FrameDecoder()
    const bytes = Buffer.concat(frames.map(encodeFrame))
    const out: SyncFrame[] = []
    for (let i = 0; i < bytes.length; i += 7) out.push(...decoder.push(bytes.subarray(i, i + 7)))
    expect(out).toEqual(frames)
  })

  it('gives only SYNC_PROTOCOL errors for 30,000 random and mutated inputs', () => {
    const random = prng(20261121)
    const log = randomBytes(32)
    const op = new TestAuthor().next(log)
    const valid = [
      encodeFrame({ type: 'have', logId: log, heights: [{ author: op.header.author, seq: 3 }] }),
      encodeFrame({ type: 'have', logId: log, heights: [{ author: op.header.author, seq: 3 }], ask: true }),
      encodeFrame({ type: 'ops', logId: log, ops: [{ header: op.headerBytes, payload: op.payload ?? null }] }),
      encodeFrame({ type: 'synced', logId: log }),
      encodeFrame({ type: 'ephemeral', logId: log, data: new Uint8Array(5) }),
    ]
    let tried = 0
    let accepted = 0
    for (let i = 0; i < 30_000; i++) {
      let input: Uint8Array
      const base = valid[Math.floor(random() * valid.length)]!
      switch (i % 4) {
        case 0: // random bytes with a plausible length prefix
          input = new Uint8Array(4 + Math.floor(random() * 200)).map(() => Math.floor(random() * 256))
          new DataView(input.buffer).setUint32(0, input.length - 4)
          break
        case 1: { // bit flips of a valid frame
          input = base.slice()
          for (let k = 0; k < 1 + Math.floor(random() * 4); k++) input[Math.floor(random() * input.length)]! ^= 1 << Math.floor(random() * 8)
          break
        }
        case 2: { // a truncated body announced as complete
          const cut = 5 + Math.floor(random() * (base.length - 5))
          input = base.slice(0, cut)
          new DataView(input.buffer).setUint32(0, cut - 4)
          break
        }
        default: { // bytes inserted into the body
          const at = 4 + Math.floor(random() * (base.length - 4))
          const extra = new Uint8Array(1 + Math.floor(random() * 8)).map(() => Math.floor(random() * 256))
          input = new Uint8Array([...base.subarray(0, at), ...extra, ...base.subarray(at)])
          new DataView(input.buffer).setUint32(0, input.length - 4)
        }
      }
      tried++
      try {
        new FrameDecoder().push(input)
        accepted++
      } catch (err) {
        expect(err).toMatchObject({ code: 'SYNC_PROTOCOL' })
      }
    }
    expect(tried).toBe(30_000)
    // Some mutations still form valid frames (a flipped payload byte); they are checked later, as operations.
    expect(accepted).toBeLessThan(tried)
  })

  it("takes a have frame's flag only as a fourth item true", () => {
    const log = randomBytes(32)
    for (const flag of [false, 1, null, new Uint8Array(1)]) {
      const body = encodeCanonical([1, log, [], flag])
      expect(() => new FrameDecoder().push(withLengthPrefix(body))).toThrow(expect.objectContaining({ code: 'SYNC_PROTOCOL' }))
    }
    expect(new FrameDecoder().push(withLengthPrefix(encodeCanonical([1, log, [], true])))).toEqual([{ type: 'have', logId: new Uint8Array(log), heights: [], ask: true }])
  })
})
