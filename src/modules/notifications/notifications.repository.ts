import type { Queryable } from '../../platform/db/database.js';
import { named } from '../../platform/db/statement-name.js';
import type { Lang } from '../../i18n/i18n.js';
import { recipientMayViewSql } from './notifications.policy.js';
import type { NotificationKind, RecipientRule } from './notifications.rules.js';

// ---------------------------------------------------------------------------------------------
// Following the event log

/** The notifier's place, locked for this transaction; null while another worker holds it. */
export async function lockCursor(tx: Queryable): Promise<number | null> {
  const { rows } = await tx.query<{ seq: string }>({
    text: 'SELECT delivered_seq AS seq FROM notification_cursor FOR UPDATE SKIP LOCKED',
  });
  return rows[0] ? Number(rows[0].seq) : null;
}

export async function setCursor(tx: Queryable, seq: number): Promise<void> {
  await tx.query({ text: 'UPDATE notification_cursor SET delivered_seq = $1', values: [seq] });
}

export interface StreamEvent {
  id: number;
  seq: number;
  type: string;
  internal: boolean;
  hidden_at: Date | null;
  data: Record<string, unknown>;
  reference: string;
  title: string;
  /** the incident's exact place and whether its category is sensitive (area alerts blur it) */
  lon: number;
  lat: number;
  sensitive: boolean;
}

export async function eventsAfter(db: Queryable, after: number, limit: number): Promise<StreamEvent[]> {
  const { rows } = await db.query<StreamEvent & { id: string; seq: string }>({
    text: `SELECT e.id, e.seq, e.type, e.internal, e.hidden_at, e.data, i.reference, i.title, ${PLACE_COLUMNS}
           FROM incident_events e JOIN incidents i ON i.id = e.incident_id
           WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`,
    values: [after, limit],
  });
  return rows.map((r) => ({ ...r, id: Number(r.id), seq: Number(r.seq) }));
}

const PLACE_COLUMNS = `ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
  (SELECT k.sensitive FROM categories k WHERE k.id = i.category_id) AS sensitive`;

/** A preference switch in SQL: the channel's and the kind's, both on unless switched off. */
const enabled = (settings: string, channel: string, kind: string) =>
  `(coalesce((${settings}->'channels'->>${channel})::boolean, true)
    AND coalesce((${settings}->'kinds'->${kind}->>${channel})::boolean, true))`;

/** One kind of message about one event, to the people its rules name. */
export interface FanOutStep {
  eventId: number;
  /** the event's place in the batch; messages are numbered in this order */
  position: number;
  /** the kind's place among the event's kinds: a person named twice hears the earlier one */
  pass: number;
  kind: NotificationKind;
  rules: readonly RecipientRule[];
  /** what the message says */
  data: object;
}

/**
 * A batch of events to everyone the rules name, in one statement: the recipients are never
 * loaded into this process (10,000 followers are 10,000 rows inside the database, not in memory
 * here), and the notifier's transaction makes one round trip for the batch instead of one per
 * event and kind (embedded, that transaction holds the one PGlite session for every round trip:
 * 20 new reports took 42 of them, up to 463 ms under W1). Makes the in-app notifications, the
 * outbound deliveries (unique per event, person and channel: a second run inserts nothing) and
 * the send jobs, `batch` deliveries per job. Rows are inserted in event order, then pass order,
 * so a person named by two rules of one event keeps the first (ON CONFLICT DO NOTHING), and the
 * ids of the notifications follow the events as one statement per event numbered them.
 */
