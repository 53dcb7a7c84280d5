import type { Database } from '../../platform/db/database.js';
import type { Bus } from '../../platform/bus/bus.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import {
  OutboundFailed,
  OutboundRefused,
  safeRequest,
  type OutboundPolicy,
} from '../../platform/outbound/safe-http.js';
import { NotAccepted, type MailChannel, type OutgoingMail } from './notifications.email.js';
import * as repo from './notifications.repository.js';
import { alertUnsubscribeUrl } from '../alerts/alerts.unsubscribe.js';
import {
  factsOf,
  isUrgent,
  kindOf,
  rulesFor,
  URGENT_KINDS,
  type NotificationKind,
  type RecipientRule,
} from './notifications.rules.js';
import { renderDigest, renderMail, renderShort } from './notifications.templates.js';
import { signUnsubscribe } from './notifications.unsubscribe.js';
import { encryptPushPayload, vapidAuthorization, type VapidKeys } from './notifications.webpush.js';

export const FANOUT_JOB = 'notifications.fanout.v1';
export const SEND_JOB = 'notifications.send.v1';
export const DIGEST_JOB = 'notifications.digests.v1';
/** the bus topic that tells every node which events just made in-app notifications */
export const LIVE_TOPIC = 'notifications.live.v1';

const EVENTS_PER_TRANSACTION = 20;
/** deliveries per send job */
const SEND_BATCH = 100;
/** deliveries marked `sending` at once: what a killed worker can leave in doubt */
const SENDING_AT_ONCE = 10;
const SEND_ATTEMPTS = 8;
/** a send still `sending` after this long has no living worker (leases are 5 minutes) */
const STALE_SEND_MS = 15 * 60 * 1000;

export interface NotifierDeps {
  db: Database;
  mail: MailChannel;
  push: { keys: VapidKeys; policy: OutboundPolicy; timeoutMs?: number };
  publicUrl: string;
  unsubscribeKey: Uint8Array;
  /** in-app notifications are announced on it for the `me` sockets of every node; null: none */
  bus: Bus | null;
  log: JobLogger;
  digest: { threshold: number; windowSeconds: number };
  /** tests fake the clock */
  now?: () => Date;
}

/**
 * Delivery, and why it is "at most once".
 *
 * The notifier follows the event log from its stored place (notification_cursor), like the
 * general webhooks: a transaction reads the next events, writes every recipient's in-app
 * notification, outbound deliveries and send jobs, and moves the place on — all or nothing, so
 * each event is fanned out exactly once, and the unique (event, person, channel) key makes a
 * repeat impossible anyway.
 *
 * Sending cannot be part of a transaction: an SMTP server or a push service may take a message
 * and the worker may die before it writes that down. Each delivery therefore goes pending →
 * sending (committed before the message leaves) → sent. Only `pending` rows are ever taken, so a
 * retry of the job, or a second worker that took it over after the first one's lease ran out,
 * never sends a row that is `sending`: the issue asks for "never twice", so we choose at most
 * once. A definite refusal (an SMTP reply code, no connection at all, a push service's 4xx/5xx)
 * puts the row back to pending and the job retries with backoff; a failure whose outcome is
 * unknown (the connection broke after the message was handed over), and a row left `sending` by
 * a worker that never came back, end as `unknown` for an operator — never sent again. At most
 * SENDING_AT_ONCE rows are `sending` at a time per job, so a killed worker leaves few in doubt.
 */
export function registerNotificationJobs(jobs: JobRunner, deps: NotifierDeps): void {
  jobs.register({ name: FANOUT_JOB, handle: () => fanOut(deps).then(() => undefined) });
  jobs.every(FANOUT_JOB, 1_000);
  jobs.register<{ ids: number[] }>({
    name: SEND_JOB,
    maxAttempts: SEND_ATTEMPTS,
    // 10 s doubling, at most an hour: a mail server that is down for a while is not hammered
    backoff: (attempt) => Math.min(3600, 10 * 2 ** (attempt - 1)),
    handle: (payload) => sendDeliveries(deps, payload.ids),
  });
  jobs.register({ name: DIGEST_JOB, handle: () => flushDigests(deps).then(() => undefined) });
  jobs.every(DIGEST_JOB, 5_000);
}

