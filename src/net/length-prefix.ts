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
 * announced length before its body is buffered and throws to refuse it, so
 * a peer cannot make us allocate more than the limit it enforces.
 */
export class LengthPrefixedReader {
  readonly #check: (length: number) => void
  #buffer: Uint8Array = new Uint8Array(0)

  constructor(check: (length: number) => void) {
    this.#check = check
  }

  /** Bytes received but not yet forming a whole message. */
  get buffered(): number {
    return this.#buffer.length
  }

  /** Adds received bytes; returns the bodies of every message they complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk)
    const bodies: Uint8Array[] = []
    let offset = 0
    while (this.#buffer.length - offset >= LENGTH_PREFIX_BYTES) {
      const length = new DataView(this.#buffer.buffer, this.#buffer.byteOffset + offset, LENGTH_PREFIX_BYTES).getUint32(0)
      this.#check(length)
      if (this.#buffer.length - offset - LENGTH_PREFIX_BYTES < length) break
      bodies.push(this.#buffer.subarray(offset + LENGTH_PREFIX_BYTES, offset + LENGTH_PREFIX_BYTES + length))
      offset += LENGTH_PREFIX_BYTES + length
    }
    this.#buffer = this.#buffer.slice(offset)
    return bodies
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
