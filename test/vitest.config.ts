import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Each file starts its own redis-server, API and worker processes on free ports in its own temp dirs,
    // and spends most of its time waiting on them (the suite's CPU time is about a third of its wall time):
    // two files at once on two cores.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