const clock = (deps: NotifierDeps) => deps.now?.() ?? new Date();

/** Fans out what the log holds beyond the stored place; returns how many events it took. */
export async function fanOut(deps: NotifierDeps, maxRounds = 50): Promise<{ events: number; outbound: number }> {
  let events = 0;
  let outbound = 0;
  for (let round = 0; round < maxRounds; round++) {
    const now = clock(deps);
    const result = await deps.db.transaction(async (tx) => {
      const place = await repo.lockCursor(tx);
      if (place === null) return null; // another worker is at it
      const batch = await repo.eventsAfter(tx, place, EVENTS_PER_TRANSACTION);
      if (batch.length === 0) return null;
      // Each event's kinds in order, its own kind first: one message per person and event, so
      // whoever both the staff rule and an area alert name hears it as staff.
      const steps = batch.flatMap((event, position): repo.FanOutStep[] => {
        const kind = kindOf(event);
        const rules = kind === null ? [] : rulesFor(event.type);
        if (kind === null || rules.length === 0) return [];
        return [...byKind(kind, rules)].map(([k, group], pass) => ({
          eventId: event.id,
          position,
          pass,
          kind: k,
          rules: group,
          data: factsOf(k, event, event),
        }));
      });
      const made =
        steps.length === 0
          ? { inAppEvents: [], outbound: 0 }
          : await repo.fanOutEvents(tx, {
              steps,
              urgentKinds: URGENT_KINDS,
              now,
              batch: SEND_BATCH,
              sendJob: SEND_JOB,
              maxAttempts: SEND_ATTEMPTS,
            });
      const told = new Set(made.inAppEvents);
      const live = batch.filter((event) => told.has(event.id)).map((event) => event.id);
      const sent = made.outbound;
      await repo.setCursor(tx, batch[batch.length - 1]!.seq);
      return { count: batch.length, live, sent };
    });
    if (result === null) break;
    events += result.count;
    outbound += result.sent;
    if (result.live.length > 0 && deps.bus)
      await deps.bus.publish(LIVE_TOPIC, JSON.stringify({ eventIds: result.live }));
    if (result.count < EVENTS_PER_TRANSACTION) break;
  }
  return { events, outbound };
}

function byKind(kind: NotificationKind, rules: readonly RecipientRule[]): Map<NotificationKind, RecipientRule[]> {
  const groups = new Map<NotificationKind, RecipientRule[]>([[kind, []]]);
  for (const rule of rules) {
    const k = rule.kind ?? kind;
    groups.set(k, [...(groups.get(k) ?? []), rule]);
  }
  for (const [k, group] of groups) if (group.length === 0) groups.delete(k);
  return groups;
}

type Outcome = 'sent' | 'pending' | 'unknown' | 'failed';

