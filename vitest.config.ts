import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * Projects (web: the web app's unit tests in jsdom; e2e: the built app in Chromium, test/e2e/):
 *  - unit:      pure code, run once                         (*.test.ts without .db.)
 *  - embedded:  every database test on PGlite + PostGIS      (*.db.test.ts)
 *  - postgres:  the same database tests on server PostgreSQL (*.db.test.ts)
 * A database test file gets its own schema (test/helpers/database.ts); one PGlite is shared per
 * worker process because starting one costs seconds and ~1 GB. The backends reporter fails the
 * run when either backend ran no test or skipped one.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // database helpers keep one PGlite per worker across files
    isolate: false,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/setup/backends-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.db.test.ts', '**/node_modules/**', 'test/e2e/**'],
        },
      },
      {
        // the web app's own code, in a browser-like DOM
        extends: true,
        plugins: [react()],
        test: {
          name: 'web',
          include: ['web/src/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          isolate: true,
        },
      },
      {
        // the built web app in Chromium against a real server (on the postgres backend)
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env: { TEST_DB: 'postgres' },
          globalSetup: ['./test/setup/postgres-database.ts', './test/setup/web-build.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'embedded',
          include: ['src/**/*.db.test.ts', 'test/**/*.db.test.ts'],
          env: { TEST_DB: 'embedded' },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['src/**/*.db.test.ts', 'test/**/*.db.test.ts'],
          env: { TEST_DB: 'postgres' },
          globalSetup: ['./test/setup/postgres-database.ts'],
        },
      },
    ],
  },
});
