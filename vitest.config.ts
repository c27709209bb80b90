import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start their own PostgreSQL clusters; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    // Fails a test that overlaps queries on one pg client (a warning in pg 8, an error in pg 9).
    setupFiles: ['test/support/pg-overlap-guard.ts'],
    // A focused test (it.only) left in a commit would silently skip the rest of the suite in CI.
    allowOnly: !process.env.CI,
  },
});