/** The send job: these deliveries, a few at a time, each at most once (see above). */
export async function sendDeliveries(deps: NotifierDeps, ids: readonly number[]): Promise<void> {
  const { db } = deps;
  await db.transaction((tx) =>
    repo.divertToDigests(tx, ids, { ...deps.digest, now: clock(deps), exceptKinds: URGENT_KINDS }),
  );
  let refused = 0;
  let lastError = '';
  for (let i = 0; i < ids.length; i += SENDING_AT_ONCE) {
    const claimed = await repo.claimDeliveries(db, ids.slice(i, i + SENDING_AT_ONCE), clock(deps));
    if (claimed.length === 0) continue;
    const rows = await repo.loadDeliveries(db, claimed);
    const targets = await pushTargetsOf(db, rows);
    const outcomes = await Promise.all(
      rows.map(async (row): Promise<{ id: string; outcome: Outcome; error: string }> => {
        try {
          const outcome = row.channel === 'email' ? await sendMail(deps, row) : await sendPush(deps, row, targets);
          return { id: row.id, outcome, error: outcome === 'failed' ? 'nowhere to send it' : '' };
        } catch (err) {
          const message = (err as Error)?.message ?? String(err);
          return { id: row.id, outcome: err instanceof NotAccepted ? 'pending' : 'unknown', error: message };
        }
      }),
    );
    const now = clock(deps);
    for (const state of ['sent', 'pending', 'unknown', 'failed'] as const) {
      const group = outcomes.filter((o) => o.outcome === state);
      if (group.length === 0) continue;
      const error = group[0]!.error;
      await repo.finishDeliveries(
        db,
        group.map((o) => o.id),
        state === 'sent' ? { state, now } : { state, error },
      );
      if (state === 'pending') {
        refused += group.length;
        lastError = error;
      }
      if (state === 'unknown')
        deps.log.warn({ ids: group.map((o) => o.id), error }, 'notification outcome unknown; not resent');
    }
  }
  // the job's retry (with backoff) takes the refused ones again; everything else is settled
  if (refused > 0) throw new Error(`${refused} notification(s) not accepted: ${lastError}`);
}

function links(
  deps: NotifierDeps,
  row: { incident_id: string; user_id: string },
  kind: repo.DeliveryRow['kind'] | 'all',
) {
  const base = deps.publicUrl.replace(/\/+$/, '');
  // an urgent kind has no switch of its own: its link stops the person's other mail
  const claimKind = kind === 'all' || kind === 'emergency' ? 'all' : kind;
  const token = signUnsubscribe(deps.unsubscribeKey, { userId: row.user_id, channel: 'email', kind: claimKind });
  return {
    incident: `${base}/incidents/${row.incident_id}`,
    unsubscribe: `${base}/api/v1/unsubscribe/${encodeURIComponent(token)}`,
  };
}

