import { write, type Queryable, type Tx } from '../../platform/db/database.js';
import { countIncidentEvents } from '../incidents/incidents.metrics.js';

export interface TimelineEventInsert {
  incidentId: string;
  type: string;
  actorId: string | null;
  data: Record<string, unknown>;
  internal?: boolean;
}

export interface TimelineEventRow {
  id: number;
  type: string;
  actor_id: string | null;
  actor_name: string | null;
  data: Record<string, unknown>;
  internal: boolean;
  created_at: Date;
  /** set while a moderator keeps a comment from the public (conversation module) */
  hidden_at: Date | null;
  hidden_reason: string | null;
}

/** A row as TimelineEventRow has it, from `incident_events e` and its actor `users u`. */
const EVENT_COLUMNS = `e.id, e.type, e.actor_id, u.display_name AS actor_name, e.data, e.internal, e.created_at,
                       e.hidden_at, e.hidden_reason`;

/** Inside a transaction only: realtime hears of the events once it commits. */
export async function appendEvents(tx: Tx, events: TimelineEventInsert[]): Promise<void> {
  if (events.length === 0) return;
  tx.afterCommit('timeline');
  await countIncidentEvents(tx, events);
  await write(tx, {
    name: 'timeline.append',
    text: `INSERT INTO incident_events (incident_id, type, actor_id, data, internal)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::boolean[])`,
    values: [
      events.map((e) => e.incidentId),
      events.map((e) => e.type),
      events.map((e) => e.actorId),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => e.internal ?? false),
    ],
  });
}

export async function listEvents(
  db: Queryable,
  incidentId: string,
  includeInternal: boolean,
): Promise<TimelineEventRow[]> {
  const { rows } = await db.query<TimelineEventRow>({
    name: `timeline.list.${includeInternal}`,
    text: `SELECT ${EVENT_COLUMNS}
           FROM incident_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.incident_id = $1 ${includeInternal ? '' : 'AND NOT e.internal'}
           ORDER BY e.id`,
    values: [incidentId],
  });
  return rows;
}

/** One event, returned as the timeline lists it (a new comment's response). Inside a transaction only. */
export async function appendEvent(tx: Tx, event: TimelineEventInsert): Promise<TimelineEventRow> {
  tx.afterCommit('timeline');
  await countIncidentEvents(tx, [event]);
  const { rows } = await tx.query<TimelineEventRow>({
    name: 'timeline.appendOne',
    text: `WITH e AS (
             INSERT INTO incident_events (incident_id, type, actor_id, data, internal)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING *)
           SELECT ${EVENT_COLUMNS} FROM e LEFT JOIN users u ON u.id = e.actor_id`,
    values: [event.incidentId, event.type, event.actorId, JSON.stringify(event.data), event.internal ?? false],
  });
  return rows[0]!;
}

/** One event of an incident, as the timeline lists it; null when the incident has no such event. */
export async function findEvent(
  db: Queryable,
  incidentId: string,
  eventId: string,
  forUpdate = false,
): Promise<TimelineEventRow | null> {
  const { rows } = await db.query<TimelineEventRow>({
    name: forUpdate ? 'timeline.findOne.lock' : 'timeline.findOne',
    text: `SELECT ${EVENT_COLUMNS}
           FROM incident_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.incident_id = $1 AND e.id = $2::bigint${forUpdate ? ' FOR UPDATE OF e' : ''}`,
    values: [incidentId, eventId],
  });
  return rows[0] ?? null;
}
