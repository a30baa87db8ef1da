import { configDefaults, defineConfig } from 'vitest/config'

/**
 * Live-profile tests that take minutes of waiting (a 250-s freeze, a 120-s outage of a node's links or of the whole network): they run
 * in `npm run soak` (BURROW_SOAK=1), not in `npm test`, which CI must finish in well under 30 minutes on 2 cores.
 */
const SOAK_ONLY = ['test/live/sleep-wake.test.ts', 'test/live/network-loss.test.ts', 'test/live/network-gone.test.ts']

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          // Runs after the unit project; a separate group because it has its own worker limit.
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // Each integration file runs its own tor clients; two at a time keeps a 2-core machine responsive.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
      {
        test: {
          name: 'live',
          // After the integration files (vitest runs one worker limit per group), on a private network of the live profile (test/live/global-setup.ts).
          sequence: { groupOrder: 2 },
          include: ['test/live/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...(process.env.BURROW_SOAK === '1' ? [] : SOAK_ONLY)],
          globalSetup: ['test/live/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // Three at a time: the sleep and outage files spend minutes waiting (a freeze, a drop), little of it on the CPU.
          maxWorkers: 3,
          fileParallelism: true,
        },
      },
    ],
  },
})
