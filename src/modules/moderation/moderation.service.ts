import type { Database, Tx } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { changeBanList, setBanned, type BanOrigin } from '../accounts/accounts.service.js';
import { banListTargetId, normalizeBanValue } from '../accounts/ban-list.js';
import { recordAudit } from '../audit/audit.repository.js';
import { enqueueForward } from '../authorities/authorities.jobs.js';
import { decodeAuditCursor, encodeAuditCursor } from '../audit/audit.service.js';
import { COMMENT, INTERNAL_NOTE } from '../conversation/conversation.service.js';
import { isAdmin, refusal } from '../identity/actor.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import { decodeCursor, encodeCursor } from '../incidents/incidents.cursor.js';
import { canSeeInternalNotes } from '../incidents/incidents.policy.js';
import { presentIncident, presentTimelineEvent } from '../incidents/incidents.presenter.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { findIncidentById, setHidden } from '../incidents/incidents.repository.js';
import type { Incident, TimelineItem } from '../incidents/incidents.schemas.js';
import { facts, findVisible, STATUS_MOVES, type RequestContext } from '../incidents/incidents.service.js';
import { presentMedia } from '../media/media.presenter.js';
import { findInIncident } from '../media/media.repository.js';
import type { MediaDeps } from '../media/media.service.js';
import type { MediaItem } from '../media/media.schemas.js';
import { appendEvents, findEvent, type TimelineEventInsert } from '../timeline/timeline.repository.js';
import * as policy from './moderation.policy.js';
import { presentBanEntry, presentModerationAction } from './moderation.presenter.js';
import * as repo from './moderation.repository.js';
import type {
  BanEntry,
  BanEntryCreate,
  BanEntryCreated,
  BanListQuery,
  BanResult,
  CommentRedaction,
  HistoryQuery,
  IncidentRedaction,
  ModerationHistory,
  PendingQuery,
} from './moderation.schemas.js';

/**
 * Moderation: hiding and showing incidents and their files, redacting words, pre-moderation,
 * bans, and the history of it all. Every action writes, in its own transaction, the change, a
 * timeline event where the incident has one, an audit entry and a row of the moderation history.
 */

const trimmed = (reason: string | null | undefined): string | null => reason?.trim() || null;

/** One action's audit entry and history row, together. */
async function record(
  tx: Tx,
  ctx: RequestContext,
  entry: Omit<repo.ModerationActionInsert, 'actorId'>,
  auditData: Record<string, unknown> = {},
): Promise<void> {
  await recordAudit(tx, {
    actorId: ctx.actor.userId,
    action: entry.action,
    entityType: entry.targetType,
    entityId: entry.targetId,
    data: { ...auditData, incidentId: entry.incidentId, communityId: entry.communityId, reason: entry.reason },
    requestId: ctx.requestId,
    ip: ctx.clientAddress,
  });
  await repo.recordModerationAction(tx, { ...entry, actorId: ctx.actor.userId });
}

async function reload(tx: Tx, id: string): Promise<IncidentRow> {
  const row = await findIncidentById(tx, id);
  if (!row) throw new Error('incident vanished inside its own transaction');
  return row;
}

// ---------------------------------------------------------------------------------------------
// Incidents: hide and unhide

/**
 * Keeps an incident from the public (its staff and reporter still see it), or shows it again.
 * The timeline event is internal (with the reason): the public is not told that a report was
 * hidden, nor is the reporter. A report held by pre-moderation is approved, not unhidden (409).
 * Hiding a hidden incident, or showing a visible one, changes and records nothing.
 */
