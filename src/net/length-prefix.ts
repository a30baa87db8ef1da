/** Bytes of the big-endian length that precedes every message of Burrow's stream protocols. */
export const LENGTH_PREFIX_BYTES = 4

/** `body` preceded by its length (4 bytes, big-endian). */
export function withLengthPrefix(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, LENGTH_PREFIX_BYTES)
  return out
}

/**
 * Splits a byte stream into length-prefixed messages. `check` sees each
 * announced length as soon as it arrives, before its body is buffered, and
 * throws to refuse it, so a peer cannot make us allocate more than the limit
 * it enforces.
 *
 * Received chunks are kept as a list and copied once, into the message they
 * complete: a message spread over many chunks costs linear time, not quadratic.
 */
export class LengthPrefixedReader {
  readonly #check: (length: number) => void
  readonly #chunks: Uint8Array[] = []
  #held = 0
  /** Length of the message whose body is being received; undefined while its prefix is. */
  #bodyLength: number | undefined

  constructor(check: (length: number) => void) {
    this.#check = check
  }

  /** Adds received bytes; returns the bodies of every message they complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#held += chunk.length
    }
    const bodies: Uint8Array[] = []
    for (;;) {
      if (this.#bodyLength === undefined) {
        if (this.#held < LENGTH_PREFIX_BYTES) break
        const prefix = this.#take(LENGTH_PREFIX_BYTES)
        const length = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES).getUint32(0)
        this.#check(length)
        this.#bodyLength = length
      }
      if (this.#held < this.#bodyLength) break
      bodies.push(this.#take(this.#bodyLength))
      this.#bodyLength = undefined
    }
    return bodies
  }

  /** Removes and returns the next `n` held bytes (n ≤ held): a view when they lie in one chunk, else one copy. */
  #take(n: number): Uint8Array {
    this.#held -= n
    const first = this.#chunks[0]
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = new Uint8Array(n)
    for (let filled = 0; filled < n; ) {
      const next = this.#chunks[0]!
      const part = Math.min(next.length, n - filled)
      out.set(next.subarray(0, part), filled)
      filled += part
      if (part === next.length) this.#chunks.shift()
      else this.#chunks[0] = next.subarray(part)
    }
    return out
  }
}
