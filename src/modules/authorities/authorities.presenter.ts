import type { AuthorityRow, DeadForwardRow, DeliveryConfig } from './authorities.repository.js';
import type { Authority, DeadForward, Delivery } from './authorities.schemas.js';

/** A whitelist: the delivery's secret (their Open311 api key) is shown only as "one is set". */
export function presentDelivery(d: DeliveryConfig): Delivery {
  switch (d.kind) {
    case 'open311':
      return { kind: 'open311', endpoint: d.endpoint, jurisdictionId: d.jurisdictionId ?? null, apiKeySet: !!d.apiKey };
    case 'webhook':
      return { kind: 'webhook', url: d.url };
    default:
      return { kind: 'none' };
  }
}

export function presentAuthority(row: AuthorityRow): Authority {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    jurisdiction: JSON.parse(row.jurisdiction) as Authority['jurisdiction'],
    areaM2: row.area_m2,
    categoryIds: row.category_ids,
    delivery: presentDelivery(row.delivery),
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function presentDeadForward(row: DeadForwardRow): DeadForward {
  return {
    jobId: row.id,
    incident:
      row.incident_id && row.incident_reference ? { id: row.incident_id, reference: row.incident_reference } : null,
    authority: row.authority_id && row.authority_name ? { id: row.authority_id, name: row.authority_name } : null,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    deadAt: row.dead_at ? row.dead_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
  };
}
