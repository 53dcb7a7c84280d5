import type { Queryable } from '../../platform/db/database.js';
import { AREA_ALERT_MATCH_SQL, PUBLISHED_SQL, PUBLISHING_EVENT_SQL } from './alerts.matching.js';
import type { Frequency } from './alerts.schemas.js';

export interface AlertRow {
  id: string;
  user_id: string;
  community_id: string | null;
  lon: number | null;
  lat: number | null;
  radius_m: number | null;
  categories: string[] | null;
  frequency: Frequency;
  created_at: Date;
}

const COLUMNS = `a.id, a.user_id, a.community_id, ST_X(a.center) AS lon, ST_Y(a.center) AS lat, a.radius_m,
  (SELECT array_agg(k.slug ORDER BY k.slug) FROM categories k WHERE k.id = ANY (a.category_ids)) AS categories,
  a.frequency, a.created_at`;

export async function listAlerts(db: Queryable, userId: string): Promise<AlertRow[]> {
  const { rows } = await db.query<AlertRow>({
    text: `SELECT ${COLUMNS} FROM area_alerts a WHERE a.user_id = $1 ORDER BY a.created_at, a.id`,
    values: [userId],
  });
  return rows;
}

export async function countAlerts(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM area_alerts WHERE user_id = $1',
    values: [userId],
  });
  return rows[0]?.n ?? 0;
}

/** Serialises one person's alert writes, so the per-person limit holds under concurrent requests. */
export async function lockUser(tx: Queryable, userId: string): Promise<void> {
  await tx.query({ text: 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', values: [userId] });
}

export async function communityExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({ text: 'SELECT 1 FROM communities WHERE id = $1', values: [id] });
  return rows.length > 0;
}

export async function categoryIdsBySlug(db: Queryable, slugs: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; slug: string }>({
    text: 'SELECT id, slug FROM categories WHERE slug = ANY ($1::text[])',
    values: [slugs],
  });
  return new Map(rows.map((r) => [r.slug, r.id]));
}

export async function insertAlert(
  db: Queryable,
  alert: {
    userId: string;
    communityId: string | null;
    center: [number, number] | null;
    radius: number | null;
    categoryIds: string[] | null;
    frequency: Frequency;
  },
): Promise<AlertRow> {
  // the box around the circle: its half-sides in degrees, 1 % wider than the circle
  const { rows } = await db.query<AlertRow>({
    text: `WITH p AS (SELECT CASE WHEN $3::float8 IS NULL THEN NULL
                                  ELSE ST_SetSRID(ST_MakePoint($3::float8, $4::float8), 4326) END AS center),
           a AS (
             INSERT INTO area_alerts (user_id, community_id, center, radius_m, area, category_ids, frequency)
             SELECT $1::uuid, $2::uuid, p.center, $5::int,
                    CASE WHEN p.center IS NULL THEN NULL ELSE
                      ST_Expand(p.center, $5::int * 1.01 / (111320 * greatest(cos(radians($4::float8)), 0.01)),
                                $5::int * 1.01 / 110574) END,
                    $6::uuid[], $7::text
             FROM p RETURNING *
           )
           SELECT ${COLUMNS} FROM a`,
    values: [
      alert.userId,
      alert.communityId,
      alert.center?.[0] ?? null,
      alert.center?.[1] ?? null,
      alert.radius,
      alert.categoryIds,
      alert.frequency,
    ],
  });
  return rows[0]!;
}

export async function deleteAlert(db: Queryable, id: string, userId: string | null): Promise<boolean> {
  const { rows } = await db.query({
    text: 'DELETE FROM area_alerts WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) RETURNING 1',
    values: [id, userId],
  });
  return rows.length > 0;
}

// ---------------------------------------------------------------------------------------------
// The daily digest

/**
 * Claims the digests of [from, to) that are due: a row per person with daily alerts matched in
 * that window, whose mail preferences allow area alerts and who has an address. A claimed row is
 * never claimed again (at most once, like the notifier's deliveries).
 */