export async function setIncidentHidden(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  hidden: boolean,
  reason: string | null,
): Promise<Incident> {
  const row = await db.transaction(async (tx) => {
    const current = await findVisible(tx, ctx.actor, idOrReference, true);
    if (!policy.canHideContent(ctx.actor, facts(current))) throw refusal(ctx.actor);
    if (!hidden && current.pending_approval) throw new AppError('conflict', 'error.pending_approval.detail');
    if (current.hidden === hidden) return current;
    const why = trimmed(reason);
    await setHidden(tx, current.id, hidden);
    await appendEvents(tx, [
      {
        incidentId: current.id,
        type: hidden ? 'hidden' : 'unhidden',
        actorId: ctx.actor.userId,
        data: { reason: why },
        internal: true,
      },
    ]);
    await record(tx, ctx, {
      action: hidden ? 'incident.hide' : 'incident.unhide',
      targetType: 'incident',
      targetId: current.id,
      communityId: current.community_id,
      incidentId: current.id,
      reason: why,
    });
    await enqueue(tx, 'incident.updated.v1', { incidentId: current.id, changes: [hidden ? 'hidden' : 'unhidden'] });
    return reload(tx, current.id);
  });
  return presentIncident(row, ctx.actor, ctx.lang);
}

// ---------------------------------------------------------------------------------------------
// Pre-moderation

/**
 * Decides on a report held by pre-moderation. Approving publishes it (it was hidden only because
 * it was held); rejecting keeps it hidden for good and moves it to `rejected` where its status
 * allows. The reporter's timeline says which; the reason stays with staff.
 */
export async function decideApproval(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  decision: 'approve' | 'reject',
  reason: string | null,
): Promise<Incident> {
  const row = await db.transaction(async (tx) => {
    const current = await findVisible(tx, ctx.actor, idOrReference, true);
    if (!policy.canDecideApproval(ctx.actor, facts(current))) throw refusal(ctx.actor);
    if (!current.pending_approval) throw new AppError('conflict', 'error.not_pending.detail');
    const why = trimmed(reason);
    const approve = decision === 'approve';
    const events: TimelineEventInsert[] = [
      { incidentId: current.id, type: approve ? 'approved' : 'approval_rejected', actorId: ctx.actor.userId, data: {} },
    ];
    const status = !approve && STATUS_MOVES[current.status].includes('rejected') ? 'rejected' : current.status;
    await repo.settleApproval(tx, current.id, { hidden: !approve, status });
    if (status !== current.status) {
      events.push({
        incidentId: current.id,
        type: 'status_changed',
        actorId: ctx.actor.userId,
        data: { from: current.status, to: 'rejected' },
      });
    }
    await appendEvents(tx, events);
    await record(
      tx,
      ctx,
      {
        action: approve ? 'incident.approve' : 'incident.reject',
        targetType: 'incident',
        targetId: current.id,
        communityId: current.community_id,
        incidentId: current.id,
        reason: why,
      },
      status === current.status ? {} : { status: { from: current.status, to: status } },
    );
    await enqueue(tx, 'incident.updated.v1', { incidentId: current.id, changes: events.map((e) => e.type) });
    // held reports were not forwarded when made: an approved one goes now, a rejected one never
    if (approve && current.authority_id) {
      const kind = await repo.authorityDeliveryKind(tx, current.authority_id);
      if (kind !== null && kind !== 'none') {
        await enqueueForward(tx, { incidentId: current.id, authorityId: current.authority_id });
      }
    }
    return reload(tx, current.id);
  });
  return presentIncident(row, ctx.actor, ctx.lang);
}

