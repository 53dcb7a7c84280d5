import { createHash } from 'node:crypto';
import type { Database } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal } from '../identity/actor.js';
import * as idempotency from '../idempotency/idempotency.repository.js';
import { recordModerationAction } from '../moderation/moderation.repository.js';
import { decodeCursor, encodeCursor } from '../incidents/incidents.cursor.js';
import { visibility } from '../incidents/incidents.policy.js';
import { presentIncident, presentTimelineEvent } from '../incidents/incidents.presenter.js';
import type { Incident, TimelineItem } from '../incidents/incidents.schemas.js';
import { facts, findVisible, type RequestContext } from '../incidents/incidents.service.js';
import { appendEvent, appendEvents, findEvent } from '../timeline/timeline.repository.js';
import * as policy from './conversation.policy.js';
import * as repo from './conversation.repository.js';
import {
  COMMENT_MAX_CHARS,
  HIDE_REASON_MIN_CHARS,
  type CommentCreate,
  type Confirmations,
  type FollowingQuery,
} from './conversation.schemas.js';

/** The timeline types that are people talking; only `comment` is public and so moderated. */
export const COMMENT = 'comment';
export const INTERNAL_NOTE = 'internal_note';

/** Characters as people count them (code points), like the schema's minLength and maxLength. */
const length = (text: string): number => [...text].length;

/**
 * Where a comment or a "me too" lands: a merged duplicate sends it on to the incident it was
 * merged into, when the caller may see that one (else it stays on the duplicate).
 */
async function landingIncident(db: Database, ctx: RequestContext, idOrReference: string) {
  const incident = await findVisible(db, ctx.actor, idOrReference);
  if (!incident.duplicate_of) return incident;
  try {
    return await findVisible(db, ctx.actor, incident.duplicate_of);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') return incident;
    throw error;
  }
}

/** The signed-in person, or 401. */
function userOf(ctx: RequestContext): string {
  if (!policy.canParticipate(ctx.actor) || ctx.actor.userId === null) throw refusal(ctx.actor);
  return ctx.actor.userId;
}

// ---------------------------------------------------------------------------------------------
// Comments and internal notes

export interface CommentResult {
  status: number;
  body: TimelineItem;
  replayed: boolean;
}

/**
 * Adds a comment (or, for staff, an internal note) to the timeline; the commenter starts
 * following the incident. With an Idempotency-Key a retried post returns the first answer
 * instead of saying the same thing twice.
 */
