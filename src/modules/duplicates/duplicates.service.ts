import type { Database } from '../../platform/db/database.js';
import { AppError, invalid, invalidField, type FieldError } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal } from '../identity/actor.js';
import * as policy from '../incidents/incidents.policy.js';
import { blurredPoint, presentIncident } from '../incidents/incidents.presenter.js';
import type { Incident } from '../incidents/incidents.schemas.js';
import { facts, findVisible, STATUS_MOVES, type RequestContext } from '../incidents/incidents.service.js';
import { recordModerationAction } from '../moderation/moderation.repository.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as repo from './duplicates.repository.js';
import type { SimilarIncident, SimilarQuery } from './duplicates.schemas.js';

export const SIMILAR_LIMIT = 20;

function presentSimilar(row: repo.SimilarRow, ctx: RequestContext): SimilarIncident {
  // presentIncident rounds the distance as lists do (coarsely where the location is blurred)
  const incident = presentIncident(row, ctx.actor, ctx.lang);
  return {
    ...incident,
    distance: incident.distance ?? 0,
    similarity: Math.round(Math.min(1, Math.max(0, Number(row.similarity))) * 100) / 100,
  };
}

/** Possible duplicates of a visible incident, best first. */
export async function similarTo(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
): Promise<{ items: SimilarIncident[] }> {
  const row = await findVisible(db, ctx.actor, idOrReference);
  const radius = await repo.duplicateRadius(db, row.category_id);
  if (radius === null) return { items: [] };
  // searching from a point the viewer is not shown would give it away through the distances
  const exact = policy.canSeeExactLocation(ctx.actor, { ...facts(row), sensitive: row.sensitive });
  const [lon, lat] = exact ? [row.lon, row.lat] : blurredPoint(row.lon, row.lat);
  const rows = await repo.findSimilar(db, {
    lon,
    lat,
    categoryId: row.category_id,
    radius,
    title: row.title,
    around: row.created_at,
    excludeId: row.id,
    visibility: policy.visibility(ctx.actor),
    limit: SIMILAR_LIMIT,
  });
  return { items: rows.map((r) => presentSimilar(r, ctx)) };
}

/** The check of the report form before a report exists: the same rules, from a point. */
export async function similarAt(
  db: Database,
  ctx: RequestContext,
  query: SimilarQuery,
): Promise<{ items: SimilarIncident[] }> {
  const errors: FieldError[] = [];
  const parts = query.near.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  let point: [number, number] | null = null;
  if (parts.length !== 2 || parts.some((p) => p === '') || numbers.some((n) => !Number.isFinite(n))) {
    errors.push({ path: '/query/near', message: 'validation.near' });
  } else if (Math.abs(numbers[0]!) > 180) {
    errors.push({ path: '/query/near', message: 'validation.longitude' });
  } else if (Math.abs(numbers[1]!) > 85) {
    // the Mercator plane the index prefilter works in ends there
    errors.push({ path: '/query/near', message: 'validation.near_latitude' });
  } else {
    point = [numbers[0]!, numbers[1]!];
  }
  const title = query.title?.trim() ?? '';
  if (query.title !== undefined && title === '') errors.push({ path: '/query/title', message: 'validation.blank' });
  if (errors.length > 0) throw invalid(errors);

  const categoryId = query.categoryId.toLowerCase();
  const radius = await repo.duplicateRadius(db, categoryId);
  if (radius === null) throw invalidField('/query/categoryId', 'validation.category_missing');
  const rows = await repo.findSimilar(db, {
    lon: point![0],
    lat: point![1],
    categoryId,
    radius,
    title: title === '' ? null : title,
    around: null,
    excludeId: null,
    visibility: policy.visibility(ctx.actor),
    limit: SIMILAR_LIMIT,
  });
  return { items: rows.map((r) => presentSimilar(r, ctx)) };
}

/** The incidents merged into this one that the caller may see. */
export async function duplicatesOf(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
): Promise<{ items: Incident[] }> {
  const row = await findVisible(db, ctx.actor, idOrReference);
  const rows = await repo.findMergedInto(db, row.id, policy.visibility(ctx.actor));
  return { items: rows.map((r) => presentIncident(r, ctx.actor, ctx.lang)) };
}

/**
 * Merges a duplicate into the original, in one transaction: the duplicate's status becomes
 * `duplicate` (from reported or acknowledged only) with a link to the original, its followers
 * and confirmations move there (counted once), both timelines say so and the audit trail records
 * it. Staff of both incidents' communities (or admins) may; either incident invisible is a 404.
 */
export async function merge(db: Database, ctx: RequestContext, idOrReference: string, into: string): Promise<Incident> {
  const row = await db.transaction(async (tx) => {
    // resolve both first (404 before 403), then lock them in id order
    const first = await findVisible(tx, ctx.actor, idOrReference);
    const target = await findVisible(tx, ctx.actor, into);
    if (!policy.canTriage(ctx.actor, facts(first)) || !policy.canTriage(ctx.actor, facts(target))) {
      throw refusal(ctx.actor);
    }
    if (first.id === target.id) throw invalidField('/body/into', 'validation.merge_into_itself');
    await repo.lockPair(tx, first.id, target.id);
    const duplicate = await findVisible(tx, ctx.actor, first.id);
    const original = await findVisible(tx, ctx.actor, target.id);
    if (!STATUS_MOVES[duplicate.status].includes('duplicate')) {
      throw new AppError('conflict', 'error.bad_transition.detail', { from: duplicate.status, to: 'duplicate' });
    }
    if (original.status === 'duplicate') {
      throw new AppError('conflict', 'error.merge_into_duplicate.detail', { reference: original.reference });
    }
    const moved = await repo.merge(tx, duplicate.id, original.id);
    const actorId = ctx.actor.userId;
    // each link names the other incident: internal while that one is not public, so a private
    // report's reference is not shown to those who may not see it
    const isPublic = (r: typeof duplicate) => r.is_public && !r.hidden;
    await appendEvents(tx, [
      { incidentId: duplicate.id, type: 'status_changed', actorId, data: { from: duplicate.status, to: 'duplicate' } },
      {
        incidentId: duplicate.id,
        type: 'merged_into',
        actorId,
        data: { id: original.id, reference: original.reference },
        internal: !isPublic(original),
      },
      {
        incidentId: original.id,
        type: 'merged_from',
        actorId,
        data: { id: duplicate.id, reference: duplicate.reference },
        internal: !isPublic(duplicate),
      },
    ]);
    await recordAudit(tx, {
      actorId,
      action: 'incident.merge',
      entityType: 'incident',
      entityId: duplicate.id,
      before: { status: duplicate.status },
      data: {
        into: { id: original.id, reference: original.reference },
        movedFollowers: moved.followers,
        movedConfirmations: moved.confirmations,
      },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    await recordModerationAction(tx, {
      actorId,
      action: 'incident.merge',
      targetType: 'incident',
      targetId: duplicate.id,
      communityId: duplicate.community_id,
      incidentId: duplicate.id,
      reason: null,
    });
    await enqueue(tx, 'incident.updated.v1', { incidentId: duplicate.id, changes: ['status_changed', 'merged_into'] });
    return findVisible(tx, ctx.actor, duplicate.id);
  });
  return presentIncident(row, ctx.actor, ctx.lang);
}
