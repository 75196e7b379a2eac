import { defineConfig } from 'vitest/config';

// Two projects: 'unit' (the fast suite, what `npm test` / plain `vitest run` runs) and 'slow'
// (long experiments: `vitest run --project slow`). `project: ['unit']` is the default filter;
// a `--project` on the command line replaces it.
export default defineConfig({
  test: {
    // Native code and threads do not mix with vitest's worker threads: one process per file.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // @ts-expect-error vitest 4 reads `project` (the default --project filter) but its config type omits it
    project: ['unit'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/slow/**'] } },
      { extends: true, test: { name: 'slow', include: ['test/slow/**/*.test.ts'], testTimeout: 600_000 } },
    ],
  },
});
