import { createHash } from 'node:crypto';
import type { Database, Tx } from '../../platform/db/database.js';
import { AppError, invalid, invalidField, notFound, type FieldError } from '../../platform/http/errors.js';
import type { RawJson } from '../../platform/http/json-bytes.js';
import { parseCommaList } from '../../platform/http/query-lists.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { enqueueForward } from '../authorities/authorities.jobs.js';
import type { Lang } from '../../i18n/i18n.js';
import { recordAudit } from '../audit/audit.repository.js';
import { checkAttributeValues } from '../categories/categories.attributes.js';
import { findAttributes } from '../categories/categories.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import * as idempotency from '../idempotency/idempotency.repository.js';
import { enqueueObjectDeletion } from '../media/media.jobs.js';
import { keysForIncident } from '../media/media.repository.js';
import { recordModerationAction } from '../moderation/moderation.repository.js';
import { overdueFilter } from '../sla/sla.service.js';
import { templateComment } from '../templates/templates.service.js';
import { appendEvents, listEvents, type TimelineEventInsert } from '../timeline/timeline.repository.js';
import { decodeCursor, encodeCursor } from './incidents.cursor.js';
import { listPublic, publicListQuery } from './incidents.public-copies.js';
import * as policy from './incidents.policy.js';
import { presentIncident, presentTimelineEvent } from './incidents.presenter.js';
import { newReference, normalizeReference } from './incidents.references.js';
import * as repo from './incidents.repository.js';
import {
  METADATA_MAX_BYTES,
  PRIORITIES,
  STATUSES,
  type Incident,
  type IncidentCreate,
  type IncidentListQuery,
  type IncidentPatch,
  type Priority,
  type Status,
} from './incidents.schemas.js';

/** The status moves of the public contract (API.md). Anything else is 409. */
export const STATUS_MOVES: Readonly<Record<Status, readonly Status[]>> = {
  reported: ['acknowledged', 'rejected', 'duplicate'],
  acknowledged: ['in_progress', 'rejected', 'duplicate'],
  in_progress: ['resolved'],
  resolved: ['closed', 'in_progress'],
  closed: [],
  rejected: [],
  duplicate: [],
};

export interface RequestContext {
  actor: Actor;
  lang: Lang;
  requestId: string;
  /** who an Idempotency-Key belongs to when signed out */
  clientAddress: string;
}

