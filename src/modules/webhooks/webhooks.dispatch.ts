import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import {
  OutboundFailed,
  OutboundRefused,
  safeRequest,
  type OutboundPolicy,
} from '../../platform/outbound/safe-http.js';
import { signWebhook } from '../../platform/outbound/standard-webhooks.js';
import { ANONYMOUS } from '../identity/actor.js';
import { presentIncident, presentTimelineEvent } from '../incidents/incidents.presenter.js';
import { findIncidentsByIds } from '../incidents/incidents.repository.js';
import { secretsFor } from '../authorities/authorities.secrets.js';
import { eventName } from '../realtime/realtime.protocol.js';
import type { TimelineEventRow } from '../timeline/timeline.repository.js';
import * as repo from './webhooks.repository.js';

export const DISPATCH_JOB = 'webhooks.dispatch.v1';
const BATCH = 50;
const GIVE_UP_MS = 3 * 24 * 3600 * 1000;
const MAX_DELAY_S = 6 * 3600;

export interface DispatchOptions {
  policy: OutboundPolicy;
  signingKey: Uint8Array;
  timeoutMs?: number;
}

/**
 * General webhooks: each receiver gets the public incident events in seq (commit) order, as the
 * public sees them (presentIncident for a signed-out viewer: no private incidents, no internal
 * notes, blurred sensitive locations, no anonymous reporters), signed per Standard Webhooks with
 * an id that stays the same across retries. A failure holds that receiver where it is and retries
 * with backoff (30 s doubling, at most 6 h); after three days of failing it is switched off with
 * the reason, and switching it on again resumes at the first event it did not take.
 */
export function registerWebhookDispatch(jobs: JobRunner, db: Database, options: DispatchOptions, log: JobLogger): void {
  jobs.register({ name: DISPATCH_JOB, handle: () => dispatchAll(db, options, log).then(() => undefined) });
  jobs.every(DISPATCH_JOB, 2_000);
}

/** One round over every webhook that is due; returns how many events were delivered. */
export async function dispatchAll(
  db: Database,
  options: DispatchOptions,
  log: JobLogger,
  now = new Date(),
): Promise<number> {
  let sent = 0;
  for (const hook of await repo.listWebhooks(db)) {
    if (!hook.enabled || (hook.retry_at && hook.retry_at > now)) continue;
    // one sender per webhook across every worker process, so events stay in order and single
    sent += await db.withClient(async (client) => {
      const lock = {
        text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 7)) AS got',
        values: [`webhook:${hook.id}`],
      };
      const { rows } = await client.query<{ got: boolean }>(lock);
      if (!rows[0]?.got) return 0;
      try {
        const fresh = await repo.findWebhook(db, hook.id);
        return fresh && fresh.enabled ? await dispatchOne(db, fresh, options, log, now) : 0;
      } finally {
        await client.query({
          text: 'SELECT pg_advisory_unlock(hashtextextended($1, 7))',
          values: [`webhook:${hook.id}`],
        });
      }
    });
  }
  return sent;
}

type EventRow = TimelineEventRow & { incident_id: string; seq: number };

async function dispatchOne(
  db: Database,
  hook: repo.WebhookRow,
  options: DispatchOptions,
  log: JobLogger,
  now: Date,
): Promise<number> {
  const { rows: events } = await db.query<EventRow>({
    text: `SELECT e.*, u.display_name AS actor_name
           FROM incident_events e
           JOIN incidents i ON i.id = e.incident_id
           LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.seq > $1 AND NOT e.internal AND i.is_public AND NOT i.hidden
           ORDER BY e.seq LIMIT $2`,
    values: [hook.delivered_seq, BATCH],
  });
  if (events.length === 0) return 0;
  const incidents = new Map(
    (await findIncidentsByIds(db, [...new Set(events.map((e) => e.incident_id))])).map((i) => [i.id, i]),
  );
  const secrets = secretsFor(options.signingKey, `webhook:${hook.id}`, hook.secret_version, hook.previous_until, now);

  let done = hook.delivered_seq;
  let sent = 0;
  for (const event of events) {
    const incident = incidents.get(event.incident_id);
    const type = eventName(event.type);
    if (!incident || (hook.events.length > 0 && !hook.events.includes(type))) {
      done = event.seq; // not for this receiver
      continue;
    }
    const payload = JSON.stringify({
      type,
      seq: event.seq,
      at: new Date(event.created_at).toISOString(),
      incident: presentIncident(incident, ANONYMOUS, 'en'),
      event: presentTimelineEvent({ ...event, created_at: new Date(event.created_at) }, incident, ANONYMOUS),
    });
    const headers = signWebhook(
      { id: `evt_${event.seq}_${hook.id}`, timestamp: Math.floor(now.getTime() / 1000), payload },
      secrets,
    );
    let failure: string | null = null;
    try {
      const res = await safeRequest(
        hook.url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: payload,
          timeoutMs: options.timeoutMs ?? 10_000,
        },
        options.policy,
      );
      if (res.status === 410) {
        await repo.advance(db, hook.id, done, false);
        await repo.disable(db, hook.id, 'the receiver answered 410 Gone');
        return sent;
      }
      if (res.status < 200 || res.status >= 300) failure = `the receiver answered ${res.status}`;
    } catch (err) {
      if (err instanceof OutboundRefused) {
        await repo.advance(db, hook.id, done, false);
        await repo.disable(db, hook.id, `refused by the outbound policy: ${err.message}`);
        return sent;
      }
      if (!(err instanceof OutboundFailed)) throw err;
      failure = err.message;
    }
    if (failure !== null) {
      await repo.advance(db, hook.id, done, false); // what went through stays through
      const since = hook.failing_since ?? now;
      if (now.getTime() - since.getTime() >= GIVE_UP_MS) {
        await repo.disable(db, hook.id, `failing for three days; last: ${failure}`);
      } else {
        await repo.failed(db, hook.id, failure, Math.min(MAX_DELAY_S, 30 * 2 ** hook.failures));
      }
      log.warn({ webhookId: hook.id, seq: event.seq, failure }, 'webhook delivery failed');
      return sent;
    }
    done = event.seq;
    sent += 1;
  }
  await repo.advance(db, hook.id, done, true);
  return sent;
}
