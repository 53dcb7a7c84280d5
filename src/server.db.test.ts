import pino from 'pino';
import { expect, it } from 'vitest';
import { enqueue } from './platform/jobs/jobs.js';
import { startInProcessJobs } from './server.js';
import { testConfig, testStorage } from '../test/helpers/app.js';
import { useTestDatabase } from '../test/helpers/database.js';

/**
 * `serve` runs jobs itself in embedded mode (and with JOBS_IN_PROCESS). Its job runner must not
 * wait in line for the requests' connections: under load a create's alert job would wait for as
 * long as the load lasted.
 */
const t = useTestDatabase();

it('runs a job while requests hold every connection of the pool', async () => {
  const db = await t.current.connect();
  const config = testConfig();
  const jobs = startInProcessJobs(config, db, await testStorage(config), pino({ level: 'silent' }), null);
  let ran: unknown = null;
  jobs.jobs.register<{ n: number }>({
    name: 'test.own-connections.v1',
    handle: async (payload) => {
      ran = payload;
    },
  });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let enqueued!: () => void;
  const isEnqueued = new Promise<void>((resolve) => (enqueued = resolve));
  // every connection of the requests' pool is taken; one of them enqueues the job, as a create does
  const holders = Array.from({ length: t.current.config.db.poolSize }, (_, i) =>
    db.withClient(async (client) => {
      if (i === 0) {
        await enqueue(client, 'test.own-connections.v1', { n: 42 });
        enqueued();
      }
      await gate;
    }),
  );
  try {
    await isEnqueued;
    jobs.jobs.nudge();
    const deadline = Date.now() + 10_000;
    while (ran === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ran).toEqual({ n: 42 });
    expect(db.stats().idle).toBe(0);
  } finally {
    open();
    await Promise.all(holders);
    await jobs.stop();
    await db.close();
  }
});
