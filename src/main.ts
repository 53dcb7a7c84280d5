#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Database } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { loadJwtSecret } from './platform/secrets.js';
import { openStorage } from './platform/storage/open.js';
import { startServer, startWorker } from './server.js';
import type { RoleGrant } from './modules/identity/actor.js';

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
  users create --email E --password P --name N [--role R --community ID]
                                      create an account; prints its id as JSON
  audit verify                        check the audit trail's hash chain (exit 1 on any break)
  media gc [--grace-minutes N]        remove stored files that no database row points at
  export --format csv|geojson [--community ID] [--status S,…] [--category SLUG,…] [--out FILE]
                                      incidents as CSV or GeoJSON (progress on stderr)
  import --file F [--format csv|geojson] [--dry-run]
                                      historical incidents; prints a per-row error report as JSON,
                                      exit 1 if any row failed
  privacy retention [--dry-run]       anonymize long-inactive accounts, purge old hidden spam
                                      (RETENTION_INACTIVE_ACCOUNT_YEARS, RETENTION_HIDDEN_SPAM_DAYS)
  open311 keys create --name N | list | revoke --id ID
                                      Open311 API keys (a new key is printed once)
  users grant|revoke --email E --role R [--community ID]
                                      change a role (admin; moderator or responder of a community)
  users ban|unban --email E [--reason R]
                                      end an account's sign-ins and hide its reports, or lift the ban
  bans add|remove (--email E | --domain D) [--reason R]
                                      the ban list: reports from these addresses stay hidden
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
    case 'users':
      return rest[0] === 'ban' || rest[0] === 'unban'
        ? banCommand(config, log, 'account', rest)
        : usersCommand(config, log, rest);
    case 'bans':
      return banCommand(config, log, 'list', rest);
    case 'audit': {
      const { auditCommand } = await import('./cli/audit.js');
      const db = await openDatabase(config, log, { applicationName: 'buurtwag-audit' });
      try {
        await migrate(db);
        return await auditCommand(db, rest, {
          stdout: (s) => process.stdout.write(s),
          stderr: (s) => process.stderr.write(s),
        });
      } finally {
        await db.close();
      }
    }
    case 'open311': {
      const { open311Command } = await import('./cli/open311.js');
      const db = await openDatabase(config, log, { applicationName: 'buurtwag-open311' });
      try {
        await migrate(db);
        return await open311Command(db, rest, {
          stdout: (s) => process.stdout.write(s),
          stderr: (s) => process.stderr.write(s),
        });
      } finally {
        await db.close();
      }
    }
    case 'privacy': {
      const { privacyCommand } = await import('./cli/privacy.js');
      const db = await openDatabase(config, log, { applicationName: 'buurtwag-privacy' });
      try {
        await migrate(db);
        return await privacyCommand(db, config.privacy, rest, {
          stdout: (s) => process.stdout.write(s),
          stderr: (s) => process.stderr.write(s),
        });
      } finally {
        await db.close();
      }
    }
    case 'export':
    case 'import': {
      const { exportCommand, importCommand } = await import('./cli/transfer.js');
      const db = await openDatabase(config, log, { applicationName: `buurtwag-${command}` });
      try {
        await migrate(db);
        const io = { stdout: process.stdout, stderr: process.stderr };
        return command === 'export' ? await exportCommand(db, rest, io) : await importCommand(db, rest, io);
      } finally {
        await db.close();
      }
    }
    case 'media': {
      const { mediaCommand } = await import('./cli/media.js');
      const db = await openDatabase(config, log, { applicationName: 'buurtwag-media' });
      const storage = await openStorage(config, loadJwtSecret(config));
      try {
        await migrate(db);
        return await mediaCommand(db, storage, rest, {
          stdout: (s) => process.stdout.write(s),
          stderr: (s) => process.stderr.write(s),
        });
      } finally {
        storage.close();
        await db.close();
      }
    }
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
    const started = performance.now();
    // PGlite runs one statement at a time; server Postgres takes a batch per core (each batch is
    // CPU-bound in its backend), as many as the pool has connections: seeding and rendering alike
    const workers = config.db.kind === 'postgres' ? Math.min(availableParallelism(), config.db.poolSize) : 1;
    const bar = new ProgressBar('seeding', incidents);
    const result = await seedIncidents(db, {
      incidents,
      seed,
      concurrency: workers,
      onProgress: (done) => bar.update(done),
    });
    bar.done();
    // the public map's copies of the new incidents (incidents.public-copies.ts), made now rather
    // than by the first server's renderer while it serves
    const { countQueued } = await import('./modules/incidents/incidents.public-copies.repository.js');
    const { renderAllQueuedCopies } = await import('./modules/incidents/incidents.public-copies.js');
    const copies = new ProgressBar('public copies', await countQueued(db));
    let rendered = 0;
    await Promise.all(
      Array.from({ length: workers }, () => renderAllQueuedCopies(db, (n) => copies.update((rendered += n)))),
    );
    copies.done();
    // marks the new pages all-visible: the list's index-only scans then skip the table itself
    await db.query({ text: 'VACUUM (ANALYZE) incident_public_copies, incident_public_copy_queue' });
    process.stdout.write(`${JSON.stringify({ ...result, ms: Math.round(performance.now() - started) })}\n`);
  } finally {
    await db.close();
  }
  return 0;
}

