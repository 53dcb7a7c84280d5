import type { Queryable, Tx } from '../../platform/db/database.js';

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
}

/** Inside a transaction only: realtime hears of the events once it commits. */
export async function appendEvents(tx: Tx, events: TimelineEventInsert[]): Promise<void> {
  if (events.length === 0) return;
  tx.afterCommit('timeline');
  await tx.query({
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
    text: `SELECT e.id, e.type, e.actor_id, u.display_name AS actor_name, e.data, e.internal, e.created_at
           FROM incident_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.incident_id = $1 ${includeInternal ? '' : 'AND NOT e.internal'}
           ORDER BY e.id`,
    values: [incidentId],
  });
  return rows;
}