export async function addComment(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  input: CommentCreate,
  idempotencyKey: string | null,
): Promise<CommentResult> {
  const incident = await landingIncident(db, ctx, idOrReference);
  const userId = userOf(ctx);
  const internal = input.internal ?? false;
  if (internal && !policy.canWriteInternalNote(ctx.actor, facts(incident))) throw refusal(ctx.actor);
  const body = input.body.trim();
  if (body === '') throw invalidField('/body/body', 'validation.blank');
  if (length(body) > COMMENT_MAX_CHARS) {
    throw invalidField('/body/body', 'validation.max_length', { limit: COMMENT_MAX_CHARS });
  }
  const requestHash = idempotencyKey ? hashOf({ incidentId: incident.id, body, internal }) : '';

  const outcome = await db.transaction(async (tx) => {
    if (idempotencyKey && !(await idempotency.claimKey(tx, userId, idempotencyKey, requestHash))) {
      return null;
    }
    const event = await appendEvent(tx, {
      incidentId: incident.id,
      type: internal ? INTERNAL_NOTE : COMMENT,
      actorId: userId,
      data: { body },
      internal,
    });
    await repo.follow(tx, incident.id, userId);
    await recordAudit(tx, {
      actorId: userId,
      action: 'comment.create',
      entityType: 'comment',
      entityId: String(event.id),
      // not the words: the trail is append-only, and a comment may be what its author wants gone
      data: { incidentId: incident.id, internal },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    const item = presentTimelineEvent(event, incident, ctx.actor);
    if (idempotencyKey) await idempotency.saveResponse(tx, userId, idempotencyKey, 201, item, {});
    return item;
  });

  if (outcome) return { status: 201, body: outcome, replayed: false };
  const stored = idempotencyKey ? await idempotency.findResponse(db, userId, idempotencyKey) : null;
  if (!stored || stored.request_hash !== requestHash) {
    throw new AppError('conflict', 'error.idempotency_mismatch.detail');
  }
  return { status: stored.status_code, body: stored.response as TimelineItem, replayed: true };
}

function hashOf(value: { incidentId: string; body: string; internal: boolean }): string {
  // fixed key order: the same comment always hashes the same
  return createHash('sha256')
    .update(JSON.stringify(['comment', value.incidentId, value.body, value.internal]))
    .digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Moderation

/**
 * Hides a comment from everyone but staff, or shows it again. Each change lands on the timeline
 * (without the reason, which is for staff) and in the audit trail (with it). Hiding a hidden
 * comment, or showing a visible one, changes nothing and records nothing.
 */
export async function setCommentHidden(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  eventId: string,
  change: { hidden: true; reason: string } | { hidden: false; reason: string | null },
): Promise<TimelineItem> {
  const reason = change.reason?.trim() ?? null;
  if (reason !== null && length(reason) < HIDE_REASON_MIN_CHARS) {
    throw invalidField('/body/reason', 'validation.min_length', { limit: HIDE_REASON_MIN_CHARS });
  }
  const { incident, event } = await db.transaction(async (tx) => {
    const incident = await findVisible(tx, ctx.actor, idOrReference);
    // the row lock orders two moderators acting on one comment at once
    const comment = await findEvent(tx, incident.id, eventId, true);
    if (!comment || comment.type !== COMMENT) throw notFound('error.comment_not_found.detail', { id: eventId });
    if (!policy.canModerateComments(ctx.actor, facts(incident))) throw refusal(ctx.actor);
    if ((comment.hidden_at !== null) === change.hidden) return { incident, event: comment };

    const commentId = String(comment.id);
    if (change.hidden) await repo.hideComment(tx, commentId, ctx.actor.userId, reason ?? '');
    else await repo.unhideComment(tx, commentId);
    await appendEvents(tx, [
      {
        incidentId: incident.id,
        type: change.hidden ? 'comment_hidden' : 'comment_unhidden',
        actorId: ctx.actor.userId,
        data: { commentId },
      },
    ]);
    await recordAudit(tx, {
      actorId: ctx.actor.userId,
      action: change.hidden ? 'comment.hide' : 'comment.unhide',
      entityType: 'comment',
      entityId: commentId,
      data: { incidentId: incident.id, reason },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    await recordModerationAction(tx, {
      actorId: ctx.actor.userId,
      action: change.hidden ? 'comment.hide' : 'comment.unhide',
      targetType: 'comment',
      targetId: commentId,
      communityId: incident.community_id,
      incidentId: incident.id,
      reason,
    });
    const updated = await findEvent(tx, incident.id, commentId);
    if (!updated) throw new Error('comment vanished inside its own transaction');
    return { incident, event: updated };
  });
  return presentTimelineEvent(event, incident, ctx.actor);
}

// ---------------------------------------------------------------------------------------------
// "Me too"

export interface ConfirmResult {
  created: boolean;
  body: Confirmations;
}

/**
 * Counts the person in, once. The timeline says how many now, never who: the event has no actor.
 * The person starts following the incident.
 */
export async function confirm(db: Database, ctx: RequestContext, idOrReference: string): Promise<ConfirmResult> {
  const incident = await landingIncident(db, ctx, idOrReference);
  const userId = userOf(ctx);
  if (!policy.canConfirm(ctx.actor, facts(incident))) {
    throw new AppError('conflict', 'error.confirm_own_report.detail');
  }
  return db.transaction(async (tx) => {
    const result = await repo.addConfirmation(tx, incident.id, userId);
    if (result.added) {
      await appendEvents(tx, [
        { incidentId: incident.id, type: 'confirmed', actorId: null, data: { confirmations: result.confirmations } },
      ]);
      await repo.follow(tx, incident.id, userId);
    }
    return { created: result.added, body: { confirmations: result.confirmations, confirmed: true } };
  });
}

/** Takes the person's "me too" back; nothing lands on the timeline. */
export async function withdrawConfirmation(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
): Promise<Confirmations> {
  const incident = await landingIncident(db, ctx, idOrReference);
  const userId = userOf(ctx);
  const result = await db.transaction((tx) => repo.removeConfirmation(tx, incident.id, userId));
  return { confirmations: result.confirmations, confirmed: false };
}

// ---------------------------------------------------------------------------------------------
// Following

export async function follow(db: Database, ctx: RequestContext, idOrReference: string): Promise<void> {
  const incident = await findVisible(db, ctx.actor, idOrReference);
  await repo.follow(db, incident.id, userOf(ctx));
}

export async function unfollow(db: Database, ctx: RequestContext, idOrReference: string): Promise<void> {
  const incident = await findVisible(db, ctx.actor, idOrReference);
  await repo.unfollow(db, incident.id, userOf(ctx));
}

/** What the person follows and may still see, newest follow first. */
export async function listFollowing(
  db: Database,
  ctx: RequestContext,
  query: FollowingQuery,
): Promise<{ items: Incident[]; nextCursor: string | null }> {
  const userId = userOf(ctx);
  const limit = query.limit ?? 50;
  let after: [string, string] | null = null;
  if (query.cursor !== undefined) {
    // the same [timestamp, id] key as the newest-first incident list, so the same cursor format
    const key = decodeCursor(query.cursor, '-createdAt');
    if (!key) throw invalidField('/query/cursor', 'validation.cursor');
    after = [String(key[0]), String(key[1])];
  }
  const rows = await repo.listFollowed(db, { userId, visibility: visibility(ctx.actor), after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor('-createdAt', [last.followed_at, last.id]) : null;
  return { items: page.map((row) => presentIncident(row, ctx.actor, ctx.lang)), nextCursor };
}
