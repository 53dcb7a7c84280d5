import type { Incident, IncidentStatus } from '../api/client';

/** The staff console's queue: which filters it asks the server for, and the order it shows. */
export type Sort = '-createdAt' | 'createdAt' | '-priority' | 'overdue';
export type Overdue = '' | 'true' | 'acknowledge' | 'resolve';

export interface Filters {
  /** a community id, or '' for every community the staff member works */
  community: string;
  /** 'open', one status, or '' for all */
  status: string;
  priority: string;
  /** a category slug */
  category: string;
  assignee: '' | 'me';
  overdue: Overdue;
  sort: Sort;
}

export const OPEN_STATUSES: readonly IncidentStatus[] = ['reported', 'acknowledged', 'in_progress'];
export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const SORTS: readonly Sort[] = ['-createdAt', 'createdAt', '-priority', 'overdue'];
export const OVERDUES: readonly Overdue[] = ['', 'true', 'acknowledge', 'resolve'];
export const PAGE_SIZE = 100;

export const DEFAULT_FILTERS: Filters = {
  community: '',
  status: 'open',
  priority: '',
  category: '',
  assignee: '',
  overdue: '',
  sort: '-createdAt',
};

export interface ListQuery {
  communityId?: string;
  status?: string;
  priority?: string;
  category?: string;
  assignee?: 'me';
  overdue?: 'true' | 'acknowledge' | 'resolve';
  sort: '-createdAt' | 'createdAt' | '-priority';
  limit: number;
  cursor?: string;
}

/** The GET /incidents query for one community (null: every community, for admins). */
export function listQuery(filters: Filters, communityId: string | null, cursor?: string): ListQuery {
  const q: ListQuery = {
    // "most overdue first" is ordered here, on the newest the server sends
    sort: filters.sort === 'overdue' ? '-createdAt' : filters.sort,
    limit: PAGE_SIZE,
  };
  if (communityId) q.communityId = communityId;
  const status = filters.status === 'open' ? OPEN_STATUSES.join(',') : filters.status;
  if (status) q.status = status;
  if (filters.priority) q.priority = filters.priority;
  if (filters.category) q.category = filters.category;
  if (filters.assignee) q.assignee = filters.assignee;
  if (filters.overdue) q.overdue = filters.overdue;
  if (cursor) q.cursor = cursor;
  return q;
}

const PRIORITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** When the incident is next due (the earliest target it still has to meet), in ms; null when none. */
export function nextDue(incident: Incident): number | null {
  const sla = incident.sla;
  if (!sla) return null;
  const dues: number[] = [];
  if (incident.status === 'reported' && sla.acknowledgeDueAt) dues.push(Date.parse(sla.acknowledgeDueAt));
  if (OPEN_STATUSES.includes(incident.status) && sla.resolveDueAt) dues.push(Date.parse(sla.resolveDueAt));
  return dues.length ? Math.min(...dues) : null;
}

export function isOverdue(incident: Incident): boolean {
  return Boolean(incident.sla && (incident.sla.overdue.acknowledge || incident.sla.overdue.resolve));
}

/** One list from several (a staff member of several communities; nested communities overlap), in the chosen order. */
export function mergeQueue(lists: readonly Incident[][], sort: Sort): Incident[] {
  const byId = new Map<string, Incident>();
  for (const list of lists) for (const incident of list) byId.set(incident.id, incident);
  return sortQueue([...byId.values()], sort);
}

export function sortQueue(items: Incident[], sort: Sort): Incident[] {
  const newest = (a: Incident, b: Incident) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
  const compare: Record<Sort, (a: Incident, b: Incident) => number> = {
    '-createdAt': newest,
    createdAt: (a, b) => -newest(a, b),
    '-priority': (a, b) => (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) || -newest(a, b),
    // late ones first, the latest of them first; then the soonest due; then those without a target
    overdue: (a, b) => {
      const da = nextDue(a) ?? Infinity;
      const db = nextDue(b) ?? Infinity;
      return da === db ? -newest(a, b) : da < db ? -1 : 1;
    },
  };
  return [...items].sort(compare[sort]);
}

/** Whether a report that just arrived belongs in the queue as filtered (the server's filters, applied here). */
export function matchesFilters(
  incident: Incident,
  filters: Filters,
  scope: ReadonlySet<string> | null,
  userId: string,
): boolean {
  if (scope && (incident.communityId === null || !scope.has(incident.communityId))) return false;
  if (filters.community && incident.communityId !== filters.community) return false;
  const statuses = filters.status === 'open' ? OPEN_STATUSES : filters.status ? [filters.status] : null;
  if (statuses && !statuses.includes(incident.status)) return false;
  if (filters.priority && incident.priority !== filters.priority) return false;
  if (filters.category && incident.category.slug !== filters.category) return false;
  if (filters.assignee === 'me' && incident.assignee?.id !== userId) return false;
  if (filters.overdue === 'true' && !isOverdue(incident)) return false;
  if (filters.overdue === 'acknowledge' && !incident.sla?.overdue.acknowledge) return false;
  if (filters.overdue === 'resolve' && !incident.sla?.overdue.resolve) return false;
  return true;
}

/** "3 hours ago", in the page's language. */
export function age(lang: 'en' | 'af', iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const format = new Intl.RelativeTimeFormat(lang === 'af' ? 'af-ZA' : 'en-ZA', { numeric: 'auto' });
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(0, 'minute');
}

/** Moves focus through the queue's rows: j/k or the arrow keys, Home and End. */
export function nextRow(key: string, current: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'j':
    case 'ArrowDown':
      return Math.min(current + 1, count - 1);
    case 'k':
    case 'ArrowUp':
      return Math.max(current - 1, 0);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
