import { describe, expect, it } from 'vitest';
import { backend, recordingDatabase, useTestDatabase } from '../../../test/helpers/database.js';
import { auditCommand, verifyAudit } from '../../cli/audit.js';
import type { Database, Queryable } from '../../platform/db/database.js';
import { recordAudit, redact, REDACTED } from './audit.repository.js';
import { sealAudit } from './audit.sealer.js';

const t = useTestDatabase();

const entry = (n: number) => ({
  actorId: null,
  action: 'test.write',
  entityType: 'thing',
  entityId: String(n),
  data: { n, note: `ünïcödé ${n} "quoted" | 12:34 ~` },
  requestId: `req-${n}`,
  ip: '192.0.2.1',
});

/**
 * Tampering as someone who can bypass the trigger (a superuser, a restored dump): triggers off
 * for this transaction only. Works on server PostgreSQL and on PGlite alike.
 */
function tamper(db: Database, fn: (tx: Queryable) => Promise<unknown>): Promise<void> {
  return db.transaction(async (tx) => {
    await tx.query({ text: 'SET LOCAL session_replication_role = replica' });
    await fn(tx);
  });
}

async function refusal(db: Database, text: string): Promise<string> {
  try {
    await db.query({ text });
  } catch (err) {
    return (err as Error).message;
  }
  return 'not refused';
}

async function sealedRows(db: Queryable) {
  const { rows } = await db.query<{ id: string; seq: string; entity_id: string }>({
    text: `SELECT id::text, seq::text, entity_id FROM audit_log WHERE seq IS NOT NULL ORDER BY audit_log.seq`,
  });
  return rows;
}

