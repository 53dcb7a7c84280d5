import type { Queryable } from '../../platform/db/database.js';
import type { BlobStorage, StoredObjectInfo } from '../../platform/storage/storage.js';
import { existingIds } from './media.repository.js';

/**
 * Uploads in flight store their objects before their row commits; an object younger than this
 * may belong to one of them, so it is left alone.
 */
export const DEFAULT_GRACE_SECONDS = 60 * 60;
const BATCH = 500;
const MEDIA_KEY = /^media\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//;

export interface GcResult {
  scannedObjects: number;
  removedObjects: number;
  removedMedia: number;
}

/** Removes stored objects that no media row points at (an upload that died, a lost delete). */
export async function collectOrphans(
  db: Queryable,
  storage: BlobStorage,
  options: { graceSeconds?: number; now?: Date } = {},
): Promise<GcResult> {
  const cutoff = (options.now ?? new Date()).getTime() - (options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  const result: GcResult = { scannedObjects: 0, removedObjects: 0, removedMedia: 0 };
  let batch = new Map<string, StoredObjectInfo[]>();

  const flush = async () => {
    const ids = [...batch.keys()];
    const alive = await existingIds(db, ids);
    for (const id of ids) {
      if (alive.has(id)) continue;
      const objects = batch.get(id)!;
      // one fresh object keeps the whole item: its upload may still be committing
      if (objects.some((o) => o.lastModified.getTime() > cutoff)) continue;
      await storage.delete(objects.map((o) => o.key));
      result.removedObjects += objects.length;
      result.removedMedia += 1;
    }
    batch = new Map();
  };

  for await (const object of storage.list('media/')) {
    result.scannedObjects += 1;
    const id = MEDIA_KEY.exec(object.key)?.[1];
    if (id === undefined) continue; // not ours to judge
    const group = batch.get(id);
    if (group) group.push(object);
    else {
      if (batch.size >= BATCH) await flush();
      batch.set(id, [object]);
    }
  }
  await flush();
  return result;
}