/** `users ban|unban` (target account) and `bans add|remove` (target list). */
async function banCommand(
  config: Config,
  log: pino.Logger,
  target: 'account' | 'list',
  args: string[],
): Promise<number> {
  const [action, ...rest] = args;
  const onList = target === 'list';
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, domain: { type: 'string' }, reason: { type: 'string' } },
  });
  const name = `${onList ? 'bans' : 'users'} ${action ?? ''}`;
  const fail = (message: string) => {
    process.stderr.write(`${name}: ${message}\n`);
    return 1;
  };
  if (onList ? action !== 'add' && action !== 'remove' : action !== 'ban' && action !== 'unban') {
    return fail(onList ? 'use bans add or bans remove' : 'use users ban or users unban');
  }
  if (onList && Boolean(values.email) === Boolean(values.domain)) return fail('give either --email or --domain');
  if (!onList && !values.email) return fail('--email is required');
  const { setBannedCli, changeBanListCli, CliError } = await import('./modules/accounts/accounts.service.js');
  return withAccountsDb(config, log, 'buurtwag-bans', fail, CliError, async (db) =>
    onList
      ? changeBanListCli(db, action as 'add' | 'remove', {
          kind: values.email ? 'email' : 'domain',
          value: (values.email ?? values.domain)!,
          reason: values.reason ?? null,
        })
      : setBannedCli(db, values.email!, action === 'ban', values.reason ?? null),
  );
}

/** Opens the database for an account command, prints its result as JSON, turns refusals into exit 1. */
async function withAccountsDb(
  config: Config,
  log: pino.Logger,
  applicationName: string,
  fail: (message: string) => number,
  refusal: new (...args: never[]) => Error,
  run: (db: Database) => Promise<object | number>,
): Promise<number> {
  const db = await openDatabase(config, log, { applicationName });
  try {
    await migrate(db);
    const result = await run(db);
    if (typeof result === 'number') return result;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof refusal) return fail(err.message);
    throw err;
  } finally {
    await db.close();
  }
}

async function usersCommand(config: Config, log: pino.Logger, args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      community: { type: 'string' },
    },
  });
  const fail = (message: string) => {
    process.stderr.write(`users ${action ?? ''}: ${message}\n`);
    return 1;
  };
  if (action !== 'create' && action !== 'grant' && action !== 'revoke')
    return fail('use users create, users grant or users revoke');
  if (!values.email) return fail('--email is required');
  let grant: RoleGrant | null = null;
  if (values.role !== undefined) {
    if (values.role === 'admin') {
      if (values.community) return fail('admin is global: leave out --community');
      grant = { role: 'admin', communityId: null };
    } else if (values.role === 'moderator' || values.role === 'responder') {
      if (!values.community || !/^[0-9a-f-]{36}$/i.test(values.community))
        return fail(`${values.role} needs --community <community id>`);
      grant = { role: values.role, communityId: values.community.toLowerCase() };
    } else {
      return fail('--role must be admin, moderator or responder');
    }
  }
  if (action !== 'create' && !grant) return fail('--role is required');
  if (action === 'create' && (!values.password || !values.name)) return fail('--password and --name are required');
  const { createUserCli, changeRoleCli, CliError } = await import('./modules/accounts/accounts.service.js');
  return withAccountsDb(config, log, 'buurtwag-users', fail, CliError, async (db) => {
    if (grant?.communityId) {
      const { rows } = await db.query({ text: 'SELECT 1 FROM communities WHERE id = $1', values: [grant.communityId] });
      if (rows.length === 0) return fail(`no community ${grant.communityId}`);
    }
    return action === 'create'
      ? createUserCli(db, { email: values.email!, password: values.password!, name: values.name!, grant })
      : changeRoleCli(db, action, values.email!, grant!);
  });
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
