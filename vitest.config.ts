import { defineConfig } from 'vitest/config';

// unit: pure logic, no servers. integration: real PostgreSQL, Redis, Kafka,
// MinIO and dockerd, started once by test/global-setup.ts for every file.
export default defineConfig({
  test: {
    // Two cores: two files at a time keeps servers and clients from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['libs/*/src/**/*.int.test.ts', 'services/*/src/**/*.int.test.ts', 'tools/*/src/**/*.int.test.ts', 'e2e/tests/**/*.test.ts', 'test/chart/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The Helm chart on a live local Kubernetes cluster (e2e/cluster): runs after the other
        // projects (groupOrder), alone, since the cluster and its pods need the two cores.
        test: {
          name: 'cluster',
          include: ['e2e/cluster/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          sequence: { groupOrder: 1 },
          testTimeout: 900_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
