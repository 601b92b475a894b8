import { defineConfig } from 'vitest/config';

/**
 * `npm run fuzz`: only the fuzz suite (test/fuzz), with FUZZ_LONG=1 so that every property runs many
 * more cases under larger time budgets (test/fuzz/config.ts). FUZZ_SEED, FUZZ_RUNS, FUZZ_PATH and
 * FUZZ_SHRINK still apply; `npm run fuzz -- -t "<property name>"` runs one property.
 */
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    env: { FUZZ_LONG: '1' },
  },
});
