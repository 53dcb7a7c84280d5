import type { Queryable } from '../../platform/db/database.js';

export interface StoredResponse {
  request_hash: string;
  status_code: number;
  response: unknown;
  headers: Record<string, string>;
}

/**
 * Claims (scope, key) inside the caller's transaction. If another transaction holds the same key
 * uncommitted, Postgres makes this wait for it, so two racing requests cannot both create.
 * Returns true when the key is ours; false when it was used before (see findResponse).
 */
export async function claimKey(tx: Queryable, scope: string, key: string, requestHash: string): Promise<boolean> {
  const { rows } = await tx.query({
    name: 'idempotency.claim',
    text: `INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response)
           VALUES ($1, $2, $3, 0, 'null'::jsonb)
           ON CONFLICT (scope, key) DO NOTHING
           RETURNING 1`,
    values: [scope, key, requestHash],
  });
  return rows.length > 0;
}

export async function saveResponse(
  tx: Queryable,
  scope: string,
  key: string,
  status: number,
  response: unknown,
  headers: Record<string, string>,
): Promise<void> {
  await tx.query({
    name: 'idempotency.save',
    text: `UPDATE idempotency_keys SET status_code = $3, response = $4, headers = $5 WHERE scope = $1 AND key = $2`,
    values: [scope, key, status, JSON.stringify(response), JSON.stringify(headers)],
  });
}

export async function findResponse(db: Queryable, scope: string, key: string): Promise<StoredResponse | null> {
  const { rows } = await db.query<StoredResponse>({
    name: 'idempotency.find',
    text: 'SELECT request_hash, status_code, response, headers FROM idempotency_keys WHERE scope = $1 AND key = $2',
    values: [scope, key],
  });
  return rows[0] ?? null;
}

/** Keys are kept for a day: long enough for any client retry. */
export async function deleteExpired(db: Queryable): Promise<number> {
  const { rowCount } = await db.query({
    text: `DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`,
  });
  return rowCount;
}