/** The queue: held reports of the communities the caller moderates (admins: all), oldest first. */
export async function listPending(
  db: Database,
  ctx: RequestContext,
  query: PendingQuery,
): Promise<{ items: Incident[]; nextCursor: string | null }> {
  const communityId = query.communityId?.toLowerCase() ?? null;
  if (!policy.canReadHistory(ctx.actor, communityId)) throw refusal(ctx.actor);
  const communityIds = communityId ? [communityId] : isAdmin(ctx.actor) ? null : policy.moderatedCommunities(ctx.actor);
  let after: [string, string] | null = null;
  if (query.cursor !== undefined) {
    const key = decodeCursor(query.cursor, 'createdAt');
    if (!key) throw invalidField('/query/cursor', 'validation.cursor');
    after = [String(key[0]), String(key[1])];
  }
  const limit = query.limit ?? 50;
  const rows = await repo.listPending(db, { communityIds, after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor('createdAt', [last.created_at, last.id]) : null;
  return { items: page.map((r) => presentIncident(r, ctx.actor, ctx.lang)), nextCursor };
}

// ---------------------------------------------------------------------------------------------
// Redaction

/** Characters as people count them (code points), like the schemas' lengths. */
const length = (text: string): number => [...text].length;

/**
 * Replaces the title or description of an incident for good. The old words are not kept
 * anywhere: not in the row, the timeline (which names the field only), the audit trail (the
 * reason and lengths only: the trail is append-only, so words written there could never be
 * removed), nor in stored Idempotency-Key answers. An admin who needs the original has none;
 * that is the point of redacting rather than hiding.
 */
export async function redactIncident(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  input: IncidentRedaction,
): Promise<Incident> {
  const text = input.field === 'title' ? input.text.trim() : input.text;
  if (input.field === 'title') {
    if (length(text) < 3) throw invalidField('/body/text', 'validation.min_length', { limit: 3 });
    if (length(text) > 255) throw invalidField('/body/text', 'validation.max_length', { limit: 255 });
  }
  const row = await db.transaction(async (tx) => {
    const current = await findVisible(tx, ctx.actor, idOrReference, true);
    if (!policy.canRedact(ctx.actor, facts(current))) throw refusal(ctx.actor);
    await repo.redactIncidentText(tx, current.id, input.field, text);
    await repo.redactStoredIncidentResponses(tx, current.id, input.field, text);
    await appendEvents(tx, [
      { incidentId: current.id, type: 'redacted', actorId: ctx.actor.userId, data: { field: input.field } },
    ]);
    await record(
      tx,
      ctx,
      {
        action: 'incident.redact',
        targetType: 'incident',
        targetId: current.id,
        communityId: current.community_id,
        incidentId: current.id,
        reason: input.reason.trim(),
      },
      { field: input.field, oldLength: length(current[input.field]), newLength: length(text) },
    );
    await enqueue(tx, 'incident.updated.v1', { incidentId: current.id, changes: ['redacted'] });
    return reload(tx, current.id);
  });
  return presentIncident(row, ctx.actor, ctx.lang);
}

/** Replaces the body of a comment (or internal note) for good; the same rules as an incident's words. */
export async function redactComment(
  db: Database,
  ctx: RequestContext,
  idOrReference: string,
  eventId: string,
  input: CommentRedaction,
): Promise<TimelineItem> {
  const text = input.text.trim();
  if (text === '') throw invalidField('/body/text', 'validation.blank');
  const { incident, event } = await db.transaction(async (tx) => {
    const incident = await findVisible(tx, ctx.actor, idOrReference);
    const comment = await findEvent(tx, incident.id, eventId, true);
    // an internal note is no more there than a missing one for those who may not read notes
    const readable =
      comment !== null &&
      (comment.type === COMMENT || (comment.type === INTERNAL_NOTE && canSeeInternalNotes(ctx.actor, facts(incident))));
    if (!readable) throw notFound('error.comment_not_found.detail', { id: eventId });
    if (!policy.canRedact(ctx.actor, facts(incident))) throw refusal(ctx.actor);
    const commentId = String(comment.id);
    const oldBody = typeof comment.data.body === 'string' ? comment.data.body : '';
    await repo.redactCommentBody(tx, commentId, text);
    await repo.redactStoredCommentResponses(tx, commentId, text);
    await appendEvents(tx, [
      {
        incidentId: incident.id,
        type: 'comment_redacted',
        actorId: ctx.actor.userId,
        data: { commentId },
        internal: comment.internal,
      },
    ]);
    await record(
      tx,
      ctx,
      {
        action: 'comment.redact',
        targetType: 'comment',
        targetId: commentId,
        communityId: incident.community_id,
        incidentId: incident.id,
        reason: input.reason.trim(),
      },
      { oldLength: length(oldBody), newLength: length(text) },
    );
    const updated = await findEvent(tx, incident.id, commentId);
    if (!updated) throw new Error('comment vanished inside its own transaction');
    return { incident, event: updated };
  });
  return presentTimelineEvent(event, incident, ctx.actor);
}

// ---------------------------------------------------------------------------------------------
// Media

/**
 * Keeps a file from the public (staff and its uploader still see it, marked hidden), or shows it
 * again. The timeline says so without the reason, as for comments. No change, nothing recorded.
 */
export async function setMediaHidden(
  deps: MediaDeps,
  ctx: RequestContext,
  idOrReference: string,
  mediaId: string,
  hidden: boolean,
  reason: string | null,
): Promise<MediaItem> {
  const { row, incident } = await deps.db.transaction(async (tx) => {
    const incident = await findVisible(tx, ctx.actor, idOrReference);
    const media = await findInIncident(tx, incident.id, mediaId, true);
    const seen =
      media !== null &&
      (media.hidden_at === null ||
        policy.canSeeHiddenMedia(ctx.actor, facts(incident), { uploaderId: media.uploader_id }));
    if (!seen) throw notFound('error.media_not_found.detail', { id: mediaId });
    if (!policy.canHideContent(ctx.actor, facts(incident))) throw refusal(ctx.actor);
    if ((media.hidden_at !== null) === hidden) return { row: media, incident };
    const why = trimmed(reason);
    await repo.setMediaHidden(
      tx,
      media.id,
      hidden ? { hidden: true, by: ctx.actor.userId, reason: why ?? '' } : { hidden: false },
    );
    await appendEvents(tx, [
      {
        incidentId: incident.id,
        type: hidden ? 'media_hidden' : 'media_unhidden',
        actorId: ctx.actor.userId,
        data: { mediaId: media.id },
      },
    ]);
    await record(tx, ctx, {
      action: hidden ? 'media.hide' : 'media.unhide',
      targetType: 'media',
      targetId: media.id,
      communityId: incident.community_id,
      incidentId: incident.id,
      reason: why,
    });
    const updated = await findInIncident(tx, incident.id, media.id);
    if (!updated) throw new Error('media vanished inside its own transaction');
    return { row: updated, incident };
  });
  return presentMedia(
    row,
    deps.storage,
    deps.config.urlTtlSeconds,
    ctx.actor,
    policy.canSeeHideReason(ctx.actor, facts(incident)),
  );
}

// ---------------------------------------------------------------------------------------------
// Bans: the accounts module's own functions (shared with the CLI), plus the history

export interface BanDeps {
  db: Database;
  userState: UserStateCache;
}

const apiOrigin = (ctx: RequestContext): BanOrigin => ({
  actorId: ctx.actor.userId,
  via: 'api',
  requestId: ctx.requestId,
  ip: ctx.clientAddress,
});

export async function setUserBanned(
  deps: BanDeps,
  ctx: RequestContext,
  userId: string,
  banned: boolean,
  reason: string | null,
): Promise<BanResult> {
  if (!policy.canManageBans(ctx.actor)) throw refusal(ctx.actor);
  const id = userId.toLowerCase();
  const why = trimmed(reason);
  const result = await deps.db.transaction(async (tx) => {
    const user = await repo.findUserForBan(tx, id);
    if (!user) throw notFound('error.user_not_found.detail', { id: userId });
    const outcome = await setBanned(tx, id, banned, why, apiOrigin(ctx));
    await repo.recordModerationAction(tx, {
      actorId: ctx.actor.userId,
      action: banned ? 'user.ban' : 'user.unban',
      targetType: 'user',
      targetId: id,
      communityId: null,
      incidentId: null,
      reason: why,
    });
    return outcome;
  });
  // this node at once; the others within the cache's lifetime (their token epochs moved already)
  deps.userState.forget(id);
  return { userId: id, banned, hiddenReports: result.hiddenReports };
}

export async function listBans(
  db: Database,
  ctx: RequestContext,
  query: BanListQuery,
): Promise<{ items: BanEntry[]; nextCursor: string | null }> {
  if (!policy.canManageBans(ctx.actor)) throw refusal(ctx.actor);
  let after: [string, string] | null = null;
  if (query.cursor !== undefined) {
    const key = decodeCursor(query.cursor, '-createdAt');
    if (!key) throw invalidField('/query/cursor', 'validation.cursor');
    after = [String(key[0]), String(key[1])];
  }
  const limit = query.limit ?? 50;
  const rows = await repo.listBanList(db, { after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor('-createdAt', [last.created_at, last.id]) : null;
  return { items: page.map(presentBanEntry), nextCursor };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DOMAIN = /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Adds an email or domain to the ban list; `created` is false when it was on it already. */
export async function addBan(
  db: Database,
  ctx: RequestContext,
  input: BanEntryCreate,
): Promise<{ created: boolean; body: BanEntryCreated }> {
  if (!policy.canManageBans(ctx.actor)) throw refusal(ctx.actor);
  const value = normalizeBanValue(input.value);
  if (!(input.kind === 'email' ? EMAIL : DOMAIN).test(value)) {
    throw invalidField('/body/value', input.kind === 'email' ? 'validation.ban_email' : 'validation.ban_domain');
  }
  const why = trimmed(input.reason);
  return db.transaction(async (tx) => {
    const outcome = await changeBanList(tx, 'add', { kind: input.kind, value, reason: why }, apiOrigin(ctx));
    const entry = await repo.findBanListEntry(tx, { kind: input.kind, value });
    if (!entry) throw new Error('ban list entry vanished inside its own transaction');
    if (outcome.changed) {
      await repo.recordModerationAction(tx, {
        actorId: ctx.actor.userId,
        action: 'banlist.add',
        targetType: 'ban_list',
        targetId: banListTargetId(input.kind, value),
        communityId: null,
        incidentId: null,
        reason: why,
      });
    }
    return { created: outcome.changed, body: { ...presentBanEntry(entry), hiddenReports: outcome.hiddenReports } };
  });
}

export async function removeBan(db: Database, ctx: RequestContext, id: string): Promise<void> {
  if (!policy.canManageBans(ctx.actor)) throw refusal(ctx.actor);
  await db.transaction(async (tx) => {
    const entry = await repo.findBanListEntry(tx, { id: id.toLowerCase() });
    if (!entry) throw notFound('error.ban_entry_not_found.detail', { id });
    await changeBanList(tx, 'remove', { kind: entry.kind, value: entry.value, reason: null }, apiOrigin(ctx));
    await repo.recordModerationAction(tx, {
      actorId: ctx.actor.userId,
      action: 'banlist.remove',
      targetType: 'ban_list',
      targetId: banListTargetId(entry.kind, entry.value),
      communityId: null,
      incidentId: null,
      reason: null,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The history

/**
 * Newest first. Admins read all of it (bans and ban list changes included, which belong to no
 * community); a moderator reads the history of the communities they moderate. An incident
 * filter names an incident the caller may see (404 otherwise) and must moderate (403).
 */
export async function listHistory(db: Database, ctx: RequestContext, query: HistoryQuery): Promise<ModerationHistory> {
  const communityId = query.communityId?.toLowerCase() ?? null;
  if (!policy.canReadHistory(ctx.actor, communityId)) throw refusal(ctx.actor);
  let incidentId: string | null = null;
  if (query.incidentId !== undefined) {
    const incident = await findVisible(db, ctx.actor, query.incidentId);
    if (!policy.isModeratorOf(ctx.actor, incident.community_id)) throw refusal(ctx.actor);
    incidentId = incident.id;
  }
  let beforeId: string | null = null;
  if (query.cursor !== undefined) {
    beforeId = decodeAuditCursor(query.cursor);
    if (beforeId === null) throw invalidField('/query/cursor', 'validation.cursor');
  }
  const communityIds = communityId ? [communityId] : isAdmin(ctx.actor) ? null : policy.moderatedCommunities(ctx.actor);
  const limit = query.limit ?? 50;
  const rows = await repo.listModerationActions(db, {
    // an incident's history is its own, whichever community it was in when acted on
    communityIds: incidentId !== null && communityId === null ? null : communityIds,
    incidentId,
    action: query.action ?? null,
    beforeId,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(presentModerationAction),
    nextCursor: rows.length > limit && last ? encodeAuditCursor(last.id) : null,
  };
}
