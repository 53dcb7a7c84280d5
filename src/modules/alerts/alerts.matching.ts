import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';

const cellCentre = (axis: string) =>
  `(floor(${axis}(i.location) / ${BLUR_CELL_DEG}) * ${BLUR_CELL_DEG} + ${BLUR_CELL_DEG / 2})`;
/**
 * Where the public is told incident `i` is: a sensitive report's blur cell centre (as
 * presentIncident shows it). Circles match that point, never the exact one, or a ring of tiny
 * circles (or a feed's shrinking radius) would find a sensitive report to the metre.
 */
export const PUBLIC_POINT_SQL = `(CASE WHEN (SELECT k.sensitive FROM categories k WHERE k.id = i.category_id)
  THEN ST_SetSRID(ST_MakePoint(${cellCentre('ST_X')}, ${cellCentre('ST_Y')}), 4326) ELSE i.location END)`;

/**
 * Which area alerts a new incident matches, in SQL, for the notifier's recipient rule and the
 * daily digest alike. `i` is the incident. Two index paths, each cheap with many subscriptions:
 * the communities whose boundary holds the point (GiST on communities.boundary, so a parent
 * community's subscribers hear about its children's reports too) and then their alerts (btree);
 * and the circles whose bounding box holds the point (GiST on area_alerts.area), checked in metres
 * against the point the public is told (PUBLIC_POINT_SQL).
 * Nobody is alerted about their own report.
 */
export const AREA_ALERT_MATCH_SQL = `
  SELECT a.id, a.user_id, a.frequency FROM area_alerts a
  WHERE a.community_id IN (SELECT c.id FROM communities c WHERE ST_Intersects(c.boundary, i.location))
    AND (a.category_ids IS NULL OR i.category_id = ANY (a.category_ids))
    AND a.user_id IS DISTINCT FROM i.reporter_id
  UNION ALL
  SELECT a.id, a.user_id, a.frequency FROM (SELECT ${PUBLIC_POINT_SQL} AS pt) p, area_alerts a
  WHERE a.area && p.pt AND ST_DWithin(a.center::geography, p.pt::geography, a.radius_m)
    AND (a.category_ids IS NULL OR i.category_id = ANY (a.category_ids))
    AND a.user_id IS DISTINCT FROM i.reporter_id`;

/**
 * An incident the public may see now: alerts and feeds show nothing else. A report held for
 * approval is alerted when it is approved (its `approved` event), not when it is made, so the
 * `created` event of a report that was ever approved alerts nobody: one alert either way.
 */
export const PUBLISHED_SQL = `(i.is_public AND NOT i.hidden AND NOT i.pending_approval)`;
export const PUBLISHING_EVENT_SQL = `(e.type = 'approved' OR (e.type = 'created'
  AND NOT EXISTS (SELECT 1 FROM incident_events x WHERE x.incident_id = i.id AND x.type = 'approved')))`;

/** The notifier's recipient rule: subscribers who asked to hear at once. */
export const AREA_ALERT_RECIPIENTS_SQL = `
  SELECT DISTINCT m.user_id FROM (${AREA_ALERT_MATCH_SQL}) m
  WHERE m.frequency = 'immediate' AND ${PUBLISHED_SQL} AND ${PUBLISHING_EVENT_SQL}`;