export async function fanOutEvents(
  tx: Queryable,
  input: {
    steps: readonly FanOutStep[];
    /** kinds that reach every channel the person has, whatever their preferences (emergency alerts) */
    urgentKinds: readonly NotificationKind[];
    now: Date;
    batch: number;
    sendJob: string;
    maxAttempts: number;
  },
): Promise<{ inAppEvents: number[]; outbound: number; jobs: number }> {
  // one recipient query per distinct set of rules, chosen per step by its group number
  const groups = new Map<string, { index: number; rules: readonly RecipientRule[] }>();
  const groupOf = input.steps.map((step) => {
    const key = step.rules.map((rule) => rule.name).join(',');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { index: groups.size, rules: step.rules }));
    return group.index;
  });
  // the rules read `e` (the event) and `i` (its incident), one step at a time (LATERAL)
  const candidates = [...groups.values()]
    .map(
      ({ index, rules }) =>
        `SELECT u.user_id FROM (${rules.map((r) => `(${r.recipients})`).join(' UNION ')}) u WHERE e.grp = ${index}`,
    )
    .join(' UNION ALL ');
  const { rows } = await tx.query<{ in_app_events: string[] | null; outbound: number; jobs: number }>(
    named({
      text: `WITH ev AS (SELECT e.*, x.kind, x.facts::jsonb AS facts, x.grp, x.position, x.pass
                         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[])
                              AS x (id, kind, facts, grp, position, pass)
                         JOIN incident_events e ON e.id = x.id),
             recipients AS (
               SELECT e.id AS event_id, e.position, e.pass, e.kind, e.incident_id, e.facts, c.user_id,
                      coalesce(p.settings, '{}'::jsonb) AS s, u.email, e.kind = ANY ($7::text[]) AS urgent
               FROM ev e JOIN incidents i ON i.id = e.incident_id
               CROSS JOIN LATERAL (${candidates}) c
               JOIN users u ON u.id = c.user_id
               LEFT JOIN notification_preferences p ON p.user_id = c.user_id
               WHERE c.user_id IS DISTINCT FROM e.actor_id AND ${recipientMayViewSql('c.user_id')}
             ),
             in_app AS (
               INSERT INTO notifications (user_id, event_id, incident_id, kind, data, created_at)
               SELECT r.user_id, r.event_id, r.incident_id, r.kind, r.facts, $8::timestamptz FROM recipients r
               WHERE (r.urgent OR ${enabled('r.s', "'inApp'", 'r.kind')})
               ORDER BY r.position, r.pass, r.user_id
               ON CONFLICT (event_id, user_id) DO NOTHING
               RETURNING event_id
             ),
             outbound AS (
               INSERT INTO notification_deliveries (event_id, user_id, channel, kind, created_at)
               SELECT r.event_id, r.user_id, ch.channel, r.kind, $8::timestamptz
               FROM recipients r CROSS JOIN (VALUES ('email'), ('push')) AS ch (channel)
               WHERE (r.urgent OR ${enabled('r.s', 'ch.channel', 'r.kind')})
                 AND CASE ch.channel WHEN 'email' THEN r.email IS NOT NULL
                     ELSE EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = r.user_id) END
               ORDER BY r.position, r.pass, r.user_id, ch.channel
               ON CONFLICT (event_id, user_id, channel) DO NOTHING
               RETURNING id, kind
             ),
             -- an emergency's deliveries go in urgent jobs of their own, ahead of any backlog
             queued AS (
               INSERT INTO jobs (name, payload, max_attempts, urgent)
               SELECT $9::text, jsonb_build_object('ids', jsonb_agg(id ORDER BY id)), $11::int, urgent
               FROM (SELECT id, kind = ANY ($7::text[]) AS urgent,
                            (row_number() OVER (PARTITION BY kind = ANY ($7::text[]) ORDER BY id) - 1) / $10::int AS part
                     FROM outbound) parts
               GROUP BY urgent, part
               RETURNING 1
             )
             SELECT (SELECT array_agg(DISTINCT event_id ORDER BY event_id)::text[] FROM in_app) AS in_app_events,
                    (SELECT count(*) FROM outbound)::int AS outbound, (SELECT count(*) FROM queued)::int AS jobs`,
      values: [
        input.steps.map((step) => step.eventId),
        input.steps.map((step) => step.kind),
        input.steps.map((step) => JSON.stringify(step.data)),
        groupOf,
        input.steps.map((step) => step.position),
        input.steps.map((step) => step.pass),
        input.urgentKinds,
        input.now,
        input.sendJob,
        input.batch,
        input.maxAttempts,
      ],
    }),
  );
  const row = rows[0]!;
  return { inAppEvents: (row.in_app_events ?? []).map(Number), outbound: row.outbound, jobs: row.jobs };
}

// ---------------------------------------------------------------------------------------------
// In-app

export interface NotificationRow {
  id: string;
  event_id: string;
  incident_id: string;
  kind: NotificationKind;
  data: Record<string, unknown>;
  created_at: Date;
  read_at: Date | null;
  user_id: string;
}

export async function listNotifications(
  db: Queryable,
  userId: string,
  options: { limit: number; beforeId: string | null; unreadOnly: boolean },
): Promise<NotificationRow[]> {
  const { rows } = await db.query<NotificationRow>({
    text: `SELECT id::text, event_id::text, incident_id, kind, data, created_at, read_at, user_id
           FROM notifications
           WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) AND (NOT $3 OR read_at IS NULL)
           ORDER BY notifications.id DESC LIMIT $4`,
    values: [userId, options.beforeId, options.unreadOnly, options.limit],
  });
  return rows;
}

export async function unreadCount(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL',
    values: [userId],
  });
  return rows[0]?.n ?? 0;
}

export async function markRead(db: Queryable, userId: string, ids: string[] | 'all', now: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: `WITH done AS (UPDATE notifications SET read_at = $3
                         WHERE user_id = $1 AND read_at IS NULL AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
                         RETURNING 1)
           SELECT count(*)::int AS n FROM done`,
    values: [userId, ids === 'all' ? null : ids, now],
  });
  return rows[0]?.n ?? 0;
}

