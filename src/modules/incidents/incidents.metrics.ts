import { Counter, Histogram } from 'prom-client';
import type { Tx } from '../../platform/db/database.js';
import { processRegistry } from '../../platform/metrics/process.js';

/**
 * Business counters for /metrics. They are counted from the timeline events a transaction
 * appends (timeline.repository appendEvents), because every way an incident is made or moved
 * ends there — PATCH, bulk, Open311, authorities' updates, moderation — and they move only
 * after COMMIT, so a rolled-back write is never counted.
 */
export const incidentMetrics = {
  created: new Counter({
    name: 'buurtwag_incidents_created_total',
    help: 'Incidents reported (committed)',
    registers: [processRegistry],
  }),
  acknowledged: new Counter({
    name: 'buurtwag_incidents_acknowledged_total',
    help: 'Incidents moved to acknowledged (committed)',
    registers: [processRegistry],
  }),
  resolved: new Counter({
    name: 'buurtwag_incidents_resolved_total',
    help: 'Incidents moved to resolved (committed; a reopened one counts again when resolved again)',
    registers: [processRegistry],
  }),
  timeToAcknowledge: new Histogram({
    name: 'buurtwag_incident_time_to_acknowledge_seconds',
    help: 'From report to its move from reported to acknowledged',
    // minutes to a month: staff answer within hours on a good day, weeks on a bad one
    buckets: [60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400],
    registers: [processRegistry],
  }),
};

interface CountedEvent {
  incidentId: string;
  type: string;
  data: Record<string, unknown>;
}

/** Inside the transaction that appends `events`: counts them once it has committed. */
export async function countIncidentEvents(tx: Tx, events: readonly CountedEvent[]): Promise<void> {
  let created = 0;
  let resolved = 0;
  let acknowledged = 0;
  const firstAcknowledged: string[] = [];
  for (const event of events) {
    if (event.type === 'created') created++;
    if (event.type !== 'status_changed') continue;
    if (event.data.to === 'resolved') resolved++;
    if (event.data.to === 'acknowledged') {
      acknowledged++;
      if (event.data.from === 'reported') firstAcknowledged.push(event.incidentId);
    }
  }
  if (created + resolved + acknowledged === 0) return;
  // rare (one acknowledgement) and by primary key; the events do not carry the report's age
  const waits =
    firstAcknowledged.length === 0
      ? []
      : (
          await tx.query<{ seconds: number }>({
            name: 'metrics.time_to_acknowledge',
            text: `SELECT EXTRACT(EPOCH FROM (statement_timestamp() - created_at))::float8 AS seconds
                   FROM incidents WHERE id = ANY($1::uuid[])`,
            values: [firstAcknowledged],
          })
        ).rows.map((r) => r.seconds);
  tx.afterCommit(() => {
    if (created > 0) incidentMetrics.created.inc(created);
    if (acknowledged > 0) incidentMetrics.acknowledged.inc(acknowledged);
    if (resolved > 0) incidentMetrics.resolved.inc(resolved);
    for (const seconds of waits) incidentMetrics.timeToAcknowledge.observe(Math.max(0, seconds));
  });
}
