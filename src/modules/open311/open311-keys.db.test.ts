import { expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/helpers/database.js';
import { createKey, listKeys, revokeKey, verifyKey } from './open311-keys.service.js';

const t = useTestDatabase();

it('makes a key that is shown once, stored only as a hash, verified, and revoked for good', async () => {
  const db = t.current.db;
  const made = await createKey(db, 'City of Johannesburg back office');
  expect(made.key).toMatch(/^bw311_[A-Za-z0-9_-]{43}$/);
  expect(await verifyKey(db, made.key)).toBe(made.id);
  expect(await verifyKey(db, `${made.key.slice(0, -1)}${made.key.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
  expect(await verifyKey(db, undefined)).toBeNull();
  expect(await verifyKey(db, 'not a key')).toBeNull();

  // nothing stored or listed holds the key itself
  const { rows } = await db.query<Record<string, unknown>>({ text: 'SELECT * FROM open311_keys' });
  expect(JSON.stringify(rows)).not.toContain(made.key);
  const listed = await listKeys(db);
  expect(listed).toEqual([
    expect.objectContaining({ id: made.id, name: made.name, prefix: made.key.slice(0, 12), revokedAt: null }),
  ]);
  expect(listed[0]!.lastUsedAt).not.toBeNull();
  expect(JSON.stringify(listed)).not.toContain(made.key);

  expect(await revokeKey(db, made.id)).toBe(true);
  expect(await verifyKey(db, made.key)).toBeNull();
  expect(await revokeKey(db, '00000000-0000-4000-8000-000000000000')).toBe(false);
  const audit = await db.query<{ action: string }>({
    text: `SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id`,
    values: [made.id],
  });
  expect(audit.rows.map((r) => r.action)).toEqual(['open311.key.create', 'open311.key.revoke']);
});
