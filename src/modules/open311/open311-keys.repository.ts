import type { Queryable } from '../../platform/db/database.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  /** a key an authority uses to push status updates back */
  authority_id: string | null;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, authority_id, key_prefix, created_at, revoked_at, last_used_at';

export async function insertKey(
  tx: Queryable,
  v: { name: string; hash: string; prefix: string; authorityId: string | null },
): Promise<ApiKeyRow> {
  const { rows } = await tx.query<ApiKeyRow>({
    text: `INSERT INTO open311_keys (name, key_hash, key_prefix, authority_id) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    values: [v.name, v.hash, v.prefix, v.authorityId],
  });
  return rows[0]!;
}

/** The live key with this hash; marks it used (at most once a minute, to spare the writes). */
export async function useKey(db: Queryable, hash: string): Promise<ApiKeyRow | null> {
  const { rows } = await db.query<ApiKeyRow>({
    name: 'open311.keys.use',
    text: `WITH k AS (SELECT ${COLUMNS} FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL),
           touched AS (
             UPDATE open311_keys o SET last_used_at = now() FROM k
             WHERE o.id = k.id AND (o.last_used_at IS NULL OR o.last_used_at < now() - interval '1 minute')
           )
           SELECT * FROM k`,
    values: [hash],
  });
  return rows[0] ?? null;
}

export async function listKeys(db: Queryable): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>({
    text: `SELECT ${COLUMNS} FROM open311_keys ORDER BY created_at, id`,
  });
  return rows;
}

export async function revokeKey(tx: Queryable, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await tx.query<ApiKeyRow>({
    text: `UPDATE open311_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id],
  });
  return rows[0] ?? null;
}
