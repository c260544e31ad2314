import { defineConfig } from 'vitest/config';

// Benchmarks and long demonstrations: real servers, real waits, figures printed and written to bench/RESULTS.md.
export default defineConfig({
  test: {
    include: ['bench/**/*.run.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
