import { defineConfig } from 'vitest/config';

/**
 * Three projects:
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
          exclude: ['**/*.db.test.ts', '**/node_modules/**'],
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
