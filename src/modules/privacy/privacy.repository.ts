import type { Queryable } from '../../platform/db/database.js';
import type { AuditRow } from '../audit/audit.repository.js';
import { banListTargetId } from '../accounts/ban-list.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';

/** All SQL of the privacy module: export reads, erasure writes, consents, retention queries. */

// ---------------------------------------------------------------------------------------------
// Consents

export interface ConsentRow {
  kind: 'terms';
  version: string;
  explicit: boolean;
  created_at: Date;
}

export async function insertConsent(
  tx: Queryable,
  consent: { userId: string; version: string; explicit: boolean },
): Promise<void> {
  await tx.query({
    text: `INSERT INTO consents (user_id, kind, version, explicit) VALUES ($1, 'terms', $2, $3)`,
    values: [consent.userId, consent.version, consent.explicit],
  });
}

export async function listConsents(db: Queryable, userId: string): Promise<ConsentRow[]> {
  const { rows } = await db.query<ConsentRow>({
    text: `SELECT kind, version, explicit, created_at FROM consents WHERE user_id = $1 ORDER BY created_at, id`,
    values: [userId],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Export links

export async function insertExport(
  tx: Queryable,
  row: { userId: string; tokenHash: Buffer; expiresAt: Date },
): Promise<void> {
  await tx.query({
    text: `INSERT INTO privacy_exports (user_id, token_hash, expires_at) VALUES ($1, $2, $3)`,
    values: [row.userId, row.tokenHash, row.expiresAt],
  });
}

/** Links past their time: nothing can use them any more. */
export async function deleteExpiredExports(db: Queryable, before: Date): Promise<number> {
  const { rowCount } = await db.query({ text: 'DELETE FROM privacy_exports WHERE expires_at < $1', values: [before] });
  return rowCount;
}

/** Spends a link: the owner's id when it is unused, unexpired and the account not erased. */
export async function spendExport(tx: Queryable, tokenHash: Buffer, now: Date): Promise<string | null> {
  const { rows } = await tx.query<{ user_id: string }>({
    text: `UPDATE privacy_exports x SET used_at = $2
           FROM users u
           WHERE x.token_hash = $1 AND x.used_at IS NULL AND x.expires_at > $2
             AND u.id = x.user_id AND u.erased_at IS NULL
           RETURNING x.user_id`,
    values: [tokenHash, now],
  });
  return rows[0]?.user_id ?? null;
}

// ---------------------------------------------------------------------------------------------
// What an export holds: every row that is about the person

export interface PersonRow {
  id: string;
  email: string | null;
  display_name: string;
  locale: string;
  password_hash: string | null;
  banned_at: Date | null;
  erased_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export async function findPerson(db: Queryable, userId: string, forUpdate = false): Promise<PersonRow | null> {
  const { rows } = await db.query<PersonRow>({
    text: `SELECT id, email, display_name, locale, password_hash, banned_at, erased_at, created_at, updated_at
           FROM users WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [userId],
  });
  return rows[0] ?? null;
}

export async function listRoles(db: Queryable, userId: string) {
  const { rows } = await db.query<{ role: string; community_id: string | null; created_at: Date }>({
    text: `SELECT role, community_id, created_at FROM user_roles WHERE user_id = $1 ORDER BY created_at, role`,
    values: [userId],
  });
  return rows;
}

export async function listSessions(db: Queryable, userId: string) {
  const { rows } = await db.query<{
    id: string;
    family_id: string;
    created_at: Date;
    expires_at: Date;
    spent_at: Date | null;
    revoked_at: Date | null;
  }>({
    text: `SELECT id, family_id, created_at, expires_at, spent_at, revoked_at
           FROM refresh_tokens WHERE user_id = $1 ORDER BY created_at, id`,
    values: [userId],
  });
  return rows;
}

export interface ReportRow {
  id: string;
  reference: string;
  title: string;
  description: string;
  category_slug: string;
  status: string;
  priority: string;
  lon: number;
  lat: number;
  address: string | null;
  community_id: string | null;
  is_public: boolean;
  anonymous: boolean;
  hidden: boolean;
  metadata: unknown;
  created_at: Date;
  updated_at: Date;
}

export async function listReports(db: Queryable, userId: string): Promise<ReportRow[]> {
  const { rows } = await db.query<ReportRow>({
    text: `SELECT i.id, i.reference, i.title, i.description, c.slug AS category_slug, i.status::text AS status,
                  i.priority::text AS priority, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.address,
                  i.community_id, i.is_public, i.anonymous, i.hidden, i.metadata, i.created_at, i.updated_at
           FROM incidents i JOIN categories c ON c.id = i.category_id
           WHERE i.reporter_id = $1 ORDER BY i.created_at, i.id`,
    values: [userId],
  });
  return rows;
}

/** Everything the person did on timelines: comments, notes, and (for staff) status moves. */
export async function listTimelineEntries(db: Queryable, userId: string) {
  const { rows } = await db.query<{
    id: string;
    incident_id: string;
    reference: string;
    type: string;
    data: Record<string, unknown>;
    internal: boolean;
    hidden_at: Date | null;
    created_at: Date;
  }>({
    text: `SELECT e.id::text, e.incident_id, i.reference, e.type, e.data, e.internal, e.hidden_at, e.created_at
           FROM incident_events e JOIN incidents i ON i.id = e.incident_id
           WHERE e.actor_id = $1 ORDER BY e.id`,
    values: [userId],
  });
  return rows;
}

export interface PersonMediaRow {
  id: string;
  incident_id: string;
  kind: string;
  content_type: string;
  size: string;
  width: number | null;
  height: number | null;
  variants: Array<{ name: string; key: string; contentType: string; size: number }>;
  original_key: string | null;
  created_at: Date;
}

export async function listMedia(db: Queryable, userId: string): Promise<PersonMediaRow[]> {
  const { rows } = await db.query<PersonMediaRow>({
    text: `SELECT id, incident_id, kind::text AS kind, content_type, size::text AS size, width, height, variants,
                  original_key, created_at
           FROM media WHERE uploader_id = $1 ORDER BY created_at, id`,
    values: [userId],
  });
  return rows;
}

export async function listFollows(db: Queryable, userId: string) {
  const { rows } = await db.query<{ incident_id: string; created_at: Date }>({
    text: `SELECT incident_id, created_at FROM incident_follows WHERE user_id = $1 ORDER BY created_at`,
    values: [userId],
  });
  return rows;
}

export async function listConfirmations(db: Queryable, userId: string) {
  const { rows } = await db.query<{ incident_id: string; created_at: Date }>({
    text: `SELECT incident_id, created_at FROM incident_confirmations WHERE user_id = $1 ORDER BY created_at`,
    values: [userId],
  });
  return rows;
}

export async function listUploadLedger(db: Queryable, userId: string) {
  const { rows } = await db.query<{ bytes: string; created_at: Date }>({
    text: `SELECT bytes::text AS bytes, created_at FROM media_uploads WHERE user_id = $1 ORDER BY created_at`,
    values: [userId],
  });
  return rows;
}

/** Audit entries the person made or that are about their account. */
export async function listAuditAbout(db: Queryable, userId: string) {
  const { rows } = await db.query<Omit<AuditRow, 'seq' | 'actor_id' | 'hash' | 'created_at'> & { created_at: Date }>({
    text: `SELECT id::text, action, entity_type, entity_id, data, before, after, request_id, ip, created_at
           FROM audit_log
           WHERE actor_id = $1 OR (entity_type = 'user' AND entity_id = $1::text)
           ORDER BY id`,
    values: [userId],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Erasure

/** The stored objects of every media row on these incidents (they go with the incidents). */
export async function mediaKeysOfIncidents(tx: Queryable, incidentIds: readonly string[]): Promise<string[]> {
  if (incidentIds.length === 0) return [];
  const { rows } = await tx.query<{ key: string }>({
    text: `SELECT v->>'key' AS key FROM media m, jsonb_array_elements(m.variants) v WHERE m.incident_id = ANY($1::uuid[])
           UNION ALL
           SELECT original_key FROM media WHERE incident_id = ANY($1::uuid[]) AND original_key IS NOT NULL`,
    values: [incidentIds],
  });
  return rows.map((r) => r.key);
}

/** Deletes incidents (their timeline, media rows, follows and confirmations cascade). */
export async function deleteIncidents(tx: Queryable, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  // merged duplicates of these point elsewhere now (ON DELETE SET NULL)
  const { rowCount } = await tx.query({ text: `DELETE FROM incidents WHERE id = ANY($1::uuid[])`, values: [ids] });
  return rowCount;
}

/**
 * The person's kept reports: anonymous from now on, the point moved to the centre of its ~250 m
 * cell (the same cell the public already sees for sensitive categories), the address gone.
 */
export async function deidentifyReports(
  tx: Queryable,
  reports: ReadonlyArray<{ id: string; title: string; description: string }>,
): Promise<void> {
  if (reports.length === 0) return;
  await tx.query({
    text: `UPDATE incidents i SET
             anonymous = true,
             address = NULL,
             title = r.title,
             description = r.description,
             version = i.version + 1,
             location = ST_SetSRID(ST_MakePoint(
               round((floor(ST_X(i.location) / $4) * $4 + $4 / 2)::numeric, 6)::double precision,
               round((floor(ST_Y(i.location) / $4) * $4 + $4 / 2)::numeric, 6)::double precision), 4326),
             updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS r(id, title, description)
           WHERE i.id = r.id`,
    values: [reports.map((r) => r.id), reports.map((r) => r.title), reports.map((r) => r.description), BLUR_CELL_DEG],
  });
}

export async function setEventBodies(
  tx: Queryable,
  bodies: ReadonlyArray<{ id: string; body: string }>,
): Promise<void> {
  if (bodies.length === 0) return;
  await tx.query({
    text: `UPDATE incident_events e SET data = jsonb_set(e.data, '{body}', to_jsonb(b.body))
           FROM unnest($1::bigint[], $2::text[]) AS b(id, body)
           WHERE e.id = b.id`,
    values: [bodies.map((b) => b.id), bodies.map((b) => b.body)],
  });
}

/** Media rows the person uploaded, removed; returns their stored keys for the deletion job. */
export async function deleteMediaOf(
  tx: Queryable,
  userId: string,
): Promise<{ keys: string[]; removed: Array<{ id: string; incident_id: string; kind: string }> }> {
  const { rows } = await tx.query<{
    id: string;
    incident_id: string;
    kind: string;
    variants: Array<{ key: string }>;
    original_key: string | null;
  }>({
    text: `DELETE FROM media WHERE uploader_id = $1 RETURNING id, incident_id, kind::text AS kind, variants, original_key`,
    values: [userId],
  });
  return {
    keys: rows.flatMap((r) => [...r.variants.map((v) => v.key), ...(r.original_key ? [r.original_key] : [])]),
    removed: rows.map(({ id, incident_id, kind }) => ({ id, incident_id, kind })),
  };
}

/** "Me too" rows go, and the counts they made on the incidents with them. */
export async function deleteConfirmations(tx: Queryable, userId: string): Promise<number> {
  const { rowCount } = await tx.query({
    text: `WITH gone AS (DELETE FROM incident_confirmations WHERE user_id = $1 RETURNING incident_id)
           UPDATE incidents i SET confirmations = greatest(i.confirmations - 1, 0)
           FROM gone WHERE i.id = gone.incident_id`,
    values: [userId],
  });
  return rowCount;
}

/** Tables whose `user_id` rows are kept through erasure: they name no one once the row is a pseudonym. */
const KEPT_USER_TABLES = new Set(['consents']);

/**
 * Every table with a single-column foreign key to `to` (in the current schema), and that column.
 * Erasure finds the person's rows this way, so a table another feature adds later (alerts,
 * notifications, push subscriptions) is covered without a change here.
 */
async function referencing(tx: Queryable, to: 'users' | 'incident_events') {
  const { rows } = await tx.query<{ tbl: string; col: string }>({
    text: `SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.contype = 'f' AND c.confrelid = $1::regclass AND cardinality(c.conkey) = 1
           ORDER BY 1, 2`,
    values: [to],
  });
  return rows;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The person's own rows: every `user_id` row (sessions, roles, follows, upload ledger, export
 * links, notifications, subscriptions, …) but the consent history; stored idempotent answers
 * (they replay the person's reports, exact location included); and everything hung on their
 * timeline entries or on their reports' events that copies their words (notifications of others
 * quoting a comment or a title).
 */
export async function deletePersonalRows(tx: Queryable, userId: string, reportIds: readonly string[]): Promise<void> {
  for (const { tbl, col } of await referencing(tx, 'incident_events')) {
    await tx.query({
      text: `DELETE FROM ${tbl} WHERE ${quoteIdent(col)} IN (
               SELECT id FROM incident_events WHERE actor_id = $1 OR incident_id = ANY($2::uuid[]))`,
      values: [userId, reportIds],
    });
  }
  for (const { tbl, col } of await referencing(tx, 'users')) {
    if (col !== 'user_id' || KEPT_USER_TABLES.has(tbl)) continue;
    await tx.query({ text: `DELETE FROM ${tbl} WHERE user_id = $1`, values: [userId] });
  }
  await tx.query({ text: 'DELETE FROM idempotency_keys WHERE scope = $1::text', values: [userId] });
}

/**
 * The ban list and the moderation history name people by email: the person's email entry goes
 * (their account, now a pseudonym, stays banned if it was), and moderators' reasons about them
 * are cut like their own texts.
 */
export async function forgetInModeration(
  tx: Queryable,
  userId: string,
  email: string | null,
  scrub: (text: string) => string,
): Promise<void> {
  if (email) {
    await tx.query({ text: `DELETE FROM ban_list WHERE kind = 'email' AND value = lower($1)`, values: [email] });
  }
  const { rows: tables } = await tx.query<{ present: boolean }>({
    text: `SELECT to_regclass('moderation_actions') IS NOT NULL AS present`,
  });
  if (!tables[0]?.present) return;
  const { rows } = await tx.query<{ id: string; target_id: string; reason: string | null }>({
    text: `SELECT id::text, target_id, reason FROM moderation_actions
           WHERE (target_type = 'user' AND target_id = $1::text)
              OR (target_type = 'ban_list' AND target_id = $2::text)
              OR incident_id IN (SELECT id FROM incidents WHERE reporter_id = $1::uuid)`,
    values: [userId, email ? banListTargetId('email', email) : ''],
  });
  for (const row of rows) {
    await tx.query({
      text: `UPDATE moderation_actions SET target_id = $2, reason = $3 WHERE id = $1::bigint`,
      values: [row.id, scrub(row.target_id), row.reason === null ? null : scrub(row.reason)],
    });
  }
}

/** The row stays as the pseudonym; nothing in it names the person any more. */
export async function erasePerson(tx: Queryable, userId: string, placeholderName: string, now: Date): Promise<void> {
  await tx.query({
    text: `UPDATE users SET email = NULL, display_name = $2, password_hash = NULL, token_epoch = token_epoch + 1,
                            erased_at = $3, updated_at = $3
           WHERE id = $1`,
    values: [userId, placeholderName, now],
  });
}

export async function webhookAuthoritiesOf(tx: Queryable, incidentIds: readonly string[]) {
  if (incidentIds.length === 0) return [];
  const { rows } = await tx.query<{ incident_id: string; authority_id: string }>({
    text: `SELECT i.id AS incident_id, i.authority_id FROM incidents i JOIN authorities a ON a.id = i.authority_id
           WHERE i.id = ANY($1::uuid[]) AND a.delivery->>'kind' = 'webhook'`,
    values: [incidentIds],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Retention

/**
 * Accounts with no sign-in, refresh or audited action since `cutoff` (every sign-in and refresh
 * makes a refresh token row; every write is audited with its actor).
 */
export async function inactiveAccounts(db: Queryable, cutoff: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    text: `SELECT u.id FROM users u
           WHERE u.erased_at IS NULL AND u.created_at < $1
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.user_id = u.id AND r.created_at >= $1)
             AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.actor_id = u.id AND a.created_at >= $1)
           ORDER BY u.created_at LIMIT $2`,
    values: [cutoff, limit],
  });
  return rows.map((r) => r.id);
}

/** Hidden reports older than `cutoff` whose reporter is banned or on the ban list: spam. */
export async function hiddenSpam(db: Queryable, cutoff: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    text: `SELECT i.id FROM incidents i JOIN users u ON u.id = i.reporter_id
           WHERE i.hidden AND i.created_at < $1
             AND (u.banned_at IS NOT NULL
                  OR EXISTS (SELECT 1 FROM ban_list b
                             WHERE (b.kind = 'email' AND b.value = lower(u.email))
                                OR (b.kind = 'domain' AND b.value = split_part(lower(u.email), '@', 2))))
           ORDER BY i.created_at LIMIT $2`,
    values: [cutoff, limit],
  });
  return rows.map((r) => r.id);
}
