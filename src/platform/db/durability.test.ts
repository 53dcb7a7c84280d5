import { describe, expect, it } from 'vitest';
import { checkDurability, UnsafeDurabilityError, type DurabilitySetting } from './durability.js';

/** The start-up check of server Postgres's crash safety, against a fake settings reader. */
const reader =
  (overrides: Partial<Record<DurabilitySetting, string>> = {}) =>
  async (name: DurabilitySetting) =>
    ({ fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', ...overrides })[name];

function recorder() {
  const warnings: object[] = [];
  return { warnings, log: { warn: (obj: object) => void warnings.push(obj) } };
}

describe('checkDurability', () => {
  it('is quiet when fsync, synchronous_commit and full_page_writes are on', async () => {
    const { warnings, log } = recorder();
    expect(await checkDurability(reader(), { production: true, allowUnsafe: false, log })).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('accepts every synchronous_commit level that flushes locally', async () => {
    const { log } = recorder();
    for (const level of ['local', 'remote_write', 'remote_apply']) {
      expect(
        await checkDurability(reader({ synchronous_commit: level }), { production: true, allowUnsafe: false, log }),
      ).toEqual([]);
    }
  });

  it('refuses to start in production, naming each unsafe setting', async () => {
    const { log } = recorder();
    const check = checkDurability(reader({ fsync: 'off', synchronous_commit: 'off' }), {
      production: true,
      allowUnsafe: false,
      log,
    });
    await expect(check).rejects.toBeInstanceOf(UnsafeDurabilityError);
    await expect(check).rejects.toThrow(/fsync=off, synchronous_commit=off.*ALLOW_UNSAFE_DURABILITY/);
  });

  it('only warns outside production, or in production with the override', async () => {
    for (const options of [
      { production: false, allowUnsafe: false },
      { production: true, allowUnsafe: true },
    ]) {
      const { warnings, log } = recorder();
      const unsafe = await checkDurability(reader({ full_page_writes: 'off' }), { ...options, log });
      expect(unsafe).toEqual(['full_page_writes=off']);
      expect(warnings).toEqual([{ unsafe: ['full_page_writes=off'] }]);
    }
  });
});
