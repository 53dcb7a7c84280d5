import type { Database } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { verifyWebhook } from '../../platform/outbound/standard-webhooks.js';
import { recordAudit } from '../audit/audit.repository.js';
import { isAdmin, refusal, type Actor } from '../identity/actor.js';
import * as incidents from '../incidents/incidents.repository.js';
import type { Status } from '../incidents/incidents.schemas.js';
import { STATUS_MOVES } from '../incidents/incidents.service.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import { liveSecrets, rotateSecret } from './authorities.secrets.js';
import { findAuthority, type AuthorityRow } from './authorities.repository.js';

/**
 * Status updates pushed back by an authority, as a Standard Webhooks request signed with the
 * same per-authority secret Buurtwag signs its forwards with. An update names the incident (our
 * id or reference, or their own id for it) and a status in their words (GeoReport v2 and
 * mySociety's extended states, or ours); it moves the incident there along the allowed status
 * moves and lands on the timeline. The same `update_id` twice changes nothing.
 */
export interface AuthorityUpdate {
  update_id: string;
  /** our id or reference, or their service_request_id (what we stored when forwarding) */
  service_request_id: string;
  status: string;
  description?: string;
  updated_datetime?: string;
}

/** Their words for where an incident is, to ours. `open` and friends mean "no change". */
const STATUS_WORDS: Readonly<Record<string, Status | null>> = {
  open: null,
  reported: null,
  acknowledged: 'acknowledged',
  investigating: 'acknowledged',
  action_scheduled: 'in_progress',
  in_progress: 'in_progress',
  fixed: 'resolved',
  resolved: 'resolved',
  closed: 'closed',
  rejected: 'rejected',
  no_further_action: 'rejected',
  not_councils_responsibility: 'rejected',
  duplicate: 'duplicate',
};

export interface InboundResult {
  duplicate: boolean;
  status: Status;
}

export async function receiveUpdate(
  db: Database,
  signingKey: Uint8Array,
  authorityId: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawBody: string,
  update: AuthorityUpdate,
): Promise<InboundResult> {
  const authority = await findAuthority(db, authorityId);
  // an unknown authority and a bad signature answer alike: nothing to learn from probing
  if (!authority || !verifyWebhook(headers, rawBody, liveSecrets(signingKey, authority))) {
    throw new AppError('unauthorized', 'error.webhook_signature.detail');
  }
  return applyUpdate(db, authority, update);
}

/**
 * One status update from an authority, however it came (a signed webhook, a POST of
 * servicerequestupdates with the authority's Open311 key, or Buurtwag polling theirs).
 */
export async function applyUpdate(
  db: Database,
  authority: Pick<AuthorityRow, 'id' | 'name'>,
  update: AuthorityUpdate,
): Promise<InboundResult> {
  const wanted = STATUS_WORDS[update.status.toLowerCase()];
  if (wanted === undefined)
    throw new AppError('bad_request', 'error.authority_status.detail', { status: update.status });

  return db.transaction(async (tx) => {
    const { rows: matched } = await tx.query<{ id: string }>({
      text: `SELECT id FROM incidents
             WHERE authority_id = $1 AND (id::text = lower($2) OR reference = upper($2) OR external_id = $2)
             FOR UPDATE`,
      values: [authority.id, update.service_request_id],
    });
    const incidentId = matched[0]?.id;
    if (!incidentId) throw notFound('error.incident_not_found.detail', { id: update.service_request_id });
    const current = (await incidents.findIncidentById(tx, incidentId))!;

    const { rowCount: fresh } = await tx.query({
      text: `INSERT INTO authority_updates (authority_id, update_id, incident_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING`,
      values: [authority.id, update.update_id, incidentId],
    });
    if (fresh === 0) return { duplicate: true, status: current.status };

    const target = wanted ?? current.status;
    if (target !== current.status && !reachable(current.status, target)) {
      throw new AppError('conflict', 'error.bad_transition.detail', { from: current.status, to: target });
    }
    if (target !== current.status) {
      await incidents.updateIncident(tx, incidentId, {
        status: target,
        priority: current.priority,
        assigneeId: current.assignee_id,
        categoryId: current.category_id,
        isPublic: current.is_public,
      });
    }
    await appendEvents(tx, [
      {
        incidentId,
        type: target !== current.status ? 'status_changed' : 'authority_update',
        actorId: null,
        data: {
          ...(target !== current.status ? { from: current.status, to: target } : {}),
          authority: { id: authority.id, name: authority.name },
          updateId: update.update_id,
          ...(update.description ? { note: update.description.slice(0, 4000) } : {}),
        },
      },
    ]);
    await recordAudit(tx, {
      actorId: null,
      action: 'incident.authority_update',
      entityType: 'incident',
      entityId: incidentId,
      data: { authorityId: authority.id, updateId: update.update_id, status: update.status },
      before: { status: current.status },
      after: { status: target },
    });
    if (target !== current.status) {
      await enqueue(tx, 'incident.updated.v1', { incidentId, changes: ['status'] });
    }
    return { duplicate: false, status: target };
  });
}

/** The webhook secrets of an authority, for its admins to configure both ends; audited. */
export async function revealSecret(
  db: Database,
  signingKey: Uint8Array,
  ctx: { actor: Actor; requestId: string; clientAddress: string },
  authorityId: string,
  rotate = false,
): Promise<{ secret: string; previous: { secret: string; validUntil: string } | null }> {
  if (!isAdmin(ctx.actor)) throw refusal(ctx.actor);
  return db.transaction(async (tx) => {
    if (rotate && (await rotateSecret(tx, authorityId)) === null) throw notFound();
    const authority = await findAuthority(tx, authorityId);
    if (!authority) throw notFound();
    await recordAudit(tx, {
      actorId: ctx.actor.userId,
      action: rotate ? 'authority.webhook_secret.rotate' : 'authority.webhook_secret.read',
      entityType: 'authority',
      entityId: authority.id,
      data: { version: authority.webhook_secret_version },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    const [secret, previous] = liveSecrets(signingKey, authority);
    return {
      secret: secret!,
      previous:
        previous && authority.webhook_previous_until
          ? { secret: previous, validUntil: new Date(authority.webhook_previous_until).toISOString() }
          : null,
    };
  });
}

/** Can the status get from `from` to `to` through the allowed moves (authorities skip steps)? */
function reachable(from: Status, to: Status): boolean {
  const seen = new Set<Status>([from]);
  const queue: Status[] = [from];
  while (queue.length > 0) {
    for (const next of STATUS_MOVES[queue.shift()!]) {
      if (next === to) return true;
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}
