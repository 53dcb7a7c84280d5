import type { Database } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { t } from '../../i18n/i18n.js';
import * as policy from './incidents.policy.js';
import { presentIncident } from './incidents.presenter.js';
import { normalizeReference } from './incidents.references.js';
import * as repo from './incidents.repository.js';
import { applyChange, facts, type RequestContext } from './incidents.service.js';
import type { BulkItemResult, BulkRequest, BulkResult } from './incidents.bulk.schemas.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One action on many incidents, in one transaction. Each item goes through the PATCH code path
 * (`applyChange`: policy, status moves, timeline, audit, job) inside its own savepoint, so an item
 * that fails leaves nothing behind and does not stop the others. The rows are locked up front in
 * id order, so two bulk requests over overlapping incidents wait for each other, never deadlock.
 *
 * Signed out is a 401 and signed in without any staff role a 403 for the whole request (nothing
 * could succeed, and nothing is revealed); otherwise each item answers for itself: 404 for an
 * incident that does not exist or the actor may not see, 403 for one outside the actor's
 * communities, 409 for a status move the incident cannot make (or a write an integrity constraint
 * refused), 400 for an unknown assignee.
 */
export async function bulkUpdate(db: Database, ctx: RequestContext, input: BulkRequest): Promise<BulkResult> {
  const { actor, lang } = ctx;
  if (actor.userId === null) throw new AppError('unauthorized', 'error.unauthorized.detail');
  if (actor.roles.length === 0) throw new AppError('forbidden', 'error.forbidden.detail');

  return db.transaction(async (tx) => {
    const references = new Map<string, string>();
    for (const given of input.ids) {
      if (UUID.test(given)) continue;
      const reference = normalizeReference(given);
      if (reference) references.set(given, reference);
    }
    const idOfReference = await repo.idsByReferences(tx, [...new Set(references.values())]);
    const target = (given: string): string | null => {
      if (UUID.test(given)) return given.toLowerCase();
      const reference = references.get(given);
      return reference === undefined ? null : (idOfReference.get(reference) ?? null);
    };
    const wanted = [...new Set(input.ids.map(target).filter((id): id is string => id !== null))];
    const locked = await repo.lockIncidents(tx, wanted);
    const rows = new Map((await repo.findIncidentsByIds(tx, locked)).map((row) => [row.id, row]));

    const results: BulkItemResult[] = [];
    const failed = (given: string, error: AppError): BulkItemResult => ({
      id: given,
      ok: false,
      status: error.status,
      error: message(error),
    });
    const message = (error: AppError): string => {
      const detail = t(lang, error.detail, error.params);
      const fields = error.fields.map((f) => `${f.path.split('/').pop() ?? ''}: ${t(lang, f.message, f.params)}`);
      return [detail, ...fields].join(' ');
    };

    for (const given of input.ids) {
      const id = target(given);
      const current = id === null ? undefined : rows.get(id);
      if (current === undefined || !policy.canView(actor, facts(current))) {
        results.push(failed(given, notFound('error.incident_not_found.detail', { id: given })));
        continue;
      }
      await tx.query({ text: 'SAVEPOINT bulk_item' });
      try {
        const updated = await applyChange(tx, ctx, current, input.action);
        await tx.query({ text: 'RELEASE SAVEPOINT bulk_item' });
        // the same incident named twice (by id and by reference) sees the first change
        rows.set(updated.id, updated);
        results.push({ id: given, ok: true, incident: presentIncident(updated, actor, lang) });
      } catch (error) {
        const refused = error instanceof AppError ? error : integrityRefusal(error);
        if (refused === null) throw error;
        await tx.query({ text: 'ROLLBACK TO SAVEPOINT bulk_item' });
        await tx.query({ text: 'RELEASE SAVEPOINT bulk_item' });
        results.push(failed(given, refused));
      }
    }
    return { results, applied: results.filter((r) => r.ok).length };
  });
}

/**
 * An integrity constraint (SQLSTATE class 23) refusing one item's write, e.g. an assignee deleted
 * between the check and the update: that item fails with a 409 and its savepoint undoes what it
 * had written so far; the transaction stays usable for the others. Anything else fails the request.
 */
function integrityRefusal(error: unknown): AppError | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^23[0-9A-Z]{3}$/.test(code)
    ? new AppError('conflict', 'error.write_refused.detail')
    : null;
}
