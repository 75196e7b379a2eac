import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native code and threads do not mix with vitest's worker threads: one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
