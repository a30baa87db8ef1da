/**
 * Mulberry32: a tiny, fast, seeded PRNG, so that a run can be replayed: the
 * fault tests' kill points and split patterns, and the content of opaque
 * bytes in the fuzz arbitraries (test/arbitraries/bytes.ts). Fuzzing itself
 * is fast-check's. Returns floats in [0, 1).
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
