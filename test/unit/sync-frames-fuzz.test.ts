/**
 * Fuzzing the frames of `/burrow/sync/1` with fast-check: every frame
 * round-trips through the stream decoder however the stream is cut, limits
 * are enforced exactly, and anything else is a SyncError `SYNC_PROTOCOL`.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/log/cbor.js'
import { withLengthPrefix } from '../../src/net/length-prefix.js'
import { encodeFrame, FrameDecoder, SYNC_ERRORS, type FrameLimits, type SyncFrame } from '../../src/net/sync/index.js'
import { chunkSizes, splitBytes } from '../arbitraries/bytes.js'
import { frameBytes, syncFrame } from '../arbitraries/sync.js'
import { expectSameData, fc, fuzz, typedErrorOf } from '../helpers/fuzz.js'

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
})
