import type { IncidentStatus } from '../api/client';

export interface Filters {
  statuses: IncidentStatus[];
  /** a category slug, or '' for all */
  category: string;
  /** days back, or 0 for any time */
  sinceDays: number;
}

export const DEFAULT_FILTERS: Filters = { statuses: [], category: '', sinceDays: 0 };

/** How many pins one view asks for: enough for a street, never the whole table. */
export const VIEW_LIMIT = 200;

export interface Bounds {
  west: number;
  south: number;
  east: number;
  north: number;
}

/**
 * The query for the incidents in a map view: its box (rounded, so panning a little reuses the
 * answer's cache key, and clamped to the world) with the filters and a limit.
 */
export function viewQuery(bounds: Bounds, filters: Filters, now: number) {
  const round = (v: number) => Math.round(v * 10_000) / 10_000;
  const clampLon = (v: number) => Math.min(180, Math.max(-180, v));
  const clampLat = (v: number) => Math.min(90, Math.max(-90, v));
  const bbox = [clampLon(bounds.west), clampLat(bounds.south), clampLon(bounds.east), clampLat(bounds.north)]
    .map(round)
    .join(',');
  return {
    bbox,
    limit: VIEW_LIMIT,
    sort: '-createdAt' as const,
    ...(filters.statuses.length > 0 ? { status: filters.statuses.join(',') } : {}),
    ...(filters.category ? { category: filters.category } : {}),
    ...(filters.sinceDays > 0 ? { since: new Date(now - filters.sinceDays * 86_400_000).toISOString() } : {}),
  };
}

/**
 * Up to this zoom the map shows the server's clusters (GET /incidents/clusters: counts over every
 * incident in view, from a rollup of ~2 km cells); closer in, from the default view (zoom 14) on,
 * the view's own pins (at most VIEW_LIMIT), which live updates keep current.
 */
export const CLUSTER_MAX_ZOOM = 13;

/**
 * The query for the clusters of a view. `since` is rounded down to the hour, so the URL stays
 * the same for an hour and the server's (and nginx's) cached answer can be reused.
 */
export function clusterQuery(bounds: Bounds, filters: Filters, zoom: number, now: number) {
  const { bbox, status, category } = viewQuery(bounds, filters, now);
  const hour = 3_600_000;
  const since = filters.sinceDays > 0 ? Math.floor((now - filters.sinceDays * 86_400_000) / hour) * hour : null;
  return {
    bbox,
    zoom: Math.max(0, Math.min(22, Math.round(zoom))),
    ...(status ? { status } : {}),
    ...(category ? { category } : {}),
    ...(since !== null ? { since: new Date(since).toISOString() } : {}),
  };
}

/** Whether a point lies in the box (a live arrival outside the view is not added to the list). */
export function inBounds(bounds: Bounds, [lon, lat]: readonly number[]): boolean {
  return lon! >= bounds.west && lon! <= bounds.east && lat! >= bounds.south && lat! <= bounds.north;
}

/** A reference as people type it: BW-7k3q 9d2m → BW-7K3Q9D2M; null when it cannot be one. */
export function normalizeReference(input: string): string | null {
  const compact = input.toUpperCase().replace(/[\s-]/g, '');
  const body = compact.startsWith('BW') ? compact.slice(2) : compact;
  return /^[0-9A-Z]{4,20}$/.test(body) ? `BW-${body}` : null;
}

/** Pin colours by status, each with at least 3:1 contrast against the map's light background. */
export const STATUS_COLORS: Record<IncidentStatus, string> = {
  reported: '#c62828',
  acknowledged: '#e65100',
  in_progress: '#1565c0',
  resolved: '#2e7d32',
  closed: '#546e7a',
  rejected: '#6d4c41',
  duplicate: '#7b1fa2',
};

/** Whether a live arrival belongs in a view with these filters. */
export function matchesFilters(
  incident: { status: IncidentStatus; category: { slug: string }; createdAt: string },
  filters: Filters,
  now: number,
): boolean {
  if (filters.statuses.length > 0 && !filters.statuses.includes(incident.status)) return false;
  if (filters.category && incident.category.slug !== filters.category) return false;
  if (filters.sinceDays > 0 && Date.parse(incident.createdAt) < now - filters.sinceDays * 86_400_000) return false;
  return true;
}
