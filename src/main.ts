#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrate } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { startServer, startWorker } from './server.js';

/**
 * The command line: `serve`, `worker`, `migrate`, `seed`. Every command reads the same config,
 * prints a clear message and exits non-zero on failure.
 */
const USAGE = `Usage: buurtwag <command> [options]

Commands:
  serve                               HTTP node (embedded mode also runs jobs)
  worker                              job runner (production)
  migrate                             apply pending database migrations
  seed --incidents N [--seed S]       deterministic synthetic incidents for demos and benchmarks
`;

// Graceful shutdown must finish within this, or the process exits anyway.
const SHUTDOWN_DEADLINE_MS = 25_000;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return command ? 0 : 1;
  }
  const config = loadConfig();
  const log = pino({ level: config.log.level === 'silent' ? 'silent' : config.log.level });

  switch (command) {
    case 'serve': {
      const server = await startServer(config);
      onShutdown(log, () => server.close());
      return -1; // keep running
    }
    case 'worker': {
      const worker = await startWorker(config, log);
      log.info('worker started');
      onShutdown(log, () => worker.close());
      return -1;
    }
    case 'migrate': {
      const db = await openDatabase(config, log, { applicationName: 'buurtwag-migrate' });
      try {
        const applied = await migrate(db, { onApply: (m) => process.stdout.write(`applied ${m.version}_${m.name}\n`) });
        process.stdout.write(
          applied.length === 0 ? 'database is up to date\n' : `${applied.length} migration(s) applied\n`,
        );
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'seed':
      return seedCommand(config, log, rest);
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 1;
  }
}

async function seedCommand(config: Config, log: pino.Logger, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { incidents: { type: 'string' }, seed: { type: 'string', default: '1' } },
  });
  const incidents = Number(values.incidents);
  const seed = Number(values.seed);
  if (!Number.isInteger(incidents) || incidents < 1 || incidents > 10_000_000) {
    process.stderr.write('seed: --incidents must be a whole number from 1 to 10000000\n');
    return 1;
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) {
    process.stderr.write('seed: --seed must be a whole number from 0 to 2147483647\n');
    return 1;
  }
  const { seedIncidents } = await import('./cli/seed.js');
  const { ProgressBar } = await import('./cli/progress.js');
  const db = await openDatabase(config, log, { applicationName: 'buurtwag-seed' });
  try {
    await migrate(db);
    const bar = new ProgressBar('seeding', incidents);
    const result = await seedIncidents(db, { incidents, seed, onProgress: (done) => bar.update(done) });
    bar.done();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await db.close();
  }
  return 0;
}

function onShutdown(log: pino.Logger, close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`buurtwag: ${(err as Error)?.message ?? String(err)}\n`);
    }
    process.exit(1);
  },
);
