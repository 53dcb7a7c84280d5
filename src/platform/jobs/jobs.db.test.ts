import { describe, expect, it } from 'vitest';
import { recordingDatabase, useTestDatabase } from '../../../test/helpers/database.js';
import { backoffSeconds, enqueue, JobRunner } from './jobs.js';

const t = useTestDatabase();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('durable jobs', () => {
  it('exist exactly when the enqueuing transaction committed', async () => {
    const { db } = t.current;
    await db.transaction((tx) => enqueue(tx, 'test.kept', { n: 1 }));
    await db
      .transaction(async (tx) => {
        await enqueue(tx, 'test.dropped', { n: 2 });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    const { rows } = await db.query<{ name: string }>({ text: `SELECT name FROM jobs WHERE name LIKE 'test.%'` });
    expect(rows.map((r) => r.name)).toEqual(['test.kept']);
  });

  it('run once, are removed when done, and retry with backoff when they fail', async () => {
    const { db } = t.current;
    const seen: number[] = [];
    let failures = 0;
    const runner = new JobRunner(db, quiet);
    runner.register<{ n: number }>({ name: 'test.kept', handle: async (p) => void seen.push(p.n) });
    runner.register<{ n: number }>({
      name: 'test.flaky',
      handle: async () => {
        failures++;
        throw new Error('remote system down');
      },
    });
    await db.transaction((tx) => enqueue(tx, 'test.flaky', { n: 3 }, { maxAttempts: 2 }));

    expect(await runner.runDue()).toBe(2);
    expect(seen).toEqual([1]);
    expect(failures).toBe(1);
    const after = await db.query<{ name: string; attempts: number; last_error: string; wait: number }>({
      text: `SELECT name, attempts, last_error, extract(epoch FROM run_at - now())::float8 AS wait FROM jobs WHERE name LIKE 'test.%'`,
    });
    expect(after.rows).toHaveLength(1);
    expect(after.rows[0]).toMatchObject({ name: 'test.flaky', attempts: 1, last_error: 'remote system down' });
    expect(after.rows[0]!.wait).toBeGreaterThan(backoffSeconds(1) - 1);

    // not due yet: nothing runs
    expect(await runner.runDue()).toBe(0);
    // due again: the second and last attempt fails, the job stays for inspection and never runs again
    await db.query({ text: `UPDATE jobs SET run_at = now() WHERE name = 'test.flaky'` });
    expect(await runner.runDue()).toBe(1);
    await db.query({ text: `UPDATE jobs SET run_at = now() WHERE name = 'test.flaky'` });
    expect(await runner.runDue()).toBe(0);
    expect(failures).toBe(2);
  });

  it('delete the finished jobs of a batch in one statement, and only those', async () => {
    const { db } = t.current;
    await db.transaction(async (tx) => {
      for (let n = 0; n < 5; n++) await enqueue(tx, n === 2 ? 'test.broken' : 'test.fine', { n });
    });
    const recorded = recordingDatabase(db);
    const runner = new JobRunner(recorded.db, quiet);
    const seen: number[] = [];
    runner.register<{ n: number }>({ name: 'test.fine', handle: async (p) => void seen.push(p.n) });
    runner.register<{ n: number }>({
      name: 'test.broken',
      handle: async () => {
        // the jobs done before this one in the batch are still there (deleted with the batch)
        const { rows } = await db.query<{ n: number }>({
          text: `SELECT count(*)::int AS n FROM jobs WHERE name = 'test.fine'`,
        });
        expect(rows[0]!.n).toBe(4);
        throw new Error('remote system down');
      },
    });

    expect(await runner.runDue()).toBe(5);
    expect(seen.sort()).toEqual([0, 1, 3, 4]);
    const deletes = recorded.statements.filter((s) => /^\s*DELETE FROM jobs/.test(s.text));
    expect(deletes).toHaveLength(1);
    const { rows } = await db.query<{ name: string; attempts: number }>({
      text: `SELECT name, attempts FROM jobs WHERE name IN ('test.fine', 'test.broken')`,
    });
    expect(rows).toEqual([{ name: 'test.broken', attempts: 1 }]);
  });

  it('while a batch is slow, delete its finished jobs without waiting for the end of it', async () => {
    const { db } = t.current;
    await db.transaction(async (tx) => {
      for (let n = 0; n < 3; n++) await enqueue(tx, 'test.batch-slow', { n });
    });
    // forgetAfterMs 0: every job counts as slow
    const runner = new JobRunner(db, quiet, { forgetAfterMs: 0 });
    const leftWhenRun: number[] = [];
    runner.register<{ n: number }>({
      name: 'test.batch-slow',
      handle: async () => {
        const { rows } = await db.query<{ n: number }>({
          text: `SELECT count(*)::int AS n FROM jobs WHERE name = 'test.batch-slow'`,
        });
        leftWhenRun.push(rows[0]!.n);
      },
    });
    expect(await runner.runDue()).toBe(3);
    expect(leftWhenRun).toEqual([3, 2, 1]);
  });

  it('are claimed by one runner only when several compete', async () => {
    const { db } = t.current;
    await db.transaction(async (tx) => {
      for (let n = 0; n < 30; n++) await enqueue(tx, 'test.shared', { n });
    });
    const done: number[] = [];
    const runners = [1, 2, 3].map(() => {
      const r = new JobRunner(db, quiet, { batchSize: 4 });
      r.register<{ n: number }>({ name: 'test.shared', handle: async (p) => void done.push(p.n) });
      return r;
    });
    for (let round = 0; round < 20; round++) await Promise.all(runners.map((r) => r.runDue()));
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });

  it('on stop, finish the job in hand and hand the rest of the batch back at once', async () => {
    const { db } = t.current;
    await db.transaction(async (tx) => {
      for (let n = 0; n < 5; n++) await enqueue(tx, 'test.slow', { n });
    });
    let release!: () => void;
    const inHand = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const done: number[] = [];
    const runner = new JobRunner(db, quiet, { batchSize: 5 });
    runner.register<{ n: number }>({
      name: 'test.slow',
      handle: async (p) => {
        started();
        await inHand;
        done.push(p.n);
      },
    });
    runner.start();
    await firstStarted;
    const stopping = runner.stop();
    release();
    await stopping;
    expect(done).toHaveLength(1);

    const { rows } = await db.query<{ locked_by: string | null; attempts: number }>({
      text: `SELECT locked_by, attempts FROM jobs WHERE name = 'test.slow'`,
    });
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.locked_by === null && r.attempts === 0)).toBe(true);
    // another runner takes them now, not after the lease would have run out
    const next = new JobRunner(db, quiet, { batchSize: 5 });
    next.register<{ n: number }>({ name: 'test.slow', handle: async (p) => void done.push(p.n) });
    expect(await next.runDue()).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });

  it('on stop, wait for a periodic run in flight and start no new one', async () => {
    const { db } = t.current;
    let release!: () => void;
    const inHand = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let runs = 0;
    let finished = 0;
    const runner = new JobRunner(db, quiet);
    runner.register({
      name: 'test.periodic',
      handle: async () => {
        runs++;
        started();
        await inHand;
        // the database is still open for the rest of the run
        await db.query({ text: 'SELECT 1' });
        finished++;
      },
    });
    runner.every('test.periodic', 5);
    runner.start();
    await firstStarted;
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs).toBe(1);
  });

  it('claim urgent jobs before every ordinary one that is due, and run them first', async () => {
    const { db } = t.current;
    const ran: string[] = [];
    const runner = new JobRunner(db, quiet, { batchSize: 5 });
    runner.register<{ n: string }>({ name: 'test.order', handle: async (p) => void ran.push(p.n) });
    // a backlog of twelve ordinary jobs, due a minute ago; then two urgent ones, due now and earlier
    await db.transaction(async (tx) => {
      for (let n = 0; n < 12; n++) {
        await enqueue(tx, 'test.order', { n: `ordinary ${n}` }, { runAt: new Date(Date.now() - 60_000 + n) });
      }
      await enqueue(tx, 'test.order', { n: 'urgent late' }, { urgent: true });
      await enqueue(tx, 'test.order', { n: 'urgent early' }, { urgent: true, runAt: new Date(Date.now() - 1_000) });
      // urgent, but not due yet: waits its time like any other
      await enqueue(tx, 'test.order', { n: 'urgent future' }, { urgent: true, runAt: new Date(Date.now() + 60_000) });
    });

    expect(await runner.runDue()).toBe(5);
    expect(ran).toEqual(['urgent early', 'urgent late', 'ordinary 0', 'ordinary 1', 'ordinary 2']);
    while ((await runner.runDue()) > 0);
    expect(ran).toHaveLength(14);
    expect(ran).not.toContain('urgent future');
    await db.query({ text: `DELETE FROM jobs WHERE name = 'test.order'` });
  });

  it('let a lane take urgent jobs alone, leaving the ordinary ones due', async () => {
    const { db } = t.current;
    const ran: string[] = [];
    const runner = new JobRunner(db, quiet, { batchSize: 5 });
    runner.register<{ n: string }>({ name: 'test.lane', handle: async (p) => void ran.push(p.n) });
    await db.transaction(async (tx) => {
      await enqueue(tx, 'test.lane', { n: 'ordinary' }, { runAt: new Date(Date.now() - 60_000) });
      await enqueue(tx, 'test.lane', { n: 'urgent' }, { urgent: true });
    });
    expect(await runner.runDue({ urgentOnly: true })).toBe(1);
    expect(await runner.runDue({ urgentOnly: true })).toBe(0);
    expect(ran).toEqual(['urgent']);
    expect(await runner.runDue()).toBe(1);
    expect(ran).toEqual(['urgent', 'ordinary']);
  });

  it('run side by side: a job waiting on the network holds up neither an urgent job nor other ordinary ones', async () => {
    const { db } = t.current;
    let release!: () => void;
    const network = new Promise<void>((resolve) => (release = resolve));
    const started: number[] = [];
    const ran: string[] = [];
    // one urgent lane and two ordinary ones, polling often
    const runner = new JobRunner(db, quiet, { lanes: 3, pollMs: 20 });
    runner.register<{ n: number }>({
      name: 'test.hanging',
      handle: async (p) => {
        started.push(p.n);
        await network; // an authority's endpoint that does not answer
      },
    });
    runner.register<{ n: string }>({ name: 'test.quick', handle: async (p) => void ran.push(p.n) });
    await db.transaction(async (tx) => {
      for (let n = 0; n < 3; n++) await enqueue(tx, 'test.hanging', { n });
    });
    runner.start();
    try {
      await until(() => started.length > 0);
      // one lane holds the three forwards; the others go on
      await db.transaction(async (tx) => {
        await enqueue(tx, 'test.quick', { n: 'emergency alert' }, { urgent: true });
        await enqueue(tx, 'test.quick', { n: 'status mail' });
      });
      await until(() => ran.length === 2);
      expect(ran.sort()).toEqual(['emergency alert', 'status mail']);
      expect(started).toHaveLength(1);
    } finally {
      release();
      await until(() => started.length === 3);
      await runner.stop();
    }
    const { rows } = await db.query({ text: `SELECT id FROM jobs WHERE name IN ('test.hanging', 'test.quick')` });
    expect(rows).toEqual([]);
  });

  it('say once, not once a lane and a poll, that they cannot claim jobs while the database is away', async () => {
    const { db } = t.current;
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_obj: object, msg: string) => void warnings.push(msg) };
    const down = {
      ...db,
      query: async () => {
        throw new Error('Connection terminated unexpectedly');
      },
    } as unknown as typeof db;
    const runner = new JobRunner(down, log, { lanes: 4, pollMs: 5 });
    runner.register({ name: 'test.unreachable', handle: async () => undefined });
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runner.stop();
    expect(warnings).toEqual(['job runner could not claim jobs']);
  });

  it('backoff doubles and is capped at an hour', () => {
    expect([1, 2, 3, 10, 20].map(backoffSeconds)).toEqual([2, 4, 8, 1024, 3600]);
  });
});

/** Waits for a condition the runner's lanes bring about (polled; fails after 5 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
