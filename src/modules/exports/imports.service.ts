import type { Database, Tx } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/errors.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { newReference } from '../incidents/incidents.references.js';
import * as incidents from '../incidents/incidents.repository.js';
import { PRIORITIES, STATUSES, type Priority, type Status } from '../incidents/incidents.schemas.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as policy from './exports.policy.js';
import * as repo from './exports.repository.js';

/**
 * Historical incidents from a file: each row is checked on its own, valid rows are inserted in
 * batches through the same insert as a new report (category check, community, authority
 * routing) and then given their history (status, times); invalid rows are skipped and reported
 * with their row number, field and what is wrong. Imported reports get an 'imported' timeline
 * event, no 'created' event and no jobs: nobody is notified and nothing is forwarded, they are
 * the past.
 */
export const IMPORT_BATCH = 500;

/** What a row may say. Keys are the CSV header names and the GeoJSON property names. */
export interface ImportRecord {
  title?: unknown;
  description?: unknown;
  category?: unknown;
  status?: unknown;
  priority?: unknown;
  lon?: unknown;
  lat?: unknown;
  address?: unknown;
  created_at?: unknown;
  acknowledged_at?: unknown;
  resolved_at?: unknown;
  is_public?: unknown;
}

export const IMPORT_FIELDS = [
  'title',
  'description',
  'category',
  'status',
  'priority',
  'lon',
  'lat',
  'address',
  'created_at',
  'acknowledged_at',
  'resolved_at',
  'is_public',
] as const;

export interface RowError {
  /** the row as people see it: the CSV line (the header is line 1), or the feature's position from 1 */
  row: number;
  field: string;
  message: string;
}

export interface ImportReport {
  rows: number;
  imported: number;
  failed: number;
  dryRun: boolean;
  errors: RowError[];
}

interface ValidRow {
  row: number;
  title: string;
  description: string;
  categoryId: string;
  status: Status;
  priority: Priority;
  lon: number;
  lat: number;
  address: string | null;
  createdAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  isPublic: boolean;
}

export interface ImportOptions {
  dryRun: boolean;
  /** named in the audit trail and the timeline event */
  source: string;
  now?: Date;
  onProgress?: (done: number) => void;
}

/** Reads records (row number, fields) and imports them; never throws for a bad row. */
export async function importIncidents(
  db: Database,
  actor: Actor,
  records: AsyncIterable<{ row: number; record: ImportRecord }>,
  options: ImportOptions,
): Promise<ImportReport> {
  if (!policy.canImport(actor)) throw refusal(actor);
  const categories = await repo.categoriesBySlug(db);
  const now = options.now ?? new Date();
  const report: ImportReport = { rows: 0, imported: 0, failed: 0, dryRun: options.dryRun, errors: [] };
  let batch: ValidRow[] = [];
  const failedRows = new Set<number>();

  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    if (!options.dryRun) {
      const refused = await insertBatch(db, actor, rows, options.source);
      for (const error of refused) {
        report.errors.push(error);
        failedRows.add(error.row);
      }
      report.imported += rows.length - refused.length;
    }
    options.onProgress?.(report.rows);
  };

  for await (const { row, record } of records) {
    report.rows++;
    const checked = validate(row, record, categories, now);
    if ('errors' in checked) {
      report.errors.push(...checked.errors);
      failedRows.add(row);
    } else {
      batch.push(checked.row);
      if (batch.length >= IMPORT_BATCH) await flush();
    }
  }
  await flush();
  report.failed = failedRows.size;
  report.errors.sort((a, b) => a.row - b.row);
  return report;
}

/** One transaction per batch; a row the database refuses is rolled back alone (a savepoint). */
async function insertBatch(db: Database, actor: Actor, rows: ValidRow[], source: string): Promise<RowError[]> {
  return db.transaction(async (tx) => {
    const refused: RowError[] = [];
    for (const row of rows) {
      await tx.query({ text: 'SAVEPOINT import_row' });
      try {
        await insertRow(tx, actor, row, source);
        await tx.query({ text: 'RELEASE SAVEPOINT import_row' });
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        // integrity and data errors (SQLSTATE classes 22, 23) belong to the row; anything else stops the import
        if (!(typeof code === 'string' && /^2[23]/.test(code)) && !(error instanceof AppError)) throw error;
        await tx.query({ text: 'ROLLBACK TO SAVEPOINT import_row' });
        await tx.query({ text: 'RELEASE SAVEPOINT import_row' });
        refused.push({ row: row.row, field: '', message: 'the database refused this row' });
      }
    }
    return refused;
  });
}

