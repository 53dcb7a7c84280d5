import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { JOBS_APPLICATION_NAME, type Database } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { JobRunner } from './platform/jobs/jobs.js';
import { registerIncidentJobs } from './modules/incidents/incidents.jobs.js';
import { registerSlaJobs } from './modules/sla/sla.jobs.js';
import { registerMaintenanceJobs } from './modules/maintenance/maintenance.jobs.js';
import { registerStatsJobs } from './modules/stats/stats.jobs.js';
import { registerMapJobs } from './modules/map/map.jobs.js';
import { registerAuditJobs } from './modules/audit/audit.jobs.js';
import { registerMediaJobs } from './modules/media/media.jobs.js';
import { createHttpDelivery } from './modules/authorities/authorities.delivery.js';
import { registerAuthorityJobs } from './modules/authorities/authorities.jobs.js';
import { registerUpdatePolling } from './modules/authorities/authorities.polling.js';
import { registerWebhookDispatch } from './modules/webhooks/webhooks.dispatch.js';
import { registerNotificationJobs } from './modules/notifications/notifications.jobs.js';
import { registerAlertJobs } from './modules/alerts/alerts.jobs.js';
import { emergencyTrigger, registerEmergencyJobs, type EmergencyDeps } from './modules/emergency/emergency.jobs.js';
import { openMailChannel } from './modules/notifications/notifications.email.js';
import { deriveUnsubscribeKey } from './modules/notifications/notifications.unsubscribe.js';
import { loadVapidKeys } from './modules/notifications/notifications.webpush.js';
import type { Bus } from './platform/bus/bus.js';
import { registerPrivacyJobs } from './modules/privacy/privacy.jobs.js';
import { loadJwtSecret } from './platform/secrets.js';
import { checkDurability, settingReader } from './platform/db/durability.js';
import { startMetricsServer } from './platform/metrics/metrics.js';
import { openStorage } from './platform/storage/open.js';
import { openBus } from './platform/bus/open.js';
import pino from 'pino';
import type { BlobStorage } from './platform/storage/storage.js';

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  jobs: JobRunner | null;
  /** starts draining: readiness turns 503 at once, then in-flight work finishes and all closes */
  close(): Promise<void>;
}

