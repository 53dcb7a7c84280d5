import { hkdfSync } from 'node:crypto';
import type { Queryable } from '../../platform/db/database.js';
import type { AuthorityRow } from './authorities.repository.js';

/**
 * Each authority's webhook secret (`whsec_…`) is derived from the server's key, the authority's
 * id and a version: every node signs and verifies alike and nothing secret is stored. Rotating
 * bumps the version; the previous secret stays valid for OVERLAP_HOURS so the authority can switch
 * without dropping a message (Standard Webhooks: several signatures in one header).
 */
export const OVERLAP_HOURS = 24;

export function webhookSecret(signingKey: Uint8Array, authorityId: string, version = 1): string {
  // version 1 keeps the info string it was first derived with
  const info = version === 1 ? 'buurtwag authority webhooks v1' : `buurtwag authority webhooks v1#${version}`;
  return `whsec_${Buffer.from(hkdfSync('sha256', signingKey, authorityId, info, 32)).toString('base64')}`;
}

/**
 * The secrets that sign and verify right now for a subject (an authority's id, or
 * `webhook:<id>` for a general webhook): the current one, and the previous during the overlap.
 */
export function secretsFor(
  signingKey: Uint8Array,
  subject: string,
  version: number,
  previousUntil: Date | string | null,
  now = new Date(),
): string[] {
  const secrets = [webhookSecret(signingKey, subject, version)];
  if (version > 1 && previousUntil && new Date(previousUntil).getTime() > now.getTime()) {
    secrets.push(webhookSecret(signingKey, subject, version - 1));
  }
  return secrets;
}

/** An authority's live secrets (secretsFor). */
export function liveSecrets(
  signingKey: Uint8Array,
  authority: Pick<AuthorityRow, 'id' | 'webhook_secret_version' | 'webhook_previous_until'>,
  now = new Date(),
): string[] {
  return secretsFor(
    signingKey,
    authority.id,
    authority.webhook_secret_version ?? 1,
    authority.webhook_previous_until,
    now,
  );
}

export async function rotateSecret(
  tx: Queryable,
  authorityId: string,
): Promise<AuthorityRow['webhook_secret_version'] | null> {
  const { rows } = await tx.query<{ version: number }>({
    text: `UPDATE authorities SET webhook_secret_version = webhook_secret_version + 1,
                  webhook_previous_until = now() + make_interval(hours => $2), updated_at = now()
           WHERE id = $1 RETURNING webhook_secret_version AS version`,
    values: [authorityId, OVERLAP_HOURS],
  });
  return rows[0]?.version ?? null;
}