function mailHeaders(unsubscribeUrl: string): Record<string, string> {
  return {
    // RFC 8058 one-click: the mail client POSTs List-Unsubscribe=One-Click to the URL
    'List-Unsubscribe': `<${unsubscribeUrl}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'Auto-Submitted': 'auto-generated',
  };
}

async function sendMail(deps: NotifierDeps, row: repo.DeliveryRow): Promise<Outcome> {
  if (!row.email) return 'failed';
  const facts = factsOf(row.kind, { data: row.event_data }, row);
  const link = links(deps, row, row.kind);
  if (row.kind === 'area_alert') {
    // the link removes the alert that matched (or, were it gone by now, stops these mails)
    link.unsubscribe =
      (await alertUnsubscribeUrl(deps.db, deps.unsubscribeKey, deps.publicUrl, row.user_id, row.incident_id)) ??
      link.unsubscribe;
  }
  const rendered = renderMail(row.locale, facts, link, row.display_name);
  const mail: OutgoingMail = {
    to: row.email,
    ...rendered,
    messageId: `<notification-${row.id}@${new URL(deps.publicUrl).hostname}>`,
    headers: mailHeaders(link.unsubscribe),
  };
  await deps.mail.send(mail);
  return 'sent';
}

async function pushTargetsOf(db: Database, rows: repo.DeliveryRow[]): Promise<Map<string, repo.PushTargetRow[]>> {
  const users = [...new Set(rows.filter((r) => r.channel === 'push').map((r) => r.user_id))];
  const byUser = new Map<string, repo.PushTargetRow[]>();
  if (users.length === 0) return byUser;
  for (const target of await repo.pushTargets(db, users)) {
    const list = byUser.get(target.user_id) ?? [];
    list.push(target);
    byUser.set(target.user_id, list);
  }
  return byUser;
}

/**
 * To each of the person's browsers. Sent when one took it; a push service that answered with an
 * error on every browser is a refusal (retry); a browser whose subscription is gone (404/410) is
 * forgotten.
 */
async function sendPush(
  deps: NotifierDeps,
  row: repo.DeliveryRow,
  targets: Map<string, repo.PushTargetRow[]>,
): Promise<Outcome> {
  const facts = factsOf(row.kind, { data: row.event_data }, row);
  const payload = Buffer.from(
    JSON.stringify({
      title: renderShort(row.locale, facts),
      url: links(deps, row, row.kind).incident,
      tag: row.incident_id,
      kind: row.kind,
    }),
  );
  let accepted = false;
  let unknown = false;
  let refused: string | null = null;
  for (const target of targets.get(row.user_id) ?? []) {
    const now = clock(deps);
    try {
      const res = await safeRequest(
        target.endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/octet-stream',
            'content-encoding': 'aes128gcm',
            ttl: '86400',
            // RFC 8030: an emergency wakes a sleeping phone; the rest may wait for the next wake-up
            urgency: isUrgent(row.kind) ? 'high' : 'normal',
            authorization: vapidAuthorization(target.endpoint, deps.push.keys, now),
          },
          body: encryptPushPayload(target, payload),
          timeoutMs: deps.push.timeoutMs ?? 10_000,
          maxResponseBytes: 64 * 1024,
        },
        deps.push.policy,
      );
      if (res.status >= 200 && res.status < 300) accepted = true;
      else if (res.status === 404 || res.status === 410)
        await repo.removePushSubscription(deps.db, null, target.endpoint);
      else refused = `the push service answered ${res.status}`;
    } catch (err) {
      if (err instanceof OutboundRefused) {
        // an endpoint the outbound policy forbids will never work: forget it
        await repo.removePushSubscription(deps.db, null, target.endpoint);
      } else if (
        err instanceof OutboundFailed &&
        (err.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED'
      ) {
        refused = err.message;
      } else {
        unknown = true;
        deps.log.warn({ err: { message: (err as Error).message } }, 'push outcome unknown');
      }
    }
  }
  if (accepted) return 'sent';
  if (unknown) throw new Error('push outcome unknown');
  if (refused !== null) throw new NotAccepted(refused);
  return 'failed';
}

/** The digests that are due: one mail each with everything that waited in it. */
export async function flushDigests(deps: NotifierDeps): Promise<number> {
  const { db } = deps;
  await repo.expireStaleSends(db, new Date(clock(deps).getTime() - STALE_SEND_MS));
  let sent = 0;
  for (const digest of await repo.claimDueDigests(db, clock(deps), 20)) {
    const items = await repo.digestItems(db, digest.id);
    const first = items[0];
    if (!first || !first.email) {
      await repo.finishDigest(db, digest.id, { state: 'sent', now: clock(deps) });
      continue;
    }
    const link = links(deps, first, 'all');
    const rendered = renderDigest(
      first.locale,
      items.map((item) => ({
        facts: factsOf(item.kind, { data: item.event_data }, item),
        incidentUrl: links(deps, item, item.kind).incident,
      })),
      link.unsubscribe,
      first.display_name,
    );
    try {
      await deps.mail.send({
        to: first.email,
        ...rendered,
        messageId: `<digest-${digest.id}@${new URL(deps.publicUrl).hostname}>`,
        headers: mailHeaders(link.unsubscribe),
      });
      await repo.finishDigest(db, digest.id, { state: 'sent', now: clock(deps) });
      sent += 1;
    } catch (err) {
      if (err instanceof NotAccepted) {
        await repo.finishDigest(db, digest.id, { state: 'open', flushAt: new Date(clock(deps).getTime() + 60_000) });
      } else {
        await repo.finishDigest(db, digest.id, { state: 'unknown', now: clock(deps) });
      }
      deps.log.warn({ digestId: digest.id, err: { message: (err as Error).message } }, 'digest not sent');
    }
  }
  return sent;
}
