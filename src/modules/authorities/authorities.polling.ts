import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { safeRequest, type OutboundPolicy } from '../../platform/outbound/safe-http.js';
import { applyUpdate, type AuthorityUpdate } from './authorities.inbound.js';
import { listAuthorities, type AuthorityRow } from './authorities.repository.js';

export const POLL_JOB = 'authority.poll-updates.v1';
const POLL_EVERY_MS = 5 * 60 * 1000;
/** the first poll of an authority looks this far back */
const FIRST_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Authorities that speak Open311 are asked for their servicerequestupdates (mySociety's
 * extension) every five minutes, from where the last poll left off; what they say moves our
 * incidents exactly as their pushed updates do (authorities.inbound.ts), once per update_id.
 */
export function registerUpdatePolling(jobs: JobRunner, db: Database, policy: OutboundPolicy, log: JobLogger): void {
  jobs.register({
    name: POLL_JOB,
    async handle() {
      for (const authority of await listAuthorities(db)) {
        if (!authority.enabled || authority.delivery.kind !== 'open311') continue;
        try {
          const applied = await pollAuthority(db, authority, policy, log);
          if (applied > 0) log.info({ authorityId: authority.id, applied }, 'authority updates applied');
        } catch (err) {
          log.warn(
            { authorityId: authority.id, err: { message: (err as Error).message } },
            'polling an authority failed',
          );
        }
      }
    },
  });
  jobs.every(POLL_JOB, POLL_EVERY_MS);
}

/** One authority: their updates since the last poll; returns how many changed something. */
export async function pollAuthority(
  db: Database,
  authority: AuthorityRow,
  policy: OutboundPolicy,
  log: JobLogger,
  now = new Date(),
): Promise<number> {
  if (authority.delivery.kind !== 'open311') return 0;
  const { rows } = await db.query<{ polled: Date | null }>({
    text: 'SELECT updates_polled_at AS polled FROM authorities WHERE id = $1',
    values: [authority.id],
  });
  const since = rows[0]?.polled ?? new Date(now.getTime() - FIRST_WINDOW_MS);
  const url = new URL(`${authority.delivery.endpoint.replace(/\/+$/, '')}/servicerequestupdates.json`);
  url.searchParams.set('api_key', authority.delivery.apiKey);
  url.searchParams.set('start_date', since.toISOString());
  url.searchParams.set('end_date', now.toISOString());
  if (authority.delivery.jurisdictionId) url.searchParams.set('jurisdiction_id', authority.delivery.jurisdictionId);
  const res = await safeRequest(url.toString(), { method: 'GET', headers: { accept: 'application/json' } }, policy);
  if (res.status !== 200) throw new Error(`their servicerequestupdates answered ${res.status}`);
  const updates = parseUpdates(res.body);

  let applied = 0;
  for (const update of updates) {
    try {
      const result = await applyUpdate(db, authority, update);
      if (!result.duplicate) applied += 1;
    } catch (err) {
      // one bad update (a request we never sent them, a status we do not know) skips only itself
      log.warn(
        { authorityId: authority.id, updateId: update.update_id, err: { message: (err as Error).message } },
        'authority update skipped',
      );
    }
  }
  await db.query({ text: 'UPDATE authorities SET updates_polled_at = $2 WHERE id = $1', values: [authority.id, now] });
  return applied;
}

function parseUpdates(body: Buffer): AuthorityUpdate[] {
  const parsed = JSON.parse(body.toString('utf8')) as unknown;
  // GeoReport answers are arrays; some servers wrap them ({service_request_updates: [...]})
  const list = Array.isArray(parsed)
    ? parsed
    : ((parsed as Record<string, unknown>)?.service_request_updates ??
      (parsed as Record<string, unknown>)?.service_requests_updates);
  if (!Array.isArray(list)) throw new Error('their servicerequestupdates is not a list');
  const out: AuthorityUpdate[] = [];
  for (const item of list as Array<Record<string, unknown>>) {
    const id = item.update_id;
    const request = item.service_request_id;
    const status = item.status;
    if (
      (typeof id !== 'string' && typeof id !== 'number') ||
      (typeof request !== 'string' && typeof request !== 'number')
    )
      continue;
    if (typeof status !== 'string') continue;
    out.push({
      update_id: String(id).slice(0, 200),
      service_request_id: String(request).slice(0, 200),
      status: status.slice(0, 64),
      ...(typeof item.description === 'string' && item.description !== ''
        ? { description: item.description.slice(0, 4000) }
        : {}),
    });
  }
  return out;
}
