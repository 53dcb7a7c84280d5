/**
 * Notification fan-out: one status change on an incident with N followers (default 10,000),
 * each with an email address. Prints the time until every notification is enqueued (in-app rows,
 * deliveries and send jobs committed by the notifier) and until every mail reached a local SMTP
 * server (smtp-server on 127.0.0.1, in this process), and the process's RSS before, at its peak
 * and after — the fan-out is INSERT … SELECT, so followers are never loaded into memory.
 *
 *   npx tsx bench/notifications.ts [--followers 10000] [--postgres URL]
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { openBenchDatabase, quiet } from './database.js';
import { JobRunner } from '../src/platform/jobs/jobs.js';
import { appendEvents } from '../src/modules/timeline/timeline.repository.js';
import { sequencePending } from '../src/modules/realtime/realtime.repository.js';
import { smtpChannel } from '../src/modules/notifications/notifications.email.js';
import { fanOut, registerNotificationJobs } from '../src/modules/notifications/notifications.jobs.js';
import { deriveUnsubscribeKey } from '../src/modules/notifications/notifications.unsubscribe.js';
import { generateVapidKeys } from '../src/modules/notifications/notifications.webpush.js';

const { values } = parseArgs({
  options: { followers: { type: 'string', default: '10000' }, postgres: { type: 'string' } },
});
const FOLLOWERS = Number(values.followers);
const mb = () => process.memoryUsage().rss / 1024 / 1024;

const database = await openBenchDatabase('notifications', values.postgres);
const { db } = database;

let received = 0;
let allReceived: () => void = () => undefined;
const done = new Promise<void>((resolve) => (allReceived = resolve));
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      callback();
      if (++received === FOLLOWERS) allReceived();
    });
  },
});
await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
const smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;

// the set-up: N people following one incident (made in SQL: not what is measured)
const tag = randomBytes(4).toString('hex');
const { rows: made } = await db.query<{ incident: string; category: string }>({
  text: `WITH c AS (SELECT id FROM categories ORDER BY sort_order LIMIT 1)
         INSERT INTO incidents (reference, title, location, category_id)
         SELECT 'BW-BENCH' || upper($1), 'Water main burst on Voortrekker Road', ST_SetSRID(ST_MakePoint(18.6, -33.9), 4326), c.id
         FROM c RETURNING id AS incident, category_id AS category`,
  values: [tag],
});
const incidentId = made[0]!.incident;
await db.query({
  text: `WITH u AS (
           INSERT INTO users (email, display_name, locale)
           SELECT 'follower-' || $2 || '-' || n || '@bench.invalid', 'Follower ' || n, CASE WHEN n % 2 = 0 THEN 'af' ELSE 'en' END
           FROM generate_series(1, $3::int) n RETURNING id)
         INSERT INTO incident_follows (incident_id, user_id) SELECT $1, id FROM u`,
  values: [incidentId, tag, FOLLOWERS],
});
// the notifier starts from the present
await db.query({
  text: 'UPDATE notification_cursor SET delivered_seq = (SELECT coalesce(max(seq), 0) FROM incident_events)',
});

const mail = smtpChannel(smtpUrl, 'Buurtwag <no-reply@bench.invalid>');
const deps = {
  db,
  mail,
  push: { keys: { ...generateVapidKeys(), subject: 'mailto:bench@bench.invalid' }, policy: {} },
  publicUrl: 'https://buurtwag.example',
  unsubscribeKey: deriveUnsubscribeKey(randomBytes(32)),
  bus: null,
  log: quiet,
  // every follower gets one mail: nobody reaches a digest
  digest: { threshold: 5, windowSeconds: 900 },
};

let peak = mb();
const sampler = setInterval(() => (peak = Math.max(peak, mb())), 100);
const rssBefore = mb();
process.stdout.write(
  `notification fan-out — ${values.postgres ? 'server Postgres' : 'embedded PGlite'}, ${os.cpus().length} cores, ` +
    `${FOLLOWERS} followers\nRSS before: ${rssBefore.toFixed(0)} MB\n`,
);

// the status change, as the service writes it, and its place in the log
const start = performance.now();
await db.transaction(async (tx) => {
  await tx.query({ text: "UPDATE incidents SET status = 'acknowledged' WHERE id = $1", values: [incidentId] });
  await appendEvents(tx, [
    { incidentId, type: 'status_changed', actorId: null, data: { from: 'reported', to: 'acknowledged' } },
  ]);
});
await db.transaction((tx) => sequencePending(tx, 500));

const fanned = await fanOut(deps);
const enqueuedMs = performance.now() - start;
const rssEnqueued = mb();
const { rows: counts } = await db.query<{ in_app: number; deliveries: number; jobs: number }>({
  text: `SELECT (SELECT count(*) FROM notifications WHERE incident_id = $1)::int AS in_app,
                (SELECT count(*) FROM notification_deliveries d JOIN incident_events e ON e.id = d.event_id
                 WHERE e.incident_id = $1)::int AS deliveries,
                (SELECT count(*) FROM jobs WHERE name = 'notifications.send.v1')::int AS jobs`,
  values: [incidentId],
});
process.stdout.write(
  `enqueued: ${enqueuedMs.toFixed(0)} ms (${fanned.events} event → ${counts[0]!.in_app} in-app, ` +
    `${counts[0]!.deliveries} email deliveries, ${counts[0]!.jobs} send jobs); RSS ${rssEnqueued.toFixed(0)} MB\n`,
);

const runner = new JobRunner(db, quiet, { pollMs: 50, batchSize: 20 });
registerNotificationJobs(runner, deps);
runner.start();
await done;
const sentMs = performance.now() - start;
await runner.stop();
clearInterval(sampler);
const { rows: sent } = await db.query<{ n: number }>({
  text: `SELECT count(*)::int AS n FROM notification_deliveries d JOIN incident_events e ON e.id = d.event_id
         WHERE e.incident_id = $1 AND d.state = 'sent'`,
  values: [incidentId],
});
process.stdout.write(
  `all ${received} mails at the SMTP server: ${sentMs.toFixed(0)} ms from the change ` +
    `(${((received / (sentMs - enqueuedMs)) * 1000).toFixed(0)} mails/s after enqueueing); ${sent[0]!.n} marked sent\n` +
    `RSS peak ${peak.toFixed(0)} MB, after ${mb().toFixed(0)} MB (before ${rssBefore.toFixed(0)} MB)\n`,
);
mail.close();
smtp.close(() => undefined);
await database.close();
process.exit(0);
