import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import type { Database } from '../platform/db/database.js';
import { runRetention } from '../modules/privacy/privacy.service.js';

/**
 * `privacy retention [--dry-run]`: applies the retention rules now (the job runner does it daily)
 * and prints what it did as JSON; with --dry-run, what it would do, changing nothing.
 */
export async function privacyCommand(
  db: Database,
  retention: Config['privacy'],
  args: string[],
  io: { stdout(s: string): void; stderr(s: string): void },
  now?: Date,
): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'retention') {
    io.stderr('Usage: privacy retention [--dry-run]\n');
    return 1;
  }
  let values: { 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean' } } }));
  } catch (err) {
    io.stderr(`privacy retention: ${(err as Error).message}\n`);
    return 1;
  }
  const result = await runRetention(db, retention, { dryRun: values['dry-run'] ?? false, ...(now ? { now } : {}) });
  io.stdout(
    `${JSON.stringify({ ...result, inactiveAccountYears: retention.inactiveAccountYears, hiddenSpamDays: retention.hiddenSpamDays })}\n`,
  );
  return 0;
}
