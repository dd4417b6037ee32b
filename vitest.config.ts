import { defineConfig } from 'vitest/config';

/**
 * Three projects, one command: `unit` (pure code, no I/O), `integration` (real SQLite and, when
 * TEST_DATABASE_URL is set, real PostgreSQL, plus HTTP through app.inject and the CLI as a process)
 * and `e2e` (browser journeys in headless Chromium).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.integration.test.ts', 'test/**/*.integration.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // A journey is many pages, each checked by axe and the HTML validator; on a slow machine
          // the longest take over a minute. The limit is there to stop a hang, not to time them.
          testTimeout: 240_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
