import { randomBytes } from 'node:crypto'
import { encodeFrame } from '../../src/net/sync/index.js'

/** Where the log id lies in an encoded `have` frame: after the 4-byte length prefix, the array head 0x83, the type 0x01 and the byte-string head 0x58 0x20. */
const LOG_ID_AT = 8

/**
 * A maker of hostile `have` frames, each naming `authors` made-up authors
 * (10,000: the most a frame may carry) in the log given. The frame is
 * encoded once; each call copies it and patches the log id in.
 */
export function haveFlood(authors = 10_000): (logId: Uint8Array) => Uint8Array {
  const heights = Array.from({ length: authors }, (_, i) => ({ author: randomBytes(32), seq: i }))
  const template = encodeFrame({ type: 'have', logId: new Uint8Array(32), heights })
  return (logId) => {
    const frame = template.slice()
    frame.set(logId, LOG_ID_AT)
    return frame
  }
}
