import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '../../config.js';
import type { Database, Queryable } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal } from '../identity/actor.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { facts, findVisible, type RequestContext } from '../incidents/incidents.service.js';
import { canSeeHiddenMedia, canSeeHideReason } from '../moderation/moderation.policy.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import { checkPdf } from './media.documents.js';
import { processImage, withImageSlot } from './media.images.js';
import { MAX_IMAGE_PIXELS, MediaRejected, type MediaKind } from './media.kinds.js';
import { enqueueObjectDeletion } from './media.jobs.js';
import * as policy from './media.policy.js';
import { presentMedia } from './media.presenter.js';
import * as repo from './media.repository.js';
import type { MediaItem } from './media.schemas.js';
import { MalformedUpload, receiveUpload, UploadTooLarge, type ReceivedFile } from './media.upload.js';
import { scrubVideo } from './media.video.js';

export interface MediaDeps {
  db: Database;
  storage: BlobStorage;
  config: Config['media'];
}

export const MAX_FILES_PER_INCIDENT = 10;
/** an admin's link to an untouched original is short-lived: it may hold GPS and serial numbers */
const ORIGINAL_URL_TTL_SECONDS = 300;

// ---------------------------------------------------------------------------------------------
// Upload

/**
 * Adds a file to an incident. Order matters: permission and limits before a byte is read; the
 * type from the bytes; every variant stored before the row exists (so no row points at a missing
 * object); the row, the timeline event and the audit record in one transaction. If that fails,
 * the stored objects are removed again, and the garbage collector removes what that misses.
 */
