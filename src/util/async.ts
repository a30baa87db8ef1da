import { AbortError, TimeoutError } from '../errors.js'

/** Resolves after `ms`, or rejects with {@link AbortError} when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('sleep'))
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortError('sleep'))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Races `promise` against a timer. The timer is always cleared, so a settled
 * promise never keeps the process alive.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Exponential backoff delays: base·2ⁿ capped at `max`, with ±20 % jitter so peers do not retry in lockstep. */
export function backoffDelay(attempt: number, base: number, max: number): number {
  const raw = Math.min(max, base * 2 ** attempt)
  return Math.round(raw * (0.8 + Math.random() * 0.4))
}