describe('audit trail', () => {
  it('seals recorded rows into a chain with consecutive seq that verify accepts', async () => {
    const { db } = t.current;
    await db.transaction(async (tx) => {
      for (let n = 1; n <= 5; n++) await recordAudit(tx, entry(n));
    });
    expect(await verifyAudit(db)).toEqual({ rows: 0, unsealed: 5, problems: [] });

    const result = await sealAudit(db);
    expect(result.sealed).toBe(5);
    expect(result.headSeq).toBe(5);
    expect(result.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await sealedRows(db)).map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    // nothing left: a second run seals nothing
    expect((await sealAudit(db)).sealed).toBe(0);

    // sealing in small batches continues the same chain
    await db.transaction(async (tx) => {
      for (let n = 6; n <= 12; n++) await recordAudit(tx, entry(n));
    });
    expect((await sealAudit(db, { batchSize: 3 })).sealed).toBe(7);
    expect(await verifyAudit(db)).toEqual({ rows: 12, unsealed: 0, problems: [] });

    const { rows } = await db.query<{ seq: string; prev: string; hash: string }>({
      text: `SELECT seq::text, encode(prev_hash, 'hex') AS prev, encode(hash, 'hex') AS hash
             FROM audit_log ORDER BY audit_log.seq`,
    });
    expect(rows[0]!.prev).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev).toBe(rows[i - 1]!.hash);

    const out: string[] = [];
    const code = await auditCommand(db, ['verify'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
    expect(code).toBe(0);
    expect(out.join('')).toContain('12 sealed row(s) checked');
  });

  it('seals in transactions of 100 rows embedded and 1,000 on PostgreSQL', async () => {
    const { db } = t.current;
    await sealAudit(db);
    await db.transaction(async (tx) => {
      for (let n = 1; n <= 250; n++) await recordAudit(tx, entry(1000 + n));
    });
    const recorded = recordingDatabase(db);
    expect((await sealAudit(recorded.db)).sealed).toBe(250);
    // embedded, a transaction holds the one session every request waits for: short ones there
    const batches = recorded.statements.filter((s) => s.text.includes('audit_seal(')).map((s) => s.values);
    expect(batches).toEqual(backend() === 'embedded' ? [[100], [100], [100]] : [[1000]]);
    expect(await verifyAudit(db)).toMatchObject({ unsealed: 0, problems: [] });
  });

  it('refuses UPDATE, DELETE, TRUNCATE and sealed or forged inserts', async () => {
    const { db } = t.current;
    expect(await refusal(db, `UPDATE audit_log SET action = 'x' WHERE entity_id = '1'`)).toMatch(/append-only/);
    expect(await refusal(db, `UPDATE audit_log SET data = '{}' WHERE seq IS NOT NULL`)).toMatch(/append-only/);
    expect(await refusal(db, `DELETE FROM audit_log WHERE entity_id = '2'`)).toMatch(/append-only/);
    expect(await refusal(db, `TRUNCATE audit_log`)).toMatch(/append-only/);
    const partition = `audit_log_${new Date().toISOString().slice(0, 7).replace('-', '_')}`;
    expect(await refusal(db, `TRUNCATE ${partition}`)).toMatch(/append-only/);
    expect(
      await refusal(
        db,
        `INSERT INTO audit_log (action, entity_type, entity_id, seq, prev_hash, hash)
         VALUES ('forged', 'thing', '99', 99, '\\x00', '\\x00')`,
      ),
    ).toMatch(/unsealed/);
    // re-sealing a sealed row, or sealing an unsealed one with a hash its content does not give
    expect(await refusal(db, `UPDATE audit_log SET seq = seq + 100 WHERE seq = 1`)).toMatch(/append-only/);
    await db.transaction((tx) => recordAudit(tx, entry(13)));
    expect(
      await refusal(
        db,
        `UPDATE audit_log SET seq = 13, prev_hash = '\\x00', hash = sha256('\\x00') WHERE hash IS NULL`,
      ),
    ).toMatch(/append-only/);
    expect((await sealAudit(db)).sealed).toBe(1);
    expect((await verifyAudit(db)).problems).toEqual([]);
  });

  it('verify finds an edited row', async () => {
    const { db } = t.current;
    await tamper(db, (tx) =>
      tx.query({ text: `UPDATE audit_log SET data = jsonb_set(data, '{n}', '1000') WHERE seq = 3` }),
    );
    const result = await verifyAudit(db);
    expect(result.problems).toEqual([expect.stringMatching(/^seq 3 .*hash does not match.*edited/)]);
    const out: string[] = [];
    expect(await auditCommand(db, ['verify'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) })).toBe(1);
    expect(out.join('')).toContain('FAILED');

    // an edit whose hash was recomputed too breaks the link to the next row instead
    await tamper(db, (tx) =>
      tx.query({
        text: `UPDATE audit_log SET hash = audit_row_hash(prev_hash, seq, id, created_at, actor_id, action,
                 entity_type, entity_id, data, before, after, request_id, ip) WHERE seq = 3`,
      }),
    );
    expect((await verifyAudit(db)).problems).toEqual([expect.stringMatching(/^seq 4 .*prev_hash does not match/)]);

    // put it back as it was: the chain is whole again
    await tamper(db, async (tx) => {
      await tx.query({ text: `UPDATE audit_log SET data = jsonb_set(data, '{n}', '3') WHERE seq = 3` });
      await tx.query({
        text: `UPDATE audit_log SET hash = audit_row_hash(prev_hash, seq, id, created_at, actor_id, action,
                 entity_type, entity_id, data, before, after, request_id, ip) WHERE seq = 3`,
      });
    });
    expect((await verifyAudit(db)).problems).toEqual([]);
  });

  it('verify finds a deleted row, in the middle or at the end', async () => {
    const { db } = t.current;
    const keep = async (seq: number) =>
      (await db.query<{ id: string }>({ text: `SELECT id::text FROM audit_log WHERE seq = ${seq}` })).rows[0]!.id;
    const copy = async (seq: number) => {
      const id = await keep(seq);
      await tamper(db, (tx) =>
        tx.query({ text: `CREATE TABLE saved_${seq} AS SELECT * FROM audit_log WHERE id = ${id}` }),
      );
    };
    const restore = (seq: number) =>
      tamper(db, async (tx) => {
        await tx.query({ text: `INSERT INTO audit_log SELECT * FROM saved_${seq}` });
        await tx.query({ text: `DROP TABLE saved_${seq}` });
      });

    await copy(7);
    await tamper(db, (tx) => tx.query({ text: `DELETE FROM audit_log WHERE seq = 7` }));
    expect((await verifyAudit(db)).problems).toEqual(['seq 7 is missing (a row deleted)']);
    await restore(7);
    expect((await verifyAudit(db)).problems).toEqual([]);

    const last = (await sealedRows(db)).length;
    await copy(last);
    await tamper(db, (tx) => tx.query({ text: `DELETE FROM audit_log WHERE seq = ${last}` }));
    expect((await verifyAudit(db)).problems).toEqual([
      `seq ${last} is missing at the end of the chain (the newest sealed row deleted)`,
    ]);
    await restore(last);
    expect((await verifyAudit(db)).problems).toEqual([]);
  });

  it('verify finds a forged sealed row', async () => {
    const { db } = t.current;
    // a copy of seq 5, with its own id: a second row claiming seq 5
    await tamper(db, (tx) =>
      tx.query({
        text: `INSERT INTO audit_log (id, actor_id, action, entity_type, entity_id, data, created_at, seq, prev_hash, hash)
               SELECT nextval('audit_log_id_seq'), actor_id, 'forged', entity_type, entity_id, data, created_at,
                      seq, prev_hash, hash
               FROM audit_log WHERE seq = 5`,
      }),
    );
    const problems = (await verifyAudit(db)).problems;
    expect(problems).toContainEqual(expect.stringMatching(/seq 5 appears more than once/));
    expect(problems).toContainEqual(expect.stringMatching(/seq 5 .*hash does not match/));
    await tamper(db, (tx) => tx.query({ text: `DELETE FROM audit_log WHERE action = 'forged'` }));
    expect((await verifyAudit(db)).problems).toEqual([]);

    // a well-formed row appended past the head by someone who knows the algorithm
    await tamper(db, (tx) =>
      tx.query({
        text: `INSERT INTO audit_log (id, action, entity_type, entity_id, created_at, seq, prev_hash, hash)
               SELECT i, 'forged', 'thing', 'x', c, h.seq + 1, h.hash,
                      audit_row_hash(h.hash, h.seq + 1, i, c, NULL, 'forged', 'thing', 'x', '{}', NULL, NULL, NULL, NULL)
               FROM audit_chain_head h, nextval('audit_log_id_seq') AS i, now() AS c`,
      }),
    );
    expect((await verifyAudit(db)).problems).toEqual([expect.stringMatching(/rows past the chain head/)]);
    await tamper(db, (tx) => tx.query({ text: `DELETE FROM audit_log WHERE action = 'forged'` }));
    expect((await verifyAudit(db)).problems).toEqual([]);
  });

  it('never stores secrets, at any depth', async () => {
    const { db } = t.current;
    const secretful = {
      email: 'a@example.org',
      password: 'hunter2',
      nested: { refreshToken: 'r', list: [{ access_token: 'a', Authorization: 'Bearer x', keep: 1 }] },
      token: 't',
      clientSecret: 's',
    };
    expect(redact(secretful)).toEqual({
      email: 'a@example.org',
      password: REDACTED,
      nested: { refreshToken: REDACTED, list: [{ access_token: REDACTED, Authorization: REDACTED, keep: 1 }] },
      token: REDACTED,
      clientSecret: REDACTED,
    });
    expect(secretful.password).toBe('hunter2'); // the caller's object is left alone

    await db.transaction((tx) =>
      recordAudit(tx, {
        actorId: null,
        action: 'user.password_change',
        entityType: 'user',
        entityId: 'u1',
        data: secretful,
        before: { passwordHash: 'old', name: 'A' },
        after: { passwordHash: 'new', name: 'B', deep: { a: { b: { secret: 'x' } } } },
      }),
    );
    const { rows } = await db.query<{ all: string }>({
      text: `SELECT data::text || before::text || after::text AS all FROM audit_log WHERE entity_id = 'u1'`,
    });
    for (const secret of ['hunter2', '"r"', 'Bearer', '"old"', '"new"', '"x"'])
      expect(rows[0]!.all).not.toContain(secret);
    expect(rows[0]!.all).toContain('"name": "B"');
    await sealAudit(db);
    expect((await verifyAudit(db)).problems).toEqual([]);
  });

  it('has partitions for this month and makes future ones idempotently', async () => {
    const { db } = t.current;
    const month = (offset: number) => {
      const d = new Date();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + offset);
      return `audit_log_${d.toISOString().slice(0, 7).replace('-', '_')}`;
    };
    const partitions = async () =>
      (
        await db.query<{ name: string }>({
          text: `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'audit_log'::regclass`,
        })
      ).rows.map((r) => r.name);
    const before = await partitions();
    expect(before).toContain(month(0));
    expect(before).toContain('audit_log_default');

    const ensure = async (ahead: number) =>
      (await db.query<{ made: number }>({ text: `SELECT audit_ensure_partitions(${ahead}) AS made` })).rows[0]!.made;
    const made = await ensure(48);
    expect(made).toBeGreaterThan(0);
    expect(await ensure(48)).toBe(0);
    const after = await partitions();
    expect(after).toContain(month(48));
    expect(after.length).toBe(before.length + made);

    // this month's rows land in this month's partition, not the default one
    const { rows } = await db.query<{ part: string }>({
      text: `SELECT tableoid::regclass::text AS part FROM audit_log ORDER BY id DESC LIMIT 1`,
    });
    expect(rows[0]!.part).toMatch(new RegExp(`${month(0)}$`));

    // a month without a partition: the row still goes in (default partition), and that month's
    // partition is then not made, since its rows could not be moved out of the default one
    await db.query({
      text: `INSERT INTO audit_log (action, entity_type, entity_id, created_at)
             VALUES ('test.far', 'thing', 'far', '2040-06-15T00:00:00Z')`,
    });
    const far = await db.query<{ part: string }>({
      text: `SELECT tableoid::regclass::text AS part FROM audit_log WHERE entity_id = 'far'`,
    });
    expect(far.rows[0]!.part).toMatch(/audit_log_default$/);
    const made2040 = await db.query<{ made: boolean }>({ text: `SELECT audit_make_partition('2040-06-01') AS made` });
    expect(made2040.rows[0]!.made).toBe(false);
  });

  it('keeps one valid chain when many transactions write while sealers run', async () => {
    const { db } = t.current;
    const before = await verifyAudit(db);
    const writers = Array.from({ length: 50 }, (_, w) =>
      db.transaction(async (tx) => {
        for (let k = 0; k < 4; k++) await recordAudit(tx, { ...entry(1000 + w * 10 + k), action: 'test.concurrent' });
      }),
    );
    let stop = false;
    const sealers = [1, 2].map(async () => {
      while (!stop) await sealAudit(db, { batchSize: 25 });
    });
    await Promise.all(writers);
    stop = true;
    await Promise.all(sealers);
    await sealAudit(db);

    const result = await verifyAudit(db);
    expect(result).toEqual({ rows: before.rows + before.unsealed + 200, unsealed: 0, problems: [] });
    const { rows } = await db.query<{ n: number; distinct: number; max: number }>({
      text: `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct, max(seq)::int AS max FROM audit_log`,
    });
    expect(rows[0]).toEqual({ n: result.rows, distinct: result.rows, max: result.rows });
  });
});
