import { configDefaults, defineConfig } from 'vitest/config';

// Two projects, chosen by where a test file is and how it is named (docs/parts/testing.md):
//   unit         next to its code in shared/, functions/, infra/ (`x.test.ts`), or `test/**/*.unit.test.ts`:
//                no Redis, no ovsdb-server, no external program, so no global setup; seconds in all.
//   integration  everything else under test/, and `*.integration.test.ts` anywhere: real servers,
//                started once by test/setup/global.ts (`inject('redisUrl')`, `inject('nbRemote')`).
const UNIT = [
  'shared/**/*.test.ts',
  'functions/**/*.test.ts',
  'infra/**/*.test.ts',
  'test/**/*.unit.test.ts',
];
const INTEGRATION = ['test/**/*.test.ts', '**/*.integration.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel up to this many workers, each against its own keys/switches.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          exclude: [...configDefaults.exclude, '**/*.integration.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: [
            ...configDefaults.exclude,
            'test/**/*.unit.test.ts',
            // The image test builds and runs containers (podman, root, 1.5-3 min): `npm run test:image`.
            ...(process.env.VIP_IMAGE_TEST ? [] : ['test/deploy/image.test.ts']),
          ],
          globalSetup: ['test/setup/global.ts'],
        },
      },
    ],
  },
});
