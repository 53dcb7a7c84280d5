import type { Queryable } from '../../platform/db/database.js';
import type { RoleGrant } from '../identity/actor.js';
import { followersOf } from '../conversation/conversation.repository.js';
import { findIncidentsByIds, type IncidentRow } from '../incidents/incidents.repository.js';
import type { TimelineEventRow } from '../timeline/timeline.repository.js';

/**
 * A timeline event as it travels between nodes: the event, the incident as it is now (each node
 * presents it per viewer), and who follows the incident (the `me` channel). JSON-safe.
 */
export interface WireEvent {
  seq: number;
  event: Omit<TimelineEventRow, 'created_at'> & { incident_id: string; created_at: string };
  incident: IncidentRow;
  followers: string[];
}

/** Serialises sequencers across every node; any constant nobody else uses. */
const SEQUENCER_LOCK = 0x5e9_0e17;

/**
 * Gives the next sequence numbers to committed events that have none, in one transaction under
 * a lock, so sequence order is commit order (migration 0009). Returns the range it gave out.
 */
export async function sequencePending(tx: Queryable, limit: number): Promise<{ from: number; to: number } | null> {
  await tx.query({ text: 'SELECT pg_advisory_xact_lock($1)', values: [SEQUENCER_LOCK] });
  const { rows } = await tx.query<{ from: number | null; to: number | null }>({
    name: 'realtime.sequence',
    text: `WITH next AS (
             SELECT id FROM incident_events WHERE seq IS NULL ORDER BY id LIMIT $1
           ), done AS (
             UPDATE incident_events e SET seq = nextval('incident_event_seq')
             FROM next WHERE e.id = next.id
             RETURNING e.seq
           )
           SELECT min(seq) AS "from", max(seq) AS "to" FROM done`,
    values: [limit],
  });
  const row = rows[0];
  return row && row.from !== null && row.to !== null ? { from: row.from, to: row.to } : null;
}

export async function hasPending(db: Queryable): Promise<boolean> {
  const { rows } = await db.query({
    name: 'realtime.pending',
    text: 'SELECT 1 FROM incident_events WHERE seq IS NULL LIMIT 1',
  });
  return rows.length > 0;
}

export async function maxSeq(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ seq: number | null }>({
    name: 'realtime.maxSeq',
    text: 'SELECT max(seq) AS seq FROM incident_events',
  });
  return rows[0]?.seq ?? 0;
}

type EventRow = TimelineEventRow & { incident_id: string; seq: number };

/** Events with after < seq ≤ upTo, oldest first, ready to travel. */
export async function loadRange(db: Queryable, after: number, upTo: number, limit: number): Promise<WireEvent[]> {
  const { rows } = await db.query<EventRow>({
    name: 'realtime.range',
    text: `SELECT e.*, u.display_name AS actor_name
           FROM incident_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.seq > $1 AND e.seq <= $2 ORDER BY e.seq LIMIT $3`,
    values: [after, upTo, limit],
  });
  return withIncidents(db, rows);
}

/** What a channel missed after `after`: at most `limit` + 1 rows (one more says "too many"). */
export async function loadMissed(
  db: Queryable,
  where:
    | { incidentId: string }
    | { communityId: string }
    | { box: [number, number, number, number] }
    | { followerId: string },
  after: number,
  limit: number,
): Promise<WireEvent[]> {
  let filter: string;
  let value: unknown;
  if ('incidentId' in where) {
    filter = 'e.incident_id = $2';
    value = where.incidentId;
  } else if ('communityId' in where) {
    filter = 'e.incident_id IN (SELECT id FROM incidents WHERE community_id = $2)';
    value = where.communityId;
  } else if ('box' in where) {
    filter = `e.incident_id IN (SELECT id FROM incidents WHERE location && ST_MakeEnvelope(($2::float8[])[1], ($2::float8[])[2], ($2::float8[])[3], ($2::float8[])[4], 4326))`;
    value = where.box;
  } else {
    filter = 'e.incident_id IN (SELECT incident_id FROM incident_follows WHERE user_id = $2)';
    value = where.followerId;
  }
  const { rows } = await db.query<EventRow>({
    text: `SELECT e.*, u.display_name AS actor_name
           FROM incident_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.seq > $1 AND ${filter}
           ORDER BY e.seq LIMIT $3`,
    values: [after, value, limit + 1],
  });
  return withIncidents(db, rows);
}

async function withIncidents(db: Queryable, rows: EventRow[]): Promise<WireEvent[]> {
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.incident_id))];
  const [incidents, followers] = await Promise.all([findIncidentsByIds(db, ids), followersOf(db, ids)]);
  const byId = new Map(incidents.map((i) => [i.id, i]));
  const out: WireEvent[] = [];
  for (const row of rows) {
    const incident = byId.get(row.incident_id);
    if (!incident) continue; // deleted since
    const { seq, ...event } = row;
    out.push({
      seq,
      event: { ...event, created_at: new Date(row.created_at).toISOString() },
      incident,
      followers: followers.get(row.incident_id) ?? [],
    });
  }
  return out;
}

export interface SocketUserState {
  id: string;
  epoch: number;
  banned: boolean;
  roles: RoleGrant[];
}

/** The current state of every user with an open socket on this node, in one query. */
export async function userStates(db: Queryable, ids: readonly string[]): Promise<Map<string, SocketUserState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<SocketUserState>({
    name: 'realtime.userStates',
    text: `SELECT u.id, u.token_epoch AS epoch, u.banned_at IS NOT NULL AS banned,
                  coalesce(json_agg(json_build_object('role', r.role, 'communityId', r.community_id))
                           FILTER (WHERE r.role IS NOT NULL), '[]') AS roles
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.id = ANY($1::uuid[])
           GROUP BY u.id`,
    values: [ids],
  });
  return new Map(rows.map((r) => [r.id, r]));
}
