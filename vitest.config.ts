import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'functions/**/*.test.ts', 'infra/**/*.test.ts', 'test/**/*.test.ts'],
    // The image test builds and runs containers (podman, root, 1.5-3 min): `npm run test:image`.
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.VIP_IMAGE_TEST ? [] : ['test/deploy/image.test.ts']),
    ],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel up to this many workers, each against its own keys/switches.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
