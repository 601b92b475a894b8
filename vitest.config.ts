import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bundles the SQLite store's thread entries once per run (see the file).
    globalSetup: ['test/global-setup.ts'],
    // Generous: a test waits on real servers, child processes, PostgreSQL and Redis on a shared 2-core
    // machine; a hang still fails, a slow moment does not.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default on 2 cores is one worker (cores - 1); most of a file's time is spent waiting
    // (servers, timers, fsync, child processes), so two files at a time use both cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