export async function claimDigests(
  tx: Queryable,
  window: { from: Date; to: Date; day: string },
  limit: number,
): Promise<string[]> {
  const { rows } = await tx.query<{ user_id: string }>({
    text: `INSERT INTO area_alert_digests (user_id, day)
           SELECT DISTINCT m.user_id, $3::date FROM (${MATCHES_SQL}) m
           JOIN users u ON u.id = m.user_id
           LEFT JOIN notification_preferences p ON p.user_id = m.user_id
           WHERE u.email IS NOT NULL
             AND coalesce((p.settings->'channels'->>'email')::boolean, true)
             AND coalesce((p.settings->'kinds'->'area_alert'->>'email')::boolean, true)
             AND NOT EXISTS (SELECT 1 FROM area_alert_digests d WHERE d.user_id = m.user_id AND d.day = $3::date)
           LIMIT $4
           ON CONFLICT DO NOTHING
           RETURNING user_id`,
    values: [window.from, window.to, window.day, limit],
  });
  return rows.map((r) => r.user_id);
}

/** daily alerts × incidents published in [$1, $2) that they match */
const MATCHES_SQL = `
  SELECT m.id AS alert_id, m.user_id, i.id AS incident_id
  FROM (SELECT DISTINCT e.incident_id FROM incident_events e JOIN incidents i ON i.id = e.incident_id
        WHERE e.type IN ('created', 'approved') AND e.created_at >= $1 AND e.created_at < $2
          AND ${PUBLISHING_EVENT_SQL}) published
  JOIN incidents i ON i.id = published.incident_id
  CROSS JOIN LATERAL (${AREA_ALERT_MATCH_SQL}) m
  WHERE m.frequency = 'daily' AND ${PUBLISHED_SQL}`;

export interface DigestItemRow {
  /** every daily alert of the person's that this incident matched */
  alert_ids: string[];
  incident_id: string;
  reference: string;
  title: string;
  category_name: Record<string, string>;
  lon: number;
  lat: number;
  sensitive: boolean;
  created_at: Date;
}

export interface Recipient {
  email: string | null;
  display_name: string;
  locale: 'en' | 'af';
}

export async function recipient(db: Queryable, userId: string): Promise<Recipient | null> {
  const { rows } = await db.query<Recipient>({
    text: 'SELECT email, display_name, locale FROM users WHERE id = $1',
    values: [userId],
  });
  return rows[0] ?? null;
}

export async function digestItems(db: Queryable, userId: string, window: { from: Date; to: Date }) {
  const { rows } = await db.query<DigestItemRow>({
    text: `SELECT array_agg(DISTINCT m.alert_id) AS alert_ids, i.id AS incident_id, i.reference, i.title,
                  k.name AS category_name, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, k.sensitive, i.created_at
           FROM (${MATCHES_SQL}) m JOIN incidents i ON i.id = m.incident_id JOIN categories k ON k.id = i.category_id
           WHERE m.user_id = $3
           GROUP BY i.id, k.id
           ORDER BY i.created_at, i.id`,
    values: [window.from, window.to, userId],
  });
  return rows;
}

export async function finishDigest(
  db: Queryable,
  userId: string,
  day: string,
  outcome: { state: 'sent'; items: number; now: Date } | { state: 'retry' | 'unknown' },
): Promise<void> {
  if (outcome.state === 'retry') {
    // a definite refusal: the next run claims it again
    await db.query({ text: 'DELETE FROM area_alert_digests WHERE user_id = $1 AND day = $2', values: [userId, day] });
    return;
  }
  await db.query({
    text: 'UPDATE area_alert_digests SET state = $3, items = $4, sent_at = $5 WHERE user_id = $1 AND day = $2',
    values: [
      userId,
      day,
      outcome.state,
      outcome.state === 'sent' ? outcome.items : 0,
      outcome.state === 'sent' ? outcome.now : null,
    ],
  });
}

/** How the alerts in a digest are named at its foot (each with its own removal link). */
export async function alertsByIds(db: Queryable, ids: readonly string[]) {
  const { rows } = await db.query<AlertRow & { community_name: string | null }>({
    text: `SELECT ${COLUMNS}, c.name AS community_name FROM area_alerts a
           LEFT JOIN communities c ON c.id = a.community_id WHERE a.id = ANY ($1::uuid[]) ORDER BY a.created_at, a.id`,
    values: [ids],
  });
  return rows;
}