/** The notifications of these events for these people (the live push to open sockets). */
export async function notificationsFor(
  db: Queryable,
  eventIds: readonly number[],
  userIds: readonly string[],
): Promise<NotificationRow[]> {
  const { rows } = await db.query<NotificationRow>({
    text: `SELECT id::text, event_id::text, incident_id, kind, data, created_at, read_at, user_id
           FROM notifications WHERE event_id = ANY($1::bigint[]) AND user_id = ANY($2::uuid[]) ORDER BY notifications.id`,
    values: [eventIds, userIds],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Preferences and push subscriptions

export async function getSettings(db: Queryable, userId: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ settings: Record<string, unknown> }>({
    text: 'SELECT settings FROM notification_preferences WHERE user_id = $1',
    values: [userId],
  });
  return rows[0]?.settings ?? {};
}

export async function putSettings(db: Queryable, userId: string, settings: object): Promise<void> {
  await db.query({
    text: `INSERT INTO notification_preferences (user_id, settings) VALUES ($1, $2::jsonb)
           ON CONFLICT (user_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
    values: [userId, JSON.stringify(settings)],
  });
}

export async function addPushSubscription(
  db: Queryable,
  userId: string,
  sub: { endpoint: string; p256dh: string; auth: string },
): Promise<string> {
  // an endpoint belongs to one browser: whoever subscribes it last owns it
  const { rows } = await db.query<{ id: string }>({
    text: `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
           ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
                                                auth = EXCLUDED.auth
           RETURNING id`,
    values: [userId, sub.endpoint, sub.p256dh, sub.auth],
  });
  return rows[0]!.id;
}

export async function removePushSubscription(db: Queryable, userId: string | null, endpoint: string): Promise<boolean> {
  const { rows } = await db.query({
    text: 'DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2::uuid IS NULL OR user_id = $2) RETURNING 1',
    values: [endpoint, userId],
  });
  return rows.length > 0;
}

export interface PushTargetRow {
  user_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export async function pushTargets(db: Queryable, userIds: readonly string[]): Promise<PushTargetRow[]> {
  const { rows } = await db.query<PushTargetRow>({
    text: 'SELECT user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ANY($1::uuid[])',
    values: [userIds],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Outbound deliveries

/**
 * Email deliveries among `ids` that come after more than `threshold` mails to the same person
 * within the window wait for that person's digest instead (one open digest per person, made
 * here). Decided by the deliveries' own times, so a retry decides the same.
 */
export async function divertToDigests(
  tx: Queryable,
  ids: readonly number[],
  options: { threshold: number; windowSeconds: number; now: Date; exceptKinds?: readonly string[] },
): Promise<number> {
  const { rows: over } = await tx.query<{ id: string; user_id: string }>({
    text: `SELECT d.id, d.user_id FROM notification_deliveries d
           WHERE d.id = ANY($1::bigint[]) AND d.state = 'pending' AND d.channel = 'email'
             AND d.kind <> ALL($4::text[])
             AND (SELECT count(*) FROM notification_deliveries o
                  WHERE o.user_id = d.user_id AND o.channel = 'email'
                    AND o.created_at > d.created_at - make_interval(secs => $3)
                    AND (o.created_at, o.id) <= (d.created_at, d.id)) > $2`,
    values: [ids, options.threshold, options.windowSeconds, options.exceptKinds ?? []],
  });
  if (over.length === 0) return 0;
  const users = [...new Set(over.map((r) => r.user_id))];
  await tx.query({
    text: `INSERT INTO notification_digests (user_id, flush_at)
           SELECT u, $2::timestamptz + make_interval(secs => $3) FROM unnest($1::uuid[]) AS u
           ON CONFLICT (user_id) WHERE state = 'open' DO NOTHING`,
    values: [users, options.now, options.windowSeconds],
  });
  // the open digests, locked: a flush that starts now waits until these rows are in
  await tx.query({
    text: `SELECT id FROM notification_digests WHERE user_id = ANY($1::uuid[]) AND state = 'open' FOR UPDATE`,
    values: [users],
  });
  await tx.query({
    text: `UPDATE notification_deliveries d SET state = 'digest',
                  digest_id = (SELECT g.id FROM notification_digests g WHERE g.user_id = d.user_id AND g.state = 'open')
           WHERE d.id = ANY($1::bigint[])`,
    values: [over.map((r) => r.id)],
  });
  return over.length;
}

/** pending → sending: only rows still pending are taken, so a second runner takes nothing. */
export async function claimDeliveries(db: Queryable, ids: readonly number[], now: Date): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>({
    text: `UPDATE notification_deliveries SET state = 'sending', claimed_at = $2, attempts = attempts + 1
           WHERE id = ANY($1::bigint[]) AND state = 'pending' RETURNING id`,
    values: [ids, now],
  });
  return rows.map((r) => Number(r.id));
}

export interface DeliveryRow {
  id: string;
  channel: 'email' | 'push';
  kind: NotificationKind;
  user_id: string;
  email: string | null;
  display_name: string;
  locale: Lang;
  incident_id: string;
  event_type: string;
  event_data: Record<string, unknown>;
  reference: string;
  title: string;
  lon: number;
  lat: number;
  sensitive: boolean;
  created_at: Date;
}

const DELIVERY_COLUMNS = `d.id::text, d.channel, d.kind, d.user_id, u.email, u.display_name, u.locale,
  e.incident_id, e.type AS event_type, e.data AS event_data, i.reference, i.title, ${PLACE_COLUMNS}, d.created_at`;

export async function loadDeliveries(db: Queryable, ids: readonly number[]): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>({
    text: `SELECT ${DELIVERY_COLUMNS}
           FROM notification_deliveries d JOIN users u ON u.id = d.user_id
           JOIN incident_events e ON e.id = d.event_id JOIN incidents i ON i.id = e.incident_id
           WHERE d.id = ANY($1::bigint[]) ORDER BY d.id`,
    values: [ids],
  });
  return rows;
}

export async function finishDeliveries(
  db: Queryable,
  ids: readonly (number | string)[],
  outcome: { state: 'sent'; now: Date } | { state: 'pending' | 'unknown' | 'failed'; error: string },
): Promise<void> {
  if (ids.length === 0) return;
  await db.query({
    text: `UPDATE notification_deliveries
           SET state = $2, sent_at = CASE WHEN $2 = 'sent' THEN $3::timestamptz END, last_error = $4
           WHERE id = ANY($1::bigint[]) AND state = 'sending'`,
    values: [
      ids,
      outcome.state,
      outcome.state === 'sent' ? outcome.now : null,
      outcome.state === 'sent' ? null : outcome.error.slice(0, 1000),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Digests

export async function claimDueDigests(
  db: Queryable,
  now: Date,
  limit: number,
): Promise<Array<{ id: number; user_id: string }>> {
  const { rows } = await db.query<{ id: string; user_id: string }>({
    text: `UPDATE notification_digests SET state = 'sending', claimed_at = $1
           WHERE id IN (SELECT id FROM notification_digests WHERE state = 'open' AND flush_at <= $1
                        ORDER BY flush_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, user_id`,
    values: [now, limit],
  });
  return rows.map((r) => ({ id: Number(r.id), user_id: r.user_id }));
}

export async function digestItems(db: Queryable, digestId: number): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>({
    text: `SELECT ${DELIVERY_COLUMNS}
           FROM notification_deliveries d JOIN users u ON u.id = d.user_id
           JOIN incident_events e ON e.id = d.event_id JOIN incidents i ON i.id = e.incident_id
           WHERE d.digest_id = $1 AND d.state = 'digest' ORDER BY d.id`,
    values: [digestId],
  });
  return rows;
}

export async function finishDigest(
  db: Queryable,
  digestId: number,
  outcome: { state: 'sent' | 'unknown'; now: Date } | { state: 'open'; flushAt: Date },
): Promise<void> {
  if (outcome.state === 'open') {
    await db.query({
      text: `UPDATE notification_digests SET state = 'open', flush_at = $2 WHERE id = $1 AND state = 'sending'`,
      values: [digestId, outcome.flushAt],
    });
    return;
  }
  await db.query({
    text: `WITH g AS (UPDATE notification_digests SET state = $2, sent_at = $3 WHERE id = $1 AND state = 'sending' RETURNING id)
           UPDATE notification_deliveries SET state = $2, sent_at = $3
           WHERE digest_id IN (SELECT id FROM g) AND state = 'digest'`,
    values: [digestId, outcome.state, outcome.now],
  });
}

/**
 * Sends whose worker never came back (its lease ran out long ago): nobody knows whether the
 * message left, so they end as `unknown` and are never sent again (see notifications.jobs.ts).
 */
export async function expireStaleSends(db: Queryable, olderThan: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: `WITH d AS (UPDATE notification_deliveries SET state = 'unknown', last_error = 'the sender stopped mid-send'
                      WHERE state = 'sending' AND claimed_at < $1 RETURNING 1),
                g AS (UPDATE notification_digests SET state = 'unknown'
                      WHERE state = 'sending' AND claimed_at < $1 RETURNING id),
                gd AS (UPDATE notification_deliveries SET state = 'unknown', last_error = 'the sender stopped mid-send'
                       WHERE digest_id IN (SELECT id FROM g) AND state = 'digest' RETURNING 1)
           SELECT ((SELECT count(*) FROM d) + (SELECT count(*) FROM gd))::int AS n`,
    values: [olderThan],
  });
  return rows[0]?.n ?? 0;
}
