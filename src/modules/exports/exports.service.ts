import type { Database } from '../../platform/db/database.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal } from '../identity/actor.js';
import { presentIncident } from '../incidents/incidents.presenter.js';
import * as incidents from '../incidents/incidents.repository.js';
import type { Incident, IncidentListQuery } from '../incidents/incidents.schemas.js';
import { parseListQuery, type RequestContext } from '../incidents/incidents.service.js';
import { csvLine, csvNumber, csvText } from './exports.csv.js';
import * as policy from './exports.policy.js';
import type { ExportFormat, ExportQuery } from './exports.schemas.js';

/** Rows per keyset page: memory stays flat whatever the export's size. */
export const EXPORT_PAGE = 1_000;

export interface ExportStream {
  contentType: string;
  filename: string;
  /** the file, piece by piece; `onRows` hears how many rows are out so far */
  chunks: AsyncIterable<string>;
}

export const CSV_COLUMNS = [
  'id',
  'reference',
  'title',
  'description',
  'category',
  'category_name',
  'priority',
  'status',
  'lon',
  'lat',
  'location_blurred',
  'address',
  'community_id',
  'reporter_id',
  'reporter_name',
  'assignee_id',
  'assignee_name',
  'is_public',
  'created_at',
  'updated_at',
] as const;

/**
 * An export of the incidents that match the filters of GET /incidents, oldest first. Checked and
 * audited before the first byte; then read in keyset pages of EXPORT_PAGE rows (no transaction
 * or server cursor is held open: the embedded database serves one session, and a long export
 * must not stall it) and written as it goes. Each row is presented for this actor as the API
 * would show it: reporters where the actor may see them, sensitive locations exact for staff.
 */
export async function exportIncidents(
  db: Database,
  ctx: RequestContext,
  query: Omit<ExportQuery, 'format'> & { format?: ExportFormat },
  options: { onRows?: (done: number) => void } = {},
): Promise<ExportStream> {
  const communityId = query.communityId?.toLowerCase() ?? null;
  if (!policy.canExport(ctx.actor, communityId)) throw refusal(ctx.actor);
  const format = query.format ?? 'csv';
  const { format: _format, ...filters } = query;
  const listQuery: IncidentListQuery = { ...filters, sort: 'createdAt' };
  const filter = parseListQuery(ctx.actor, listQuery);

  await recordAudit(db, {
    actorId: ctx.actor.userId,
    action: 'incident.export',
    entityType: 'incident',
    entityId: communityId ?? '*',
    data: { format, filters },
    requestId: ctx.requestId,
    ip: ctx.clientAddress,
  });

  async function* pages(): AsyncGenerator<Incident[]> {
    let after: incidents.CursorKey | null = null;
    for (;;) {
      const rows = await incidents.listIncidents(db, { ...filter, sort: 'createdAt', after, limit: EXPORT_PAGE });
      if (rows.length === 0) return;
      yield rows.map((row) => presentIncident(row, ctx.actor, ctx.lang));
      const last = rows[rows.length - 1]!;
      after = [last.created_at, last.id];
      if (rows.length < EXPORT_PAGE) return;
    }
  }

  async function* csv(): AsyncGenerator<string> {
    yield csvLine([...CSV_COLUMNS]);
    let done = 0;
    for await (const page of pages()) {
      yield page.map(csvRow).join('');
      options.onRows?.((done += page.length));
    }
  }

  async function* geojson(): AsyncGenerator<string> {
    yield '{"type":"FeatureCollection","features":[';
    let done = 0;
    for await (const page of pages()) {
      yield (done > 0 ? ',' : '') + page.map((i) => JSON.stringify(feature(i))).join(',');
      options.onRows?.((done += page.length));
    }
    yield ']}\n';
  }

  const stamp = new Date().toISOString().slice(0, 10);
  return format === 'csv'
    ? { contentType: 'text/csv; charset=utf-8', filename: `incidents-${stamp}.csv`, chunks: csv() }
    : { contentType: 'application/geo+json', filename: `incidents-${stamp}.geojson`, chunks: geojson() };
}

function csvRow(i: Incident): string {
  const [lon, lat] = i.location.coordinates as [number, number];
  return csvLine([
    i.id,
    i.reference,
    csvText(i.title),
    csvText(i.description),
    csvText(i.category.slug),
    csvText(i.category.name),
    i.priority,
    i.status,
    csvNumber(lon),
    csvNumber(lat),
    String(i.locationBlurred),
    csvText(i.address),
    i.communityId ?? '',
    i.reporter?.id ?? '',
    csvText(i.reporter?.displayName),
    i.assignee?.id ?? '',
    csvText(i.assignee?.displayName),
    String(i.isPublic),
    i.createdAt,
    i.updatedAt,
  ]);
}

/** RFC 7946: the point as the viewer may see it, everything else in the properties. */
function feature(i: Incident): object {
  const { location, ...properties } = i;
  return { type: 'Feature', id: i.id, geometry: location, properties };
}
