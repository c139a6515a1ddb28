import { defineConfig } from 'vitest/config';

// Runs only the chart test (test/chart), without the integration project's servers.
// The root vitest.config.ts may also include it in a project of its own.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/chart/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