/** `serve`: migrate, then listen; in embedded mode (or JOBS_IN_PROCESS) also run the jobs. */
export async function startServer(config: Config): Promise<RunningServer> {
  let draining = false;
  const bootLog = { warn: console.warn, error: console.error };
  const db = await openDatabase(config, bootLog, { applicationName: 'buurtwag-serve' });
  const storage = await openStorage(config, loadJwtSecret(config));
  const bus = openBus(config, pino({ level: config.log.level }));
  try {
    await checkPostgresDurability(config, db, bootLog);
    await migrate(db);
    const app = await buildApp({ config, db, storage, bus, isDraining: () => draining });
    const inProcess = config.jobsInProcess ? startInProcessJobs(config, db, storage, app.log, bus) : null;
    const jobs = inProcess?.jobs ?? null;
    await app.listen({ host: config.http.host, port: config.http.port });
    const metricsServer = config.metrics.port
      ? await startMetricsServer(app.metrics, { host: config.http.host, port: config.metrics.port })
      : null;
    return {
      app,
      db,
      jobs,
      async close() {
        draining = true;
        await metricsServer?.close();
        await app.close();
        await inProcess?.stop();
        await bus.close();
        storage.close();
        await db.close();
      },
    };
  } catch (err) {
    await bus.close();
    storage.close();
    await db.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Connections the in-process job runner has to itself: its lanes (DEFAULT_LANES, jobs.ts) and
 * periodic jobs (the vacuum holds one for a session lock) share them. Lanes mostly wait on the
 * network (forwards, webhooks, mail), which holds no connection. Measured on embedded W1 (50
 * connections): on the requests' pool, the runner queued behind every waiting request, the
 * oldest job waited as long as the load lasted (18.8 s after 20 s) and the backlog only drained
 * once it stopped.
 */
const JOB_CONNECTIONS = 2;

/**
 * The job runner of a `serve` that runs jobs itself, started on connections of its own: it
 * takes turns at the database with the requests (in embedded mode, at the one session) instead
 * of waiting in line behind all of them. An alert for a critical incident must not wait for a
 * busy evening to end.
 */
export function startInProcessJobs(
  config: Config,
  db: Database,
  storage: BlobStorage,
  log: FastifyInstance['log'],
  bus: Bus | null,
): { jobs: JobRunner; stop(): Promise<void> } {
  const jobsDb = db.sibling({ max: JOB_CONNECTIONS, applicationName: JOBS_APPLICATION_NAME });
  const jobs = createJobRunner(config, jobsDb, storage, log, bus);
  jobs.start();
  return {
    jobs,
    async stop() {
      await jobs.stop();
      await jobsDb.close();
    },
  };
}

export function createJobRunner(
  config: Config,
  db: Database,
  storage: BlobStorage,
  log: FastifyInstance['log'],
  /** announces new in-app notifications to the `me` sockets; null: they show on the next fetch */
  bus: Bus | null = null,
): JobRunner {
  const jobs = new JobRunner(db, log);
  registerMediaJobs(jobs, db, storage, log);
  const outbound = { allowAddresses: [...config.outbound.allowAddresses] };
  const deliver = createHttpDelivery({
    policy: outbound,
    signingKey: loadJwtSecret(config),
    publicUrl: config.http.publicUrl,
  });
  registerAuthorityJobs(jobs, db, deliver, log);
  registerUpdatePolling(jobs, db, outbound, log);
  registerWebhookDispatch(jobs, db, { policy: outbound, signingKey: loadJwtSecret(config) }, log);
  const mail = openMailChannel(config, log);
  registerNotificationJobs(jobs, {
    db,
    mail,
    push: { keys: loadVapidKeys(config), policy: outbound },
    publicUrl: config.http.publicUrl,
    unsubscribeKey: deriveUnsubscribeKey(loadJwtSecret(config)),
    bus,
    log,
    digest: {
      threshold: config.notifications.digestThreshold,
      windowSeconds: config.notifications.digestWindowSeconds,
    },
  });
  const emergency: EmergencyDeps = {
    db,
    escalationMinutes: config.emergency.escalationMinutes,
    webhook: config.emergency.webhook,
    policy: outbound,
    publicUrl: config.http.publicUrl,
    log,
  };
  registerAlertJobs(jobs, {
    db,
    mail,
    publicUrl: config.http.publicUrl,
    unsubscribeKey: deriveUnsubscribeKey(loadJwtSecret(config)),
    log,
  });
  registerEmergencyJobs(jobs, emergency);
  registerIncidentJobs(jobs, log, [emergencyTrigger(emergency)]);
  registerSlaJobs(jobs, db, log);
  registerMaintenanceJobs(jobs, db, log);
  registerStatsJobs(jobs, db, log);
  registerMapJobs(jobs, db, log);
  registerAuditJobs(jobs, db, log);
  registerPrivacyJobs(
    jobs,
    db,
    { policy: outbound, signingKey: loadJwtSecret(config), retention: config.privacy },
    log,
  );
  return jobs;
}

/** `worker`: the job runner alone, for production (embedded mode runs jobs inside `serve`). */
export async function startWorker(config: Config, log: FastifyInstance['log']): Promise<{ close(): Promise<void> }> {
  const db = await openDatabase(config, log, { applicationName: 'buurtwag-worker' });
  await checkPostgresDurability(config, db, log).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  await migrate(db);
  const storage = await openStorage(config, loadJwtSecret(config));
  // with Redis, in-app notifications made here reach the serve nodes' sockets live
  const bus = config.redis ? openBus(config, log) : null;
  const jobs = createJobRunner(config, db, storage, log, bus);
  jobs.start();
  return {
    async close() {
      await jobs.stop();
      await bus?.close();
      storage.close();
      await db.close();
    },
  };
}

/** Server Postgres only: PGlite is not a crash-safe server and has nothing to check. */
async function checkPostgresDurability(
  config: Config,
  db: Database,
  log: { warn(obj: object, msg: string): void },
): Promise<void> {
  if (config.db.kind !== 'postgres') return;
  await checkDurability(settingReader(db), {
    production: config.env === 'production',
    allowUnsafe: config.allowUnsafeDurability,
    log,
  });
}
