/**
 * Property-based fuzzing with fast-check, the way every `*-fuzz.test.ts`
 * file uses it:
 *
 * - {@link fuzz} declares a property of one fuzz target with a run count that
 *   scales: `BURROW_FUZZ_SCALE` multiplies it, and `npm run soak` (which sets
 *   `BURROW_SOAK=1`) multiplies it by {@link SOAK_SCALE} unless
 *   `BURROW_FUZZ_SCALE` says otherwise.
 * - Every property prints, when it ends, one line
 *   `[fuzz] <target>: <n> inputs` (`test/helpers/fuzz-reporter.ts` adds them
 *   up per target).
 * - `BURROW_FUZZ_SEED` fixes fast-check's seed for every property, to replay a
 *   run; a failure also prints its seed and path, and the shrunk input is
 *   kept as an example (`examples`) or as a named test of its own.
 * - {@link expectTypedError} is the "invalid input gives a typed error with a
 *   stable code" check: a `BurrowError` whose code is in the layer's table.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { BurrowError } from '../../src/errors.js'

/** Run counts are multiplied by this under `npm run soak`. */
export const SOAK_SCALE = 10

function scaleFromEnv(): number {
  const configured = process.env.BURROW_FUZZ_SCALE
  if (configured !== undefined && configured !== '') {
    const scale = Number(configured)
    if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BURROW_FUZZ_SCALE must be a positive number, got ${configured}`)
    return scale
  }
  return process.env.BURROW_SOAK === '1' ? SOAK_SCALE : 1
}

/** What every run count and fuzz timeout is multiplied by in this process. */
export const FUZZ_SCALE = scaleFromEnv()

const seed = process.env.BURROW_FUZZ_SEED
if (seed !== undefined && seed !== '') fc.configureGlobal({ seed: Number(seed) })

/** `n` runs, scaled (at least 1). */
export function scaledRuns(n: number): number {
  return Math.max(1, Math.round(n * FUZZ_SCALE))
}

/** How one fuzz property runs. */
export interface FuzzOptions<Ts extends unknown[]> {
  /** Inputs in `npm test` (scaled by {@link FUZZ_SCALE}). */
  readonly runs: number
  /** Inputs always tried first: shrunk counterexamples of past failures, and hand-picked edge cases. */
  readonly examples?: Ts[]
  /** Time for `runs` inputs in `npm test`, in ms (scaled like the runs). Default 30 s. */
  readonly timeoutMs?: number
}

type Arbitraries<Ts extends unknown[]> = { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }

/**
 * Declares a property test of fuzz target `target`: `predicate` must hold
 * (return nothing or true, and throw no failed expectation) for every tuple
 * the arbitraries generate. Usage:
 * `fuzz('log: decodeOperation', [opArb], { runs: 5000 })('round-trips', (op) => { … })`.
 */
export function fuzz<Ts extends [unknown, ...unknown[]]>(target: string, arbitraries: Arbitraries<Ts>, options: FuzzOptions<Ts>) {
  return (name: string, predicate: (...args: Ts) => boolean | void | Promise<boolean | void>): void => {
    it(name, async () => {
      let tried = 0
      const asyncProperty = fc.asyncProperty as unknown as (...args: unknown[]) => fc.IAsyncProperty<Ts>
      const property = asyncProperty(...arbitraries, async (...args: Ts) => {
        tried++
        return predicate(...args)
      })
      const params: fc.Parameters<Ts> = { numRuns: scaledRuns(options.runs), ...(options.examples !== undefined ? { examples: options.examples } : {}) }
      try {
        await fc.assert(property, params)
      } finally {
        console.log(`[fuzz] ${target}: ${tried} inputs`)
      }
    }, Math.round((options.timeoutMs ?? 30_000) * FUZZ_SCALE))
  }
}

/**
 * Asserts that `err` is a `BurrowError` whose code is one of `table`'s
 * (`LOG_ERRORS`, `SYNC_ERRORS`, …), optionally one of `codes`. Returns the code.
 */
export function expectTypedError(err: unknown, table: Readonly<Record<string, string>>, codes?: readonly string[]): string {
  if (!(err instanceof BurrowError)) throw new Error(`expected a typed error, got ${String(err)}`, { cause: err })
  expect(Object.keys(table)).toContain(err.code)
  if (codes !== undefined) expect(codes).toContain(err.code)
  return err.code
}

/** The typed error `fn` throws (see {@link expectTypedError}), or undefined when it returns. */
export function typedErrorOf(fn: () => unknown, table: Readonly<Record<string, string>>, codes?: readonly string[]): string | undefined {
  try {
    fn()
  } catch (err) {
    return expectTypedError(err, table, codes)
  }
  return undefined
}

/** Async {@link typedErrorOf}. */
export async function typedRejectionOf(fn: () => Promise<unknown>, table: Readonly<Record<string, string>>, codes?: readonly string[]): Promise<string | undefined> {
  try {
    await fn()
  } catch (err) {
    return expectTypedError(err, table, codes)
  }
  return undefined
}

/**
 * A JSON text of `value` in which byte arrays are hex, maps are entry lists
 * and bigints are tagged: two values have the same text exactly when they
 * hold the same data (keys of plain objects and maps in any order).
 * Comparing these texts is what makes a property over thousands of inputs
 * affordable: `toEqual` walks a byte array element by element (about 1 ms
 * for a handful of frames).
 */
export function dataText(value: unknown): string {
  const byKey = ([a]: [unknown, unknown], [b]: [unknown, unknown]): number => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0)
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
    const raw = key === '' ? value : this[key]
    if (raw instanceof Uint8Array) return `bytes:${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex')}`
    if (raw instanceof Map) return { map: [...raw.entries()].sort(byKey) }
    if (typeof raw === 'bigint') return `bigint:${raw}`
    if (raw !== null && typeof raw === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(raw))) return Object.fromEntries(Object.entries(raw).sort(byKey))
    return converted
  })
}

/** Asserts that `actual` and `expected` hold the same data (see {@link dataText}). */
export function expectSameData(actual: unknown, expected: unknown): void {
  expect(dataText(actual)).toBe(dataText(expected))
}

export { fc }
