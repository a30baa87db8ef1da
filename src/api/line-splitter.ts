/**
 * Splits a byte stream into newline-terminated lines with a hard bound on a
 * line's length, so a peer that never sends a newline cannot make us buffer
 * without limit. After an overflow the splitter yields nothing more: the
 * caller answers once and closes the connection.
 */
export class LineSplitter {
  readonly #maxLineBytes: number
  #pending: Buffer[] = []
  #pendingBytes = 0
  #overflowed = false

  /** @param maxLineBytes longest accepted line, without its newline. */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  /** True once a line exceeded the bound. */
  get overflowed(): boolean {
    return this.#overflowed
  }

  /** Feeds a chunk; returns the complete lines it finished (newline removed). Empty lines are dropped. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = []
    if (this.#overflowed) return lines
    let start = 0
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start)
      if (nl === -1) {
        this.#pending.push(chunk.subarray(start))
        this.#pendingBytes += chunk.length - start
        if (this.#pendingBytes > this.#maxLineBytes) this.#overflow()
        return lines
      }
      const bytes = this.#pendingBytes + (nl - start)
      if (bytes > this.#maxLineBytes) {
        this.#overflow()
        return lines
      }
      const line = this.#pending.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...this.#pending, chunk.subarray(start, nl)], bytes)
      this.#pending = []
      this.#pendingBytes = 0
      if (line.length > 0) lines.push(line)
      start = nl + 1
    }
    return lines
  }

  #overflow(): void {
    this.#overflowed = true
    this.#pending = []
    this.#pendingBytes = 0
  }
}
