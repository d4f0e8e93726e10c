import { defineConfig } from 'vitest/config';

// Vite's transform (oxc) takes experimentalDecorators and emitDecoratorMetadata from tsconfig.json, which Nest's
// dependency injection and class-validator need; `resolve.tsconfigPaths` resolves the @parley/* aliases.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'tools/**/*.spec.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.e2e-spec.ts'],
          exclude: ['test/redis-cluster/**'],
          // Each file starts its own cluster of real processes; on a 2-core machine they run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // `npm run test:redis-cluster`: the failover suite, and the scale-out, presence and fault suites again, each
          // deployment on a private 3-master, 3-replica Redis Cluster (test/support/cluster.ts). After the others:
          // the machine has 2 cores.
          name: 'redis-cluster',
          include: [
            'test/redis-cluster/**/*.e2e-spec.ts',
            'test/e2e/scale-out.e2e-spec.ts',
            'test/e2e/presence.e2e-spec.ts',
            'test/faults/faults.e2e-spec.ts',
          ],
          env: { PARLEY_TEST_REDIS_CLUSTER: '1' },
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
