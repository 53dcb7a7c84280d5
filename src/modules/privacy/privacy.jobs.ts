import type { Database } from '../../platform/db/database.js';
import { backoffSeconds, GiveUp, type JobLogger, type JobRunner } from '../../platform/jobs/jobs.js';
import {
  OutboundFailed,
  OutboundRefused,
  safeRequest,
  type OutboundPolicy,
} from '../../platform/outbound/safe-http.js';
import { signWebhook } from '../../platform/outbound/standard-webhooks.js';
import { findAuthority } from '../authorities/authorities.repository.js';
import { liveSecrets } from '../authorities/authorities.secrets.js';
import { REPORTER_ERASED_JOB, runRetention } from './privacy.service.js';

const RETENTION_JOB = 'privacy.retention.v1';
const RETENTION_EVERY_MS = 24 * 3600 * 1000;

export interface PrivacyJobOptions {
  policy: OutboundPolicy;
  signingKey: Uint8Array;
  retention: { inactiveAccountYears: number; hiddenSpamDays: number };
  timeoutMs?: number;
}

/**
 * The retention rules, daily on every job runner (running twice at once is harmless: an erased
 * account leaves the query, a deleted report is gone), and the notice to authorities that a
 * reporter's data was erased: a signed Standard Webhooks event `incident.reporter_erased`, so
 * they delete what they keep about the person. It names the incident only. Open311 has no such
 * message; those authorities never received the reporter's identity (only the report).
 */
export function registerPrivacyJobs(jobs: JobRunner, db: Database, options: PrivacyJobOptions, log: JobLogger): void {
  jobs.register({
    name: RETENTION_JOB,
    async handle() {
      const result = await runRetention(db, options.retention, { dryRun: false });
      if (result.erasedAccounts > 0 || result.purgedReports > 0) log.info({ ...result }, 'retention applied');
    },
  });
  jobs.every(RETENTION_JOB, RETENTION_EVERY_MS);

  jobs.register<{ incidentId: string; authorityId: string }>({
    name: REPORTER_ERASED_JOB,
    backoff: (attempt) => Math.min(6 * 3600, 30 * backoffSeconds(attempt)),
    async handle({ incidentId, authorityId }) {
      const authority = await findAuthority(db, authorityId);
      if (!authority || authority.delivery.kind !== 'webhook') return;
      const { rows } = await db.query<{ reference: string; external_id: string | null }>({
        text: 'SELECT reference, external_id FROM incidents WHERE id = $1',
        values: [incidentId],
      });
      const payload = JSON.stringify({
        type: 'incident.reporter_erased',
        timestamp: new Date().toISOString(),
        data: {
          authority: { id: authority.id },
          incident: { id: incidentId, reference: rows[0]?.reference ?? null, externalId: rows[0]?.external_id ?? null },
        },
      });
      const headers = signWebhook(
        { id: `erased_${incidentId}_${authority.id}`, timestamp: Math.floor(Date.now() / 1000), payload },
        liveSecrets(options.signingKey, authority),
      );
      try {
        const res = await safeRequest(
          authority.delivery.url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: payload,
            timeoutMs: options.timeoutMs ?? 10_000,
          },
          options.policy,
        );
        if (res.status === 410) throw new GiveUp('their endpoint answered 410 Gone');
        if (res.status < 200 || res.status >= 300) throw new Error(`their endpoint answered ${res.status}`);
      } catch (err) {
        if (err instanceof OutboundRefused) throw new GiveUp(`refused by the outbound policy: ${err.message}`);
        if (err instanceof OutboundFailed) throw new Error(err.message);
        throw err;
      }
    },
  });
}
