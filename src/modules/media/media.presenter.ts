import type { BlobStorage } from '../../platform/storage/storage.js';
import type { Actor } from '../identity/actor.js';
import { canSeeOriginal } from './media.policy.js';
import type { MediaRow, StoredVariant } from './media.repository.js';
import type { MediaItem } from './media.schemas.js';

/** A media row as the API shows it, with URLs signed for `ttlSeconds`. */
export async function presentMedia(
  row: MediaRow,
  storage: BlobStorage,
  ttlSeconds: number,
  viewer: Actor,
  /** may the viewer read why it was hidden (moderation.policy canSeeHideReason) */
  seesHideReason = false,
): Promise<MediaItem> {
  const variant = (name: string): StoredVariant | null => row.variants.find((v) => v.name === name) ?? null;
  // a second early: the stores round their expiry down to whole seconds
  const expiresAt = new Date((Math.floor(Date.now() / 1000) + ttlSeconds - 1) * 1000);
  const main = variant('display.webp') ?? variant('video') ?? variant('document') ?? row.variants[0]!;
  const sign = async (v: StoredVariant | null): Promise<string | null> =>
    v === null
      ? null
      : storage.signedUrl(v.key, {
          contentType: v.contentType,
          // documents are downloads: a browser never renders them on our origin
          disposition: row.kind === 'document' ? 'attachment' : 'inline',
          ...(row.kind === 'document' ? { filename: `document-${row.id.slice(0, 8)}.pdf` } : {}),
          expiresInSeconds: ttlSeconds,
        });
  const [url, thumbnailUrl, fallbackUrl, thumbnailFallbackUrl] = await Promise.all([
    sign(main),
    sign(variant('thumb.webp')),
    sign(variant('display.jpg')),
    sign(variant('thumb.jpg')),
  ]);
  return {
    id: row.id,
    incidentId: row.incident_id,
    kind: row.kind,
    contentType: main.contentType,
    size: main.size,
    width: main.width,
    height: main.height,
    url: url!,
    thumbnailUrl,
    fallbackUrl,
    thumbnailFallbackUrl,
    urlExpiresAt: expiresAt.toISOString(),
    createdAt: row.created_at.toISOString(),
    ...(canSeeOriginal(viewer) ? { originalKept: row.original_key !== null } : {}),
    // rows returned by an insert have no hidden_at yet: a new file is never hidden
    hidden: row.hidden_at
      ? { at: new Date(row.hidden_at).toISOString(), reason: seesHideReason ? row.hidden_reason : null }
      : null,
  };
}
