/**
 * A token bucket that lends: {@link TokenBucket.take} always succeeds and says
 * how long the caller must hold the bytes back, so chunks from several
 * connections sharing one bucket leave in the order they arrived (FIFO) and
 * the long-run rate stays at `bytesPerSecond`. After an idle spell up to
 * `burstBytes` pass at once, as on a link with an empty queue.
 */
export class TokenBucket {
  readonly bytesPerSecond: number
  readonly burstBytes: number
  #tokens: number
  #updatedAt: number

  /** `now` in milliseconds on the clock later passed to {@link take}. */
  constructor(bytesPerSecond: number, burstBytes: number, now: number) {
    if (!(bytesPerSecond > 0) || !(burstBytes >= 0)) throw new RangeError('a token bucket needs a positive rate and a non-negative burst')
    this.bytesPerSecond = bytesPerSecond
    this.burstBytes = burstBytes
    this.#tokens = burstBytes
    this.#updatedAt = now
  }

  /** Takes `bytes` at `now` (ms) and returns how many ms after `now` they have been paid for: 0 while tokens last. */
  take(bytes: number, now: number): number {
    const elapsed = Math.max(0, now - this.#updatedAt)
    this.#tokens = Math.min(this.burstBytes, this.#tokens + (elapsed * this.bytesPerSecond) / 1000) - bytes
    this.#updatedAt = Math.max(now, this.#updatedAt)
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.bytesPerSecond
  }
}
