import type { EmergencyAlert } from './emergency.schemas.js';
import type { AlertView } from './emergency.service.js';

const iso = (d: Date | string) => new Date(d).toISOString();

/** An alert as its staff see it: a whitelist. */
export function presentAlert({ alert, levels }: AlertView): EmergencyAlert {
  return {
    incidentId: alert.incident_id,
    reason: alert.reason,
    state: alert.state,
    level: alert.level,
    startedAt: iso(alert.started_at),
    escalatesAt: alert.escalates_at ? iso(alert.escalates_at) : null,
    acknowledgedAt: alert.acknowledged_at ? iso(alert.acknowledged_at) : null,
    acknowledgedBy: alert.acknowledged_by
      ? { id: alert.acknowledged_by, displayName: alert.acknowledged_by_name ?? '' }
      : null,
    levels: levels.map((l) => ({ level: l.level, alertedAt: iso(l.alerted_at) })),
  };
}
