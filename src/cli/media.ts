import { parseArgs } from 'node:util';
import type { Queryable } from '../platform/db/database.js';
import type { BlobStorage } from '../platform/storage/storage.js';
import { collectOrphans, DEFAULT_GRACE_SECONDS } from '../modules/media/media.gc.js';

/**
 * `media gc [--grace-minutes N]`: removes stored objects no media row points at, older than the
 * grace period (uploads in flight store their objects before their row commits). Prints what it
 * did as JSON. The worker also runs this every six hours.
 */
export async function mediaCommand(
  db: Queryable,
  storage: BlobStorage,
  args: string[],
  io: { stdout(s: string): void; stderr(s: string): void },
): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'gc') {
    io.stderr('Usage: media gc [--grace-minutes N]\n');
    return 1;
  }
  const { values } = parseArgs({ args: rest, options: { 'grace-minutes': { type: 'string' } } });
  let graceSeconds = DEFAULT_GRACE_SECONDS;
  if (values['grace-minutes'] !== undefined) {
    const minutes = Number(values['grace-minutes']);
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > 7 * 24 * 60) {
      io.stderr('--grace-minutes must be a whole number of minutes from 0 to 10080\n');
      return 1;
    }
    graceSeconds = minutes * 60;
  }
  const result = await collectOrphans(db, storage, { graceSeconds });
  io.stdout(`${JSON.stringify(result)}\n`);
  return 0;
}
