import type { AlertRow } from './alerts.repository.js';
import type { AreaAlert } from './alerts.schemas.js';

/** An alert as its owner sees it (only its owner ever does). */
export function presentAlert(row: AlertRow): AreaAlert {
  return {
    id: row.id,
    communityId: row.community_id,
    center: row.lon === null || row.lat === null ? null : { type: 'Point', coordinates: [row.lon, row.lat] },
    radius: row.radius_m,
    categories: row.categories,
    frequency: row.frequency,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
