import type { Queryable } from '../../platform/db/database.js';
import type { MediaKind } from './media.kinds.js';

/** One stored file of a media item: what the URL serves. */
export interface StoredVariant {
  /** display.webp, display.jpg, thumb.webp, thumb.jpg, video, document */
  name: string;
  key: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
}

export interface MediaRow {
  id: string;
  incident_id: string;
  uploader_id: string | null;
  kind: MediaKind;
  content_type: string;
  size: string;
  width: number | null;
  height: number | null;
  variants: StoredVariant[];
  original_key: string | null;
  created_at: Date;
  /** set while a moderator keeps it from the public (moderation module) */
  hidden_at: Date | null;
  hidden_reason: string | null;
}

export interface MediaInsert {
  id: string;
  incidentId: string;
  uploaderId: string | null;
  kind: MediaKind;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  variants: StoredVariant[];
  originalKey: string | null;
}

const COLUMNS = `id, incident_id, uploader_id, kind, content_type, size, width, height, variants, original_key, created_at,
  hidden_at, hidden_reason`;

export async function listForIncident(db: Queryable, incidentId: string): Promise<MediaRow[]> {
  const { rows } = await db.query<MediaRow>({
    name: 'media.byIncident',
    text: `SELECT ${COLUMNS} FROM media WHERE incident_id = $1 ORDER BY created_at, id`,
    values: [incidentId],
  });
  return rows;
}

export async function findInIncident(
  db: Queryable,
  incidentId: string,
  mediaId: string,
  forUpdate = false,
): Promise<MediaRow | null> {
  const { rows } = await db.query<MediaRow>({
    text: `SELECT ${COLUMNS} FROM media WHERE incident_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [incidentId, mediaId],
  });
  return rows[0] ?? null;
}

/**
 * Serialises uploads to one incident for the rest of the transaction, so "at most N files" holds
 * when twenty uploads finish at once.
 */
export async function lockIncidentMedia(tx: Queryable, incidentId: string): Promise<void> {
  await tx.query({
    text: `SELECT pg_advisory_xact_lock(hashtextextended('media:' || $1::text, 0))`,
    values: [incidentId],
  });
}

export async function countForIncident(db: Queryable, incidentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: `SELECT count(*)::int AS n FROM media WHERE incident_id = $1`,
    values: [incidentId],
  });
  return rows[0]?.n ?? 0;
}

export interface QuotaUse {
  files: number;
  bytes: number;
  /** seconds until the oldest upload of the window stops counting */
  oldestAgeSeconds: number;
}

export async function uploadsInLastDay(db: Queryable, userId: string): Promise<QuotaUse> {
  const { rows } = await db.query<{ files: number; bytes: string; age: number | null }>({
    name: 'media.quota',
    text: `SELECT count(*)::int AS files, coalesce(sum(bytes), 0)::text AS bytes,
                  extract(epoch FROM now() - min(created_at))::float8 AS age
           FROM media_uploads WHERE user_id = $1 AND created_at > now() - interval '1 day'`,
    values: [userId],
  });
  const row = rows[0];
  return { files: row?.files ?? 0, bytes: Number(row?.bytes ?? 0), oldestAgeSeconds: row?.age ?? 0 };
}

export async function insertMedia(tx: Queryable, v: MediaInsert): Promise<MediaRow> {
  const { rows } = await tx.query<MediaRow>({
    text: `INSERT INTO media (id, incident_id, uploader_id, kind, content_type, size, width, height, variants, original_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING ${COLUMNS}`,
    values: [
      v.id,
      v.incidentId,
      v.uploaderId,
      v.kind,
      v.contentType,
      v.size,
      v.width,
      v.height,
      JSON.stringify(v.variants),
      v.originalKey,
    ],
  });
  return rows[0]!;
}

export async function recordUpload(tx: Queryable, userId: string, bytes: number): Promise<void> {
  await tx.query({ text: `INSERT INTO media_uploads (user_id, bytes) VALUES ($1, $2)`, values: [userId, bytes] });
}

export async function deleteMedia(tx: Queryable, mediaId: string): Promise<void> {
  await tx.query({ text: `DELETE FROM media WHERE id = $1`, values: [mediaId] });
}

/** Every stored key of an incident's media (before the incident is deleted). */
export async function keysForIncident(db: Queryable, incidentId: string): Promise<string[]> {
  const rows = await listForIncident(db, incidentId);
  return rows.flatMap(storedKeys);
}

export function storedKeys(row: Pick<MediaRow, 'variants' | 'original_key'>): string[] {
  return [...row.variants.map((v) => v.key), ...(row.original_key ? [row.original_key] : [])];
}

/** Which of these media ids have a row (the garbage collector keeps those). */
export async function existingIds(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>({
    text: `SELECT id::text FROM media WHERE id = ANY($1::uuid[])`,
    values: [ids],
  });
  return new Set(rows.map((r) => r.id));
}

export async function pruneUploadLedger(db: Queryable): Promise<number> {
  const { rowCount } = await db.query({
    text: `DELETE FROM media_uploads WHERE created_at < now() - interval '2 days'`,
    values: [],
  });
  return rowCount;
}
