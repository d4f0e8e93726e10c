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
          // Each file starts its own cluster of real processes; on a 2-core machine they run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