export async function uploadMedia(
  deps: MediaDeps,
  ctx: RequestContext,
  idOrReference: string,
  openFile: () => Promise<Readable | null>,
): Promise<MediaItem> {
  const incident = await findVisible(deps.db, ctx.actor, idOrReference);
  if (!policy.canUpload(ctx.actor, facts(incident)) || ctx.actor.userId === null) throw refusal(ctx.actor);
  const userId = ctx.actor.userId;
  await checkLimits(deps.db, deps.config, incident.id, userId, 0);

  const source = await openFile();
  if (source === null) throw invalidField('/body/file', 'validation.file_missing');

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'buurtwag-upload-'));
  try {
    const received = await receiveUpload(source, dir).catch(rejection);
    const prepared = await prepare(received, dir, deps.config.keepOriginals).catch(rejection);
    const mediaId = randomUUID();
    const stored = await store(deps.storage, mediaId, prepared);
    const keys = repo.storedKeys({ variants: stored.variants, original_key: stored.originalKey });
    try {
      const row = await deps.db.transaction(async (tx) => {
        await repo.lockIncidentMedia(tx, incident.id);
        await checkLimits(tx, deps.config, incident.id, userId, received.size);
        const inserted = await repo.insertMedia(tx, {
          id: mediaId,
          incidentId: incident.id,
          uploaderId: userId,
          kind: received.type.kind,
          contentType: received.type.contentType,
          size: received.size,
          width: prepared.width,
          height: prepared.height,
          variants: stored.variants,
          originalKey: stored.originalKey,
        });
        await repo.recordUpload(tx, userId, received.size);
        await appendEvents(tx, [
          { incidentId: incident.id, type: 'media_added', actorId: userId, data: { mediaId, kind: inserted.kind } },
        ]);
        await recordAudit(tx, {
          actorId: userId,
          action: 'media.upload',
          entityType: 'media',
          entityId: mediaId,
          data: {
            incidentId: incident.id,
            kind: inserted.kind,
            contentType: inserted.content_type,
            size: received.size,
          },
          requestId: ctx.requestId,
          ip: ctx.clientAddress,
        });
        return inserted;
      });
      return await presentMedia(row, deps.storage, deps.config.urlTtlSeconds, ctx.actor);
    } catch (err) {
      await deps.storage.delete(keys).catch(() => undefined);
      throw err;
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function checkLimits(
  db: Queryable,
  config: Config['media'],
  incidentId: string,
  userId: string,
  incomingBytes: number,
): Promise<void> {
  if ((await repo.countForIncident(db, incidentId)) >= MAX_FILES_PER_INCIDENT) {
    throw new AppError('conflict', 'error.media_limit.detail', { limit: MAX_FILES_PER_INCIDENT });
  }
  const use = await repo.uploadsInLastDay(db, userId);
  const overFiles = use.files + 1 > config.dailyQuotaFiles;
  const overBytes = use.bytes + incomingBytes > config.dailyQuotaBytes || use.bytes >= config.dailyQuotaBytes;
  if (overFiles || overBytes) {
    // the window frees up as the oldest upload of the last day ages out
    const retryAfter = Math.max(60, Math.ceil(24 * 3600 - use.oldestAgeSeconds));
    throw new AppError('rate_limited', 'error.media_quota.detail', {
      minutes: Math.ceil(retryAfter / 60),
      retryAfter,
    });
  }
}

/** What the stores will hold: re-encoded or cleaned files on local disk, ready to upload. */
interface PreparedFiles {
  width: number | null;
  height: number | null;
  variants: Array<{
    name: string;
    path: string;
    contentType: string;
    size: number;
    width: number | null;
    height: number | null;
  }>;
  original: { path: string; contentType: string } | null;
}

async function prepare(received: ReceivedFile, dir: string, keepOriginal: boolean): Promise<PreparedFiles> {
  const { kind, contentType } = received.type;
  let original: PreparedFiles['original'] = null;
  if (keepOriginal) {
    // a copy, because videos are cleaned in place
    const originalPath = path.join(dir, 'original');
    await fs.copyFile(received.path, originalPath);
    original = { path: originalPath, contentType };
  }
  if (kind === 'image') {
    const image = await withImageSlot(() => processImage(received.path, dir));
    return { width: image.width, height: image.height, variants: image.variants, original };
  }
  if (kind === 'video') {
    await scrubVideo(received.path, contentType as 'video/mp4' | 'video/webm');
  } else {
    await checkPdf(received.path);
  }
  const size = (await fs.stat(received.path)).size;
  const name = kind === 'video' ? 'video' : 'document';
  return {
    width: null,
    height: null,
    variants: [{ name, path: received.path, contentType, size, width: null, height: null }],
    original,
  };
}

/** Every variant (and the original, where kept) under media/<id>/…; all or nothing. */
async function store(
  storage: BlobStorage,
  mediaId: string,
  prepared: PreparedFiles,
): Promise<{ variants: repo.StoredVariant[]; originalKey: string | null }> {
  const variants = prepared.variants.map((v) => ({
    name: v.name,
    key: `media/${mediaId}/${v.name}`,
    contentType: v.contentType,
    size: v.size,
    width: v.width,
    height: v.height,
  }));
  const originalKey = prepared.original ? `media/${mediaId}/original` : null;
  const puts = prepared.variants.map((v, i) => storage.putFile(variants[i]!.key, v.path, v.contentType));
  if (prepared.original && originalKey) {
    puts.push(storage.putFile(originalKey, prepared.original.path, prepared.original.contentType));
  }
  const results = await Promise.allSettled(puts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Not awaited: a store that just failed may take seconds more to refuse this too, and the
    // caller is owed its 503 now. What this misses, the garbage collector removes.
    void storage.delete(repo.storedKeys({ variants, original_key: originalKey })).catch(() => undefined);
    throw failed.reason;
  }
  return { variants, originalKey };
}

/** The processing's refusals as the API's errors (413 / 415). */
function rejection(err: unknown): never {
  if (err instanceof UploadTooLarge) {
    const mb = Math.round(err.limit / (1024 * 1024));
    const detail = (
      {
        image: 'error.image_too_large.detail',
        video: 'error.video_too_large.detail',
        document: 'error.document_too_large.detail',
      } as const satisfies Record<MediaKind, string>
    )[err.kind];
    throw new AppError('too_large', detail, { limit: mb });
  }
  if (err instanceof MalformedUpload) {
    throw new AppError('bad_request', 'error.malformed.detail', { reason: 'the multipart body is incomplete' });
  }
  if (err instanceof MediaRejected) {
    switch (err.reason) {
      case 'too_many_pixels':
        throw new AppError('too_large', 'error.too_many_pixels.detail', { limit: MAX_IMAGE_PIXELS / 1_000_000 });
      case 'heic_unsupported':
        throw new AppError('unsupported_media_type', 'error.media_heic.detail');
      case 'unreadable':
        throw new AppError('unsupported_media_type', 'error.media_unreadable.detail');
      case 'unsupported_type':
        throw new AppError('unsupported_media_type', 'error.media_type.detail');
    }
  }
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Read

export async function listMedia(deps: MediaDeps, ctx: RequestContext, idOrReference: string) {
  const incident = await findVisible(deps.db, ctx.actor, idOrReference);
  const rows = await repo.listForIncident(deps.db, incident.id);
  const seesReason = canSeeHideReason(ctx.actor, facts(incident));
  const items = await Promise.all(
    rows
      .filter((row) => mayShow(ctx, incident, row))
      .map((row) => presentMedia(row, deps.storage, deps.config.urlTtlSeconds, ctx.actor, seesReason)),
  );
  return { items };
}

export async function getMedia(deps: MediaDeps, ctx: RequestContext, idOrReference: string, mediaId: string) {
  const incident = await findVisible(deps.db, ctx.actor, idOrReference);
  const row = await repo.findInIncident(deps.db, incident.id, mediaId);
  if (!row || !mayShow(ctx, incident, row)) throw notFound('error.media_not_found.detail', { id: mediaId });
  const seesReason = canSeeHideReason(ctx.actor, facts(incident));
  return presentMedia(row, deps.storage, deps.config.urlTtlSeconds, ctx.actor, seesReason);
}

/** A file a moderator hid is, to everyone but staff and its uploader, not there at all. */
function mayShow(ctx: RequestContext, incident: IncidentRow, row: repo.MediaRow): boolean {
  return row.hidden_at === null || canSeeHiddenMedia(ctx.actor, facts(incident), { uploaderId: row.uploader_id });
}

/** A short-lived link to the untouched upload, for admins; every access is on the audit trail. */
export async function originalLink(deps: MediaDeps, ctx: RequestContext, idOrReference: string, mediaId: string) {
  const incident = await findVisible(deps.db, ctx.actor, idOrReference);
  const row = await repo.findInIncident(deps.db, incident.id, mediaId);
  if (!row) throw notFound('error.media_not_found.detail', { id: mediaId });
  if (!policy.canSeeOriginal(ctx.actor)) throw refusal(ctx.actor);
  if (row.original_key === null) throw notFound('error.media_not_found.detail', { id: mediaId });
  await recordAudit(deps.db, {
    actorId: ctx.actor.userId,
    action: 'media.original_access',
    entityType: 'media',
    entityId: row.id,
    data: { incidentId: incident.id },
    requestId: ctx.requestId,
    ip: ctx.clientAddress,
  });
  const url = await deps.storage.signedUrl(row.original_key, {
    contentType: row.content_type,
    disposition: 'attachment',
    filename: `original-${row.id.slice(0, 8)}`,
    expiresInSeconds: ORIGINAL_URL_TTL_SECONDS,
  });
  const expiresAt = new Date((Math.floor(Date.now() / 1000) + ORIGINAL_URL_TTL_SECONDS - 1) * 1000);
  return { url, contentType: row.content_type, expiresAt: expiresAt.toISOString() };
}

// ---------------------------------------------------------------------------------------------
// Delete

/**
 * Removes a file: the row, the timeline event and the audit record commit together with a job
 * that deletes every stored object, so the objects go even if the store is down right now.
 */
export async function deleteMedia(deps: MediaDeps, ctx: RequestContext, idOrReference: string, mediaId: string) {
  const incident = await findVisible(deps.db, ctx.actor, idOrReference);
  const keys = await deps.db.transaction(async (tx) => {
    const row = await repo.findInIncident(tx, incident.id, mediaId, true);
    if (!row || !mayShow(ctx, incident, row)) throw notFound('error.media_not_found.detail', { id: mediaId });
    if (!policy.canDelete(ctx.actor, facts(incident), { uploaderId: row.uploader_id })) throw refusal(ctx.actor);
    await repo.deleteMedia(tx, row.id);
    await appendEvents(tx, [
      { incidentId: incident.id, type: 'media_removed', actorId: ctx.actor.userId, data: { mediaId, kind: row.kind } },
    ]);
    await recordAudit(tx, {
      actorId: ctx.actor.userId,
      action: 'media.delete',
      entityType: 'media',
      entityId: row.id,
      data: { incidentId: incident.id, kind: row.kind },
      requestId: ctx.requestId,
      ip: ctx.clientAddress,
    });
    const stored = repo.storedKeys(row);
    await enqueueObjectDeletion(tx, stored);
    return stored;
  });
  await removeObjectsNow(deps.storage, keys);
}

/** Tries at once so files vanish promptly; the queued job repeats it until the store answers. */
export async function removeObjectsNow(storage: BlobStorage, keys: string[]): Promise<void> {
  if (keys.length > 0) await storage.delete(keys).catch(() => undefined);
}