async function insertRow(tx: Tx, actor: Actor, row: ValidRow, source: string): Promise<void> {
  let inserted: incidents.IncidentRow | null = null;
  for (let attempt = 0; inserted === null; attempt++) {
    // the category was checked, so nothing inserted means the reference was taken: draw again
    if (attempt === 5) throw new Error('could not find a free incident reference');
    inserted = await incidents.insertIncident(tx, {
      reference: newReference(),
      title: row.title,
      description: row.description,
      lon: row.lon,
      lat: row.lat,
      address: row.address,
      reporterId: null,
      anonymous: false,
      categoryId: row.categoryId,
      priority: row.priority,
      metadata: {},
      isPublic: row.isPublic,
      requiresAuthority: false,
    });
  }
  await repo.applyHistory(tx, {
    id: inserted.id,
    status: row.status,
    createdAt: row.createdAt,
    acknowledgedAt: row.acknowledgedAt,
    resolvedAt: row.resolvedAt,
  });
  await appendEvents(tx, [
    { incidentId: inserted.id, type: 'imported', actorId: actor.userId, data: { source, row: row.row } },
  ]);
  await recordAudit(tx, {
    actorId: actor.userId,
    action: 'incident.import',
    entityType: 'incident',
    entityId: inserted.id,
    data: { source, row: row.row },
  });
}

// ---------------------------------------------------------------------------------------------
// Validation: every problem of a row at once, in words an operator can act on.

const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  return s === null ? null : s.trim();
};

function validate(
  row: number,
  r: ImportRecord,
  categories: Map<string, { id: string; active: boolean }>,
  now: Date,
): { row: ValidRow } | { errors: RowError[] } {
  const errors: RowError[] = [];
  const fail = (field: string, message: string) => errors.push({ row, field, message });

  const title = text(r.title) ?? '';
  if (title.length < 3 || title.length > 255) fail('title', 'must be 3 to 255 characters');
  const description = typeof r.description === 'string' ? r.description : (text(r.description) ?? '');
  if (description.length > 10_000) fail('description', 'must be at most 10000 characters');

  const slug = text(r.category) ?? '';
  const category = categories.get(slug);
  if (!slug) fail('category', 'is required');
  else if (!category) fail('category', `no category "${slug}"`);
  else if (!category.active) fail('category', `category "${slug}" is not active`);

  const statusText = text(r.status) || 'reported';
  const status = (STATUSES as readonly string[]).includes(statusText) ? (statusText as Status) : null;
  if (!status) fail('status', `must be one of: ${STATUSES.join(', ')}`);
  const priorityText = text(r.priority) || 'medium';
  const priority = (PRIORITIES as readonly string[]).includes(priorityText) ? (priorityText as Priority) : null;
  if (!priority) fail('priority', `must be one of: ${PRIORITIES.join(', ')}`);

  const coordinate = (field: 'lon' | 'lat', limit: number): number | null => {
    const raw = text(r[field]);
    if (!raw) {
      fail(field, 'is required');
      return null;
    }
    const n = Number(raw);
    if (!Number.isFinite(n) || Math.abs(n) > limit) {
      fail(field, `must be a number from -${limit} to ${limit}`);
      return null;
    }
    return n;
  };
  const lon = coordinate('lon', 180);
  const lat = coordinate('lat', 90);
  const address = text(r.address) || null;
  if (address && address.length > 500) fail('address', 'must be at most 500 characters');

  const time = (field: 'created_at' | 'acknowledged_at' | 'resolved_at', required: boolean): Date | null => {
    const raw = text(r[field]);
    if (!raw) {
      if (required) fail(field, 'is required');
      return null;
    }
    const d = new Date(raw);
    if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(d.getTime())) {
      fail(field, 'must be an RFC 3339 date-time');
      return null;
    }
    if (d > now) {
      fail(field, 'lies in the future');
      return null;
    }
    return d;
  };
  const createdAt = time('created_at', true);
  const resolvedAt = time('resolved_at', status === 'resolved' || status === 'closed');
  let acknowledgedAt = time('acknowledged_at', false);
  if (status === 'reported' && acknowledgedAt) fail('acknowledged_at', 'a reported incident was not acknowledged yet');
  if (resolvedAt && status !== 'resolved' && status !== 'closed') {
    fail('resolved_at', 'only a resolved or closed incident has one');
  }
  if (createdAt && acknowledgedAt && acknowledgedAt < createdAt) fail('acknowledged_at', 'is before created_at');
  if (createdAt && resolvedAt && resolvedAt < createdAt) fail('resolved_at', 'is before created_at');
  if (acknowledgedAt && resolvedAt && resolvedAt < acknowledgedAt) fail('resolved_at', 'is before acknowledged_at');

  let isPublic = true;
  const publicText = text(r.is_public)?.toLowerCase();
  if (publicText) {
    if (['true', '1', 'yes'].includes(publicText)) isPublic = true;
    else if (['false', '0', 'no'].includes(publicText)) isPublic = false;
    else fail('is_public', 'must be true or false');
  }

  if (errors.length > 0) return { errors };
  // a moved-on incident without a recorded acknowledgement: at the latest when it was resolved
  if (status !== 'reported' && !acknowledgedAt) acknowledgedAt = resolvedAt ?? createdAt;
  return {
    row: {
      row,
      title,
      description,
      categoryId: category!.id,
      status: status!,
      priority: priority!,
      lon: lon!,
      lat: lat!,
      address,
      createdAt: createdAt!.toISOString(),
      acknowledgedAt: acknowledgedAt?.toISOString() ?? null,
      resolvedAt: resolvedAt?.toISOString() ?? null,
      isPublic,
    },
  };
}
