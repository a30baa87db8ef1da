/**
 * Fuzzing the frames of `/burrow/sync/1` with fast-check: every frame
 * round-trips through the stream decoder however the stream is cut, limits
 * are enforced exactly, and anything else is a SyncError `SYNC_PROTOCOL`.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/log/cbor.js'
import { withLengthPrefix } from '../../src/net/length-prefix.js'
import { decodeFrame, encodeFrame, FrameDecoder, SYNC_ERRORS, type FrameLimits, type SyncFrame } from '../../src/net/sync/index.js'
import { anyBytes, chunkSizes, opaqueBytes, splitBytes } from '../arbitraries/bytes.js'
import { cborValue, logId } from '../arbitraries/log.js'
import { frameBytes, syncFrame } from '../arbitraries/sync.js'
import { expectSameData, expectTypedError, fc, fuzz, typedErrorOf } from '../helpers/fuzz.js'

/** Pushes `chunks` through one decoder; the frames, or the code of the error that ended the stream. */
function decodeStream(chunks: readonly Uint8Array[], limits?: FrameLimits): { frames: SyncFrame[]; code?: string } {
  const decoder = new FrameDecoder(limits)
  const frames: SyncFrame[] = []
  const code = typedErrorOf(() => {
    for (const chunk of chunks) frames.push(...decoder.push(chunk))
  }, SYNC_ERRORS, ['SYNC_PROTOCOL'])
  return code === undefined ? { frames } : { frames, code }
}

describe('sync frames', () => {
  fuzz('sync: frames round trip', [fc.array(syncFrame, { minLength: 1, maxLength: 6 }), chunkSizes], { runs: 3000 })(
    'decode back to what was encoded, however the stream is cut',
    (frames, sizes) => {
      const stream = Buffer.concat(frames.map(encodeFrame))
      expectSameData(decodeStream(splitBytes(stream, sizes)), { frames })
    },
  )

  fuzz('sync: frames mutated', [fc.array(frameBytes, { minLength: 1, maxLength: 4 }), chunkSizes], { runs: 8000, timeoutMs: 60_000 })(
    'give frames that re-encode to themselves, or SYNC_PROTOCOL, for edited frames and random bytes',
    (parts, sizes) => {
      const { frames } = decodeStream(splitBytes(Buffer.concat(parts), sizes))
      // What decodes is a well-formed frame: it survives its own round trip.
      for (const frame of frames) expectSameData(decodeStream([encodeFrame(frame)]), { frames: [frame] })
    },
  )

  const small: FrameLimits = { maxFrameBytes: 300, maxOpsPerFrame: 2, maxAuthorsPerFrame: 3, maxEphemeralBytes: 16 }

  fuzz('sync: frame limits', [syncFrame], { runs: 3000 })('take a frame exactly when it is within every limit', (frame) => {
    const bytes = encodeFrame(frame)
    const within =
      bytes.length - 4 <= small.maxFrameBytes &&
      (frame.type !== 'have' || frame.heights.length <= small.maxAuthorsPerFrame) &&
      (frame.type !== 'refused' || frame.from.length <= small.maxAuthorsPerFrame) &&
      (frame.type !== 'ops' || frame.ops.length <= small.maxOpsPerFrame) &&
      (frame.type !== 'ephemeral' || frame.data.length <= small.maxEphemeralBytes)
    expectSameData(decodeStream([bytes], small), within ? { frames: [frame] } : { frames: [], code: 'SYNC_PROTOCOL' })
  })

  it("takes a have frame's flag only as a fourth item true", () => {
    const log = randomBytes(32)
    for (const flag of [false, 1, null, new Uint8Array(1)]) {
      const body = encodeCanonical([1, log, [], flag])
      expect(() => new FrameDecoder().push(withLengthPrefix(body))).toThrow(expect.objectContaining({ code: 'SYNC_PROTOCOL' }))
    }
    expect(new FrameDecoder().push(withLengthPrefix(encodeCanonical([1, log, [], true])))).toEqual([{ type: 'have', logId: new Uint8Array(log), heights: [], ask: true }])
  })

  /** What a peer may put in any place of a frame: any value of the subset, and large ones. */
  const anyItem = fc.oneof(
    cborValue(2),
    fc.string({ minLength: 200, maxLength: 5_000 }),
    opaqueBytes(200, 5_000),
    fc.array(fc.nat(), { minLength: 200, maxLength: 2_000 }),
  )
  /** Frame bodies: a valid log id with anything around it (so the checks after the log id's are reached), any array, any bytes. */
  const frameBody = fc.oneof(
    fc.tuple(anyItem, logId, fc.array(anyItem, { maxLength: 3 })).map(([type, log, rest]) => encodeCanonical([type, log, ...rest])),
    fc.array(anyItem, { maxLength: 5 }).map((items) => encodeCanonical(items)),
    anyItem.map((item) => encodeCanonical(item)),
    anyBytes(300),
  )
  /** The longest message a frame's error may carry. */
  const MAX_MESSAGE_CHARS = 200

  fuzz('sync: frame errors', [frameBody], { runs: 2000 })("name what is wrong in under 200 characters, never with the peer's value", (body) => {
    try {
      decodeFrame(body)
    } catch (err) {
      expectTypedError(err, SYNC_ERRORS, ['SYNC_PROTOCOL'])
      expect((err as Error).message.length).toBeLessThan(MAX_MESSAGE_CHARS)
    }
  })

  it('keeps a 4 MiB frame type, or terminal escapes, out of the error message', () => {
    const log = randomBytes(32)
    for (const type of [new Uint8Array(4 * 1024 * 1024 - 64), 'x'.repeat(4 * 1024 * 1024 - 64), '\u001b[2J\u001b]0;pwned\u0007']) {
      let message = ''
      try {
        decodeFrame(encodeCanonical([type, log]))
      } catch (err) {
        expectTypedError(err, SYNC_ERRORS, ['SYNC_PROTOCOL'])
        message = (err as Error).message
      }
      expect(message).toMatch(/^malformed sync frame: unknown frame type \(a (byte|text) string of \d+ (bytes|characters)\)$/)
    }
  })
})