export interface CreateResult {
  status: number;
  body: Incident;
  location: string;
  replayed: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------
// Create

/**
 * Where a report comes from when not from a person using the app: a trusted Open311 client,
 * named by the id of its API key. Such a client speaks for the council's own systems, so its
 * signed-out reports need no community to allow signed-out reporting. The key id goes to the
 * audit trail only, never into the incident's (public) fields.
 */
export interface ReportSource {
  via: 'open311';
  keyId: string;
}

export async function createIncident(
  db: Database,
  ctx: RequestContext,
  input: IncidentCreate,
  idempotencyKey: string | null,
  source: ReportSource | null = null,
): Promise<CreateResult> {
  const [pointLon, pointLat] = input.location.coordinates;
  if (
    ctx.actor.userId === null &&
    source === null &&
    !policy.canCreate(ctx.actor, await repo.communityAt(db, pointLon, pointLat))
  ) {
    throw new AppError('unauthorized', 'error.unauthorized.detail');
  }
  const metadata = (input.metadata ?? {}) as Record<string, unknown>;
  const metadataBytes = Buffer.byteLength(JSON.stringify(metadata));
  if (metadataBytes > METADATA_MAX_BYTES) {
    throw invalidField('/body/metadata', 'validation.metadata_size', { limit: METADATA_MAX_BYTES });
  }
  // the answers to the category's questions (a missing category is reported by the insert below)
  const attributes = await findAttributes(db, input.categoryId);
  if (attributes && attributes.length > 0) {
    const fields = checkAttributeValues(attributes, metadata);
    if (fields.length > 0) throw invalid(fields);
  }
  const scope = ctx.actor.userId ?? `ip:${ctx.clientAddress}`;
  const requestHash = idempotencyKey ? hashBody(input) : '';

  const outcome = await db.transaction(async (tx) => {
    if (idempotencyKey && !(await idempotency.claimKey(tx, scope, idempotencyKey, requestHash))) {
      return { replay: true as const };
    }
    const [lon, lat] = input.location.coordinates;
    let row: repo.IncidentRow | null = null;
    for (let attempt = 0; row === null; attempt++) {
      if (attempt === 5) throw new Error('could not find a free incident reference');
      row = await repo.insertIncident(tx, {
        reference: newReference(),
        title: input.title.trim(),
        description: input.description,
        lon,
        lat,
        address: input.address?.trim() || null,
        reporterId: ctx.actor.userId,
        // a signed-out report has no reporter to show: it is anonymous by nature
        anonymous: ctx.actor.userId === null ? true : (input.anonymous ?? false),
        categoryId: input.categoryId,
        priority: input.priority ?? 'medium',
        metadata,
        isPublic: input.isPublic ?? true,
        requiresAuthority: input.requiresAuthority ?? false,
      });
      if (row === null && attempt === 0) {
        // nothing inserted: a bad category, or (rarely) a reference already taken
        const category = await repo.findActiveCategory(tx, input.categoryId);
        if (!category) throw invalidField('/body/categoryId', 'validation.category_missing');
        if (!category.active) throw invalidField('/body/categoryId', 'validation.category_inactive');
      }
    }
    const events: TimelineEventInsert[] = [
      {
        incidentId: row.id,
        type: 'created',
        actorId: ctx.actor.userId,
        data: { status: row.status, priority: row.priority },
      },
    ];
    // routed by the insert itself (the most specific authority for the place and category)
    if (row.authority_id) {
      events.push({
        incidentId: row.id,
        type: 'routed',
        actorId: null,
        data: { authorityId: row.authority_id, name: row.authority_name ?? '' },
      });
    }
    await recordSideEffects(
      tx,
      ctx,
      row.id,
      'incident.create',
      events,
      source ? { via: source.via, keyId: source.keyId } : {},
    );
    // its job may start an emergency alert: ahead of any backlog of ordinary jobs
    await enqueue(tx, 'incident.created.v1', { incidentId: row.id }, { urgent: mayStartAlert(row) });
    // a report held by pre-moderation goes to the authority once approved (moderation module)
    if (row.authority_id && row.authority_delivery && row.authority_delivery !== 'none' && !row.pending_approval) {
      await enqueueForward(tx, { incidentId: row.id, authorityId: row.authority_id });
    }
    const body = presentIncident(row, ctx.actor, ctx.lang);
    const location = `/api/v1/incidents/${row.id}`;
    if (idempotencyKey) await idempotency.saveResponse(tx, scope, idempotencyKey, 201, body, { location });
    return { replay: false as const, body, location };
  });

  if (!outcome.replay) return { status: 201, body: outcome.body, location: outcome.location, replayed: false };
  const stored = idempotencyKey ? await idempotency.findResponse(db, scope, idempotencyKey) : null;
  if (!stored || stored.request_hash !== requestHash) {
    throw new AppError('conflict', 'error.idempotency_mismatch.detail');
  }
  return {
    status: stored.status_code,
    body: stored.response as Incident,
    location: stored.headers.location ?? '',
    replayed: true,
  };
}

function hashBody(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** JSON with sorted keys, so the same body in another key order counts as the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function recordSideEffects(
  tx: Tx,
  ctx: RequestContext,
  incidentId: string,
  action: string,
  events: TimelineEventInsert[],
  auditData: Record<string, unknown> = {},
): Promise<void> {
  await appendEvents(tx, events);
  await recordAudit(tx, {
    actorId: ctx.actor.userId,
    action,
    entityType: 'incident',
    entityId: incidentId,
    data: auditData,
    requestId: ctx.requestId,
    ip: ctx.clientAddress,
  });
}

// ---------------------------------------------------------------------------------------------
// Delete

/**
 * Removes an incident with its timeline and files. The stored objects are deleted by a job
 * enqueued in the same transaction, so they go even while the store is down.
 */
export async function deleteIncident(db: Database, ctx: RequestContext, idOrReference: string): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await findVisible(tx, ctx.actor, idOrReference, true);
    if (!policy.canDelete(ctx.actor, { ...facts(row), status: row.status })) throw refusal(ctx.actor);
    const keys = await keysForIncident(tx, row.id);
    await repo.deleteIncident(tx, row.id);
    await recordAudit(tx, {
      actorId: ctx.actor.userId,
      action: 'incident.delete',
      entityType: 'incident',
      entityId: row.id,
      before: { reference: row.reference, title: row.title, status: row.status, communityId: row.community_id },
      data: { mediaObjects: keys.length },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    await enqueueObjectDeletion(tx, keys);
  });
}

// ---------------------------------------------------------------------------------------------
// Read

/** The incident if the actor may see it; 404 otherwise (a private incident's existence is not revealed). */
export async function findVisible(
  db: Database | Tx,
  actor: Actor,
  idOrReference: string,
  forUpdate = false,
): Promise<repo.IncidentRow> {
  let row: repo.IncidentRow | null = null;
  if (UUID.test(idOrReference)) {
    row = await repo.findIncidentById(db, idOrReference.toLowerCase(), forUpdate);
  } else {
    const reference = normalizeReference(idOrReference);
    if (reference) row = await repo.findIncidentByReference(db, reference);
    if (row && forUpdate) row = await repo.findIncidentById(db, row.id, true);
  }
  if (!row || !policy.canView(actor, facts(row))) {
    throw notFound('error.incident_not_found.detail', { id: idOrReference });
  }
  return row;
}

export const facts = (row: repo.IncidentRow): policy.IncidentFacts => ({
  communityId: row.community_id,
  reporterId: row.reporter_id,
  isPublic: row.is_public,
  hidden: row.hidden,
});

export async function getIncident(db: Database, ctx: RequestContext, idOrReference: string): Promise<Incident> {
  const row = await findVisible(db, ctx.actor, idOrReference);
  return presentIncident(row, ctx.actor, ctx.lang);
}

export async function getTimeline(db: Database, ctx: RequestContext, idOrReference: string) {
  const row = await findVisible(db, ctx.actor, idOrReference);
  const events = await listEvents(db, row.id, policy.canSeeInternalNotes(ctx.actor, facts(row)));
  return { items: events.map((e) => presentTimelineEvent(e, row, ctx.actor)) };
}

export async function listIncidents(
  db: Database,
  ctx: RequestContext,
  query: IncidentListQuery,
): Promise<{ items: Array<Incident | RawJson>; nextCursor: string | null }> {
  const filter = parseListQuery(ctx.actor, query);
  const publicQuery = publicListQuery(ctx.actor, filter);
  if (publicQuery) {
    // the public map: its rows as rendered for the public, from one index (incidents.public-copies.ts)
    const after = filter.after ? ([filter.after[0], filter.after[1]] as [number, string]) : null;
    const rows = await listPublic(db, { ...publicQuery, after, limit: filter.limit + 1 }, ctx.lang);
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > filter.limit && last ? encodeCursor('distance', last.key) : null;
    return { items: page.map((r) => r.item), nextCursor };
  }
  const rows = await repo.listIncidents(db, { ...filter, limit: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > filter.limit && last ? encodeCursor(filter.sort, sortKey(filter.sort, last)) : null;
  return { items: page.map((row) => presentIncident(row, ctx.actor, ctx.lang)), nextCursor };
}

function sortKey(sort: repo.ListSort, row: repo.IncidentRow): repo.CursorKey {
  const created = row.created_at;
  switch (sort) {
    case 'distance':
      return [row.sort_distance ?? 0, row.id];
    case '-priority':
      return [row.priority, created, row.id];
    default:
      return [created, row.id];
  }
}

/** Turns the query string into a typed filter, collecting every invalid field at once. */
export function parseListQuery(actor: Actor, q: IncidentListQuery): repo.ListFilter {
  const errors: FieldError[] = [];
  const numbers = (raw: string, count: number): number[] | null => {
    const parts = raw.split(',').map((p) => p.trim());
    if (parts.length !== count || parts.some((p) => p === '' || !Number.isFinite(Number(p)))) return null;
    return parts.map(Number);
  };
  const list = <T extends string>(raw: string | undefined, allowed: readonly T[] | null, path: string) =>
    parseCommaList(raw, allowed, path, errors);

  let near: repo.ListFilter['near'] = null;
  if (q.near !== undefined) {
    const parsed = numbers(q.near, 2);
    if (!parsed) errors.push({ path: '/query/near', message: 'validation.near' });
    else if (Math.abs(parsed[0]!) > 180) errors.push({ path: '/query/near', message: 'validation.longitude' });
    // beyond ±85° the Mercator plane that orders "nearest first" does not exist
    else if (Math.abs(parsed[1]!) > 85) errors.push({ path: '/query/near', message: 'validation.near_latitude' });
    else near = { lon: parsed[0]!, lat: parsed[1]!, radius: q.radius ?? 1000 };
  } else if (q.radius !== undefined) {
    errors.push({ path: '/query/radius', message: 'validation.radius_without_near' });
  }

  let bbox: repo.ListFilter['bbox'] = null;
  if (q.bbox !== undefined) {
    const parsed = numbers(q.bbox, 4);
    if (
      !parsed ||
      parsed[0]! >= parsed[2]! ||
      parsed[1]! >= parsed[3]! ||
      parsed.some((n, i) => Math.abs(n) > (i % 2 === 0 ? 180 : 90))
    ) {
      errors.push({ path: '/query/bbox', message: 'validation.bbox' });
    } else bbox = parsed as [number, number, number, number];
  }
  if (q.near !== undefined && q.bbox !== undefined)
    errors.push({ path: '/query/bbox', message: 'validation.near_and_bbox' });

  // near: nearest first; bbox: nearest the middle of the box first (a map's list); else newest
  const spatial = q.near !== undefined || q.bbox !== undefined;
  const sort: repo.ListSort = q.sort ?? (spatial ? 'distance' : '-createdAt');
  if (sort === 'distance' && !spatial) errors.push({ path: '/query/sort', message: 'validation.distance_sort' });

  const statuses = list<Status>(q.status, STATUSES, '/query/status');
  const priorities = list<Priority>(q.priority, PRIORITIES, '/query/priority');
  const categorySlugs = list<string>(q.category, null, '/query/category');

  if ((q.reporter === 'me' || q.assignee === 'me') && actor.userId === null) {
    throw new AppError('unauthorized', 'error.unauthorized.detail');
  }

  let after: repo.CursorKey | null = null;
  if (q.cursor !== undefined) {
    after = decodeCursor(q.cursor, sort);
    if (!after) errors.push({ path: '/query/cursor', message: 'validation.cursor' });
  }
  if (errors.length > 0) throw invalid(errors);

  const text = q.q?.trim() ?? '';
  return {
    near,
    bbox,
    statuses,
    priorities,
    categorySlugs,
    q: text ? { text, reference: normalizeReference(text) } : null,
    communityId: q.communityId?.toLowerCase() ?? null,
    since: q.since ?? null,
    until: q.until ?? null,
    reporterId: q.reporter === 'me' ? actor.userId : null,
    assigneeId: q.assignee === 'me' ? actor.userId : null,
    overdue: q.overdue === undefined ? null : overdueFilter(actor, q.overdue),
    visibility: policy.visibility(actor),
    sort,
    after,
    limit: q.limit ?? 50,
  };
}

// ---------------------------------------------------------------------------------------------
// Update

/**
 * Changes an incident (PATCH). `expectedVersions` are the versions of `If-Match` (null: no header,
 * or `*`); the body's `version` is a second way to say the same. When given, the change goes ahead
 * only if the row, locked FOR UPDATE, is still at that version (412 otherwise), so two writers
 * that read the same version cannot both win.
 */
export async function updateIncident(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  patch: IncidentPatch,
  expectedVersions: readonly number[] | null = null,
): Promise<Incident> {
  const row = await db.transaction(async (tx) => {
    const current = await findVisible(tx, ctx.actor, idOrReference, true);
    const { version, ...change } = patch;
    const stale =
      (expectedVersions !== null && !expectedVersions.includes(current.version)) ||
      (version !== undefined && version !== current.version);
    if (stale) {
      throw new AppError('precondition_failed', 'error.version_mismatch.detail', { current: current.version });
    }
    return applyChange(tx, ctx, current, change);
  });
  return presentIncident(row, ctx.actor, ctx.lang);
}

/** What PATCH and bulk actions may change; `hidden` is moderation (bulk only). */
export type IncidentChange = Omit<IncidentPatch, 'version'> & { hidden?: boolean };

/**
 * The one code path of a change: policy, status moves, timeline events, audit record and job, on
 * a row the caller has already locked FOR UPDATE inside `tx`. Returns the row as it is now.
 */
export async function applyChange(
  tx: Tx,
  ctx: RequestContext,
  current: repo.IncidentRow,
  patch: IncidentChange,
): Promise<repo.IncidentRow> {
  const wantsContent = patch.title !== undefined || patch.description !== undefined || patch.location !== undefined;
  const wantsTriage = [
    patch.status,
    patch.priority,
    patch.assigneeId,
    patch.categoryId,
    patch.isPublic,
    patch.templateId,
  ].some((v) => v !== undefined);
  if (wantsContent && !policy.canEditContent(ctx.actor, { ...facts(current), status: current.status }))
    throw refusal(ctx.actor);
  if (wantsTriage && !policy.canTriage(ctx.actor, facts(current))) throw refusal(ctx.actor);
  if (patch.hidden !== undefined && !policy.canHide(ctx.actor, facts(current))) throw refusal(ctx.actor);
  // a moderator's redaction stands: the reporter may not write the removed words back
  const rewritesText = patch.title !== undefined || patch.description !== undefined;
  if (rewritesText && !policy.canTriage(ctx.actor, facts(current)) && (await repo.wasRedacted(tx, current.id))) {
    throw new AppError('conflict', 'error.redacted_text_locked.detail');
  }
  // a report held by pre-moderation is published by approving it (moderation module), not by showing it
  if (patch.hidden === false && current.hidden && current.pending_approval) {
    throw new AppError('conflict', 'error.pending_approval.detail');
  }
  const next: repo.IncidentUpdate = {
    status: patch.status ?? current.status,
    priority: patch.priority ?? current.priority,
    assigneeId: patch.assigneeId === undefined ? current.assignee_id : patch.assigneeId,
    categoryId: patch.categoryId ?? current.category_id,
    isPublic: patch.isPublic ?? current.is_public,
  };
  const events: TimelineEventInsert[] = [];
  const event = (type: string, data: Record<string, unknown>) =>
    events.push({ incidentId: current.id, type, actorId: ctx.actor.userId, data });

  if (next.status !== current.status) {
    if (!STATUS_MOVES[current.status].includes(next.status)) {
      throw new AppError('conflict', 'error.bad_transition.detail', { from: current.status, to: next.status });
    }
    event('status_changed', { from: current.status, to: next.status });
  }
  if (next.priority !== current.priority) event('priority_changed', { from: current.priority, to: next.priority });
  if (next.assigneeId !== current.assignee_id) {
    if (next.assigneeId !== null && !(await repo.userExists(tx, next.assigneeId))) {
      throw invalidField('/body/assigneeId', 'validation.user_missing');
    }
    event(next.assigneeId === null ? 'unassigned' : 'assigned', { from: current.assignee_id, to: next.assigneeId });
  }
  let emergencyCategory = false;
  if (next.categoryId !== current.category_id) {
    const category = await repo.findActiveCategory(tx, next.categoryId);
    if (!category) throw invalidField('/body/categoryId', 'validation.category_missing');
    if (!category.active) throw invalidField('/body/categoryId', 'validation.category_inactive');
    emergencyCategory = category.emergency;
    event('category_changed', { from: current.category_id, to: next.categoryId });
  }
  if (next.isPublic !== current.is_public) event('visibility_changed', { from: current.is_public, to: next.isPublic });
  if (patch.templateId !== undefined) {
    events.push(
      await templateComment(tx, {
        templateId: patch.templateId,
        incident: {
          id: current.id,
          reference: current.reference,
          title: current.title,
          reporterId: current.reporter_id,
        },
        categoryId: next.categoryId,
        move: next.status === current.status ? null : { from: current.status, to: next.status },
        actorId: ctx.actor.userId,
        lang: ctx.lang,
      }),
    );
  }

  if (wantsContent) {
    const content = {
      title: patch.title?.trim() ?? current.title,
      description: patch.description ?? current.description,
      lon: patch.location?.coordinates[0] ?? current.lon,
      lat: patch.location?.coordinates[1] ?? current.lat,
    };
    const changed: string[] = (['title', 'description'] as const).filter((k) => content[k] !== current[k]);
    if (content.lon !== current.lon || content.lat !== current.lat) changed.push('location');
    if (changed.length > 0) {
      await repo.updateContent(tx, current.id, content);
      // what changed, not the texts: an earlier wording may be what the reporter wanted gone
      event('edited', { fields: changed });
    }
  }

  if (patch.hidden !== undefined && patch.hidden !== current.hidden) {
    // moderation is for staff: the public timeline does not say a report was hidden
    events.push({
      incidentId: current.id,
      type: patch.hidden ? 'hidden' : 'unhidden',
      actorId: ctx.actor.userId,
      data: {},
      internal: true,
    });
    await repo.setHidden(tx, current.id, patch.hidden);
    // bulk hiding is moderation too: it belongs in the community's moderation history
    await recordModerationAction(tx, {
      actorId: ctx.actor.userId,
      action: patch.hidden ? 'incident.hide' : 'incident.unhide',
      targetType: 'incident',
      targetId: current.id,
      communityId: current.community_id,
      incidentId: current.id,
      reason: null,
    });
  }

  if (events.length === 0) return current;
  if (wantsTriage) await repo.updateIncident(tx, current.id, next);
  await recordSideEffects(tx, ctx, current.id, 'incident.update', events, {
    // a template's comment by its template, not its words (a filled-in title is the reporter's)
    changes: Object.fromEntries(
      events.map((e) => [e.type, e.type === 'comment' ? { templateId: e.data.templateId } : e.data]),
    ),
  });
  // made critical, or moved into an emergency category: its job may start an alert
  const urgent = (next.priority === 'critical' && current.priority !== 'critical') || emergencyCategory;
  await enqueue(tx, 'incident.updated.v1', { incidentId: current.id, changes: events.map((e) => e.type) }, { urgent });
  const updated = await repo.findIncidentById(tx, current.id);
  if (!updated) throw new Error('incident vanished inside its own transaction');
  return updated;
}

/** Whether a new incident's job may start an emergency alert (see emergency.service.ts reasonFor). */
function mayStartAlert(row: repo.IncidentRow): boolean {
  return row.priority === 'critical' || row.category_emergency === true;
}
