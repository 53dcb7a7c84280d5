import type { Queryable } from './database.js';

/**
 * Server Postgres must keep what it acknowledged: with fsync or full_page_writes off a crash can
 * corrupt the cluster, and with synchronous_commit off it loses the last commits we already
 * answered 201 for. Checked at start; refused in production unless ALLOW_UNSAFE_DURABILITY says
 * someone decided otherwise (a throwaway benchmark box). PGlite is not checked: it is not a
 * crash-safe server in the first place.
 */
export const DURABILITY_SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes'] as const;
export type DurabilitySetting = (typeof DURABILITY_SETTINGS)[number];

/** The effective value of a setting for our sessions (role and database overrides included). */
export type SettingReader = (name: DurabilitySetting) => Promise<string>;

export class UnsafeDurabilityError extends Error {
  constructor(readonly unsafe: string[]) {
    super(
      `PostgreSQL is not crash-safe: ${unsafe.join(', ')}. Turn these on, or set ALLOW_UNSAFE_DURABILITY=on ` +
        'to start anyway (acknowledged writes may then be lost in a crash).',
    );
    this.name = 'UnsafeDurabilityError';
  }
}

export function settingReader(db: Queryable): SettingReader {
  return async (name) => {
    const { rows } = await db.query<{ value: string }>({
      text: 'SELECT current_setting($1) AS value',
      values: [name],
    });
    return rows[0]?.value ?? '';
  };
}

/** Every setting that is not crash-safe, as "name=value". */
export async function unsafeSettings(read: SettingReader): Promise<string[]> {
  const unsafe: string[] = [];
  for (const name of DURABILITY_SETTINGS) {
    const value = (await read(name)).trim().toLowerCase();
    // synchronous_commit: local, remote_write and remote_apply all flush locally first
    const safe = name === 'synchronous_commit' ? value !== 'off' && value !== '' : value === 'on';
    if (!safe) unsafe.push(`${name}=${value || '(unknown)'}`);
  }
  return unsafe;
}

/** Warns, or in production (without the override) throws UnsafeDurabilityError. */
export async function checkDurability(
  read: SettingReader,
  options: { production: boolean; allowUnsafe: boolean; log: { warn(obj: object, msg: string): void } },
): Promise<string[]> {
  const unsafe = await unsafeSettings(read);
  if (unsafe.length === 0) return unsafe;
  if (options.production && !options.allowUnsafe) throw new UnsafeDurabilityError(unsafe);
  options.log.warn({ unsafe }, 'PostgreSQL is not crash-safe: acknowledged writes may be lost in a crash');
  return unsafe;
}
