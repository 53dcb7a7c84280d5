import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { write, type Database, type Queryable } from '../db/database.js';

/**
 * Durable jobs in PostgreSQL, so a job is enqueued in the same transaction as the write that
 * causes it (it exists if and only if the write committed), in both modes. Workers claim due
 * jobs with FOR UPDATE SKIP LOCKED, so any number of worker processes can share the table.
 * Retry with exponential backoff is declared here once; handlers live in their feature.
 */
export interface JobDefinition<P> {
  /** name and version: a payload change gets a new version, old jobs keep their handler */
  name: string;
  handle(payload: P, context: { db: Database; attempt: number }): Promise<void>;
  /** the attempts a job gets; pass it to enqueue (the row holds the number a job was given) */
  maxAttempts?: number;
  /**
   * Seconds before attempt n+1 after attempt n failed. A definition that declares it also gets
   * ±20 % jitter, so jobs that failed together (a remote system down) do not retry in step.
   * Without it: backoffSeconds, no jitter.
   */
  backoff?: (attempt: number) => number;
  /** the longest delay a handler's RetryAfter may ask for (default: one day) */
  maxRetryAfterSeconds?: number;
}

/** Thrown by a handler: try again after this many seconds (capped), instead of the backoff. */
export class RetryAfter extends Error {
  constructor(
    readonly seconds: number,
    reason = `retry after ${seconds} s`,
  ) {
    super(reason);
    this.name = 'RetryAfter';
  }
}

/** Thrown by a handler: this job can never succeed; it is dead at once, whatever attempts are left. */
export class GiveUp extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'GiveUp';
  }
}

/** ±20 %: a delay of d seconds becomes one between 0.8 d and 1.2 d. */
export function withJitter(seconds: number, random: () => number = Math.random): number {
  return seconds * (0.8 + 0.4 * random());
}

export async function enqueue<P extends object>(
  tx: Queryable,
  name: string,
  payload: P,
  options: {
    runAt?: Date;
    maxAttempts?: number;
    /** claimed before every ordinary job that is due (work that may alert people to an emergency) */
    urgent?: boolean;
  } = {},
): Promise<void> {
  await write(tx, {
    name: 'jobs.enqueue',
    text: `INSERT INTO jobs (name, payload, run_at, max_attempts, urgent)
           VALUES ($1, $2, coalesce($3, now()), $4, $5)`,
    values: [name, JSON.stringify(payload), options.runAt ?? null, options.maxAttempts ?? 10, options.urgent ?? false],
  });
}

/** The longest a finished job of a batch waits for its DELETE while the batch goes on (default). */
const FORGET_AFTER_MS = 1_000;

/** Delay before attempt n+1: 2^n seconds, capped at one hour. */
export function backoffSeconds(attempt: number): number {
  return Math.min(3600, 2 ** attempt);
}

export interface JobLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface ClaimedJob {
  id: number;
  name: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
}

/** A job that a runner may claim now (over `jobs`, unqualified): due, attempts left, not leased. */
export const CLAIMABLE = `run_at <= now() AND attempts < max_attempts
                          AND (locked_until IS NULL OR locked_until < now())`;

/**
 * Loops that claim and run jobs side by side in one runner. A job waiting on the network (an
 * authority's endpoint that never answers holds a forward for its 10 s timeout) then holds up
 * its own loop only, and the first loop takes urgent jobs alone: an emergency alert is never
 * queued behind a batch of slow forwards (a batch of 20 could hold one loop for 200 s).
 */
const DEFAULT_LANES = 4;

/** While claims fail (the database is down), how often a runner says so. */
const CLAIM_WARNING_INTERVAL_MS = 10_000;

interface Lane {
  /** claims urgent jobs only (the first lane, when there are several) */
  urgentOnly: boolean;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobDefinition<never>>();
  private readonly lanes: Lane[];
  private lastClaimWarning = -Infinity;
  private stopped = true;
  /** stop() was called: hand back what is claimed but not started (runDue alone never sets it) */
  private stopping = false;
  private readonly periodic: Array<{ name: string; intervalMs: number }> = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly periodicRuns = new Set<Promise<void>>();
  // unique per runner, so a runner whose lease expired cannot finish a job another one took over
  private readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly db: Database,
    private readonly log: JobLogger,
    private readonly options: {
      pollMs?: number;
      batchSize?: number;
      lockSeconds?: number;
      /** the longest a finished job of a batch waits for its DELETE while the batch goes on */
      forgetAfterMs?: number;
      /** loops claiming and running jobs side by side (DEFAULT_LANES) */
      lanes?: number;
    } = {},
  ) {
    const count = Math.max(1, options.lanes ?? DEFAULT_LANES);
    this.lanes = Array.from({ length: count }, (_, i) => ({
      urgentOnly: i === 0 && count > 1,
      timer: null,
      running: null,
    }));
  }

  register<P>(definition: JobDefinition<P>): void {
    this.handlers.set(definition.name, definition as JobDefinition<never>);
  }

  /** Runs a registered job's handler on a timer in this process (housekeeping, idempotent work). */
  every(name: string, intervalMs: number): void {
    this.periodic.push({ name, intervalMs });
  }

  start(): void {
    this.stopped = false;
    this.stopping = false;
    for (const lane of this.lanes) this.schedule(lane, 0);
    for (const { name, intervalMs } of this.periodic) {
      // one run at a time: a slow run (a webhook that takes its full timeout) is not overlapped
      let running = false;
      const timer = setInterval(() => {
        const definition = this.handlers.get(name);
        if (!definition || running) return;
        running = true;
        const run = definition
          .handle(undefined as never, { db: this.db, attempt: 1 })
          .catch((err: unknown) => {
            this.log.warn({ job: name, err: { message: (err as Error)?.message } }, 'periodic job failed');
          })
          .finally(() => {
            running = false;
            this.periodicRuns.delete(run);
          });
        this.periodicRuns.add(run);
      }, intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Ask for a prompt run (after an enqueue in this process) instead of waiting for the poll. */
  nudge(): void {
    if (this.stopped) return;
    for (const lane of this.lanes) if (!lane.running) this.schedule(lane, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const lane of this.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
    }
    // periodic runs in flight finish too: the database closes after stop(), and a run cut off
    // there fails half-done ("Cannot use a pool after calling end on the pool")
    await Promise.all([...this.lanes.map((lane) => lane.running), ...this.periodicRuns]);
  }

  /**
   * Claims a batch of due jobs (urgent ones only, for the urgent lane) and runs them in turn;
   * returns how many ran. Used by each lane's loop and by tests. Once stop() is
   * called, the job in hand finishes and the rest of the batch is handed back at once: a node
   * shutting down must not work through a whole batch (20 slow jobs could outlast its shutdown
   * deadline), nor keep them leased for lockSeconds where no other runner can take them.
   */
  async runDue(options: { urgentOnly?: boolean } = {}): Promise<number> {
    const jobs = await this.claim(options.urgentOnly ?? false);
    let finished: number[] = [];
    let since = performance.now();
    let ran = 0;
    try {
      for (const job of jobs) {
        if (this.stopping) {
          await this.release(jobs.slice(ran));
          break;
        }
        if (await this.execute(job)) finished.push(job.id);
        ran++;
        // slow jobs (a webhook's timeout) do not keep the finished ones waiting towards their lease
        if (performance.now() - since > (this.options.forgetAfterMs ?? FORGET_AFTER_MS)) {
          await this.forget(finished);
          finished = [];
          since = performance.now();
        }
      }
    } finally {
      await this.forget(finished);
    }
    return ran;
  }

  /**
   * The jobs of a batch that succeeded, deleted together once the batch is done: one statement
   * a batch instead of one a job (in embedded mode each holds the one session requests wait
   * for). Only while this runner still holds them: after a lease ran out another may have one.
   * A crash before this runs leaves them to run again when their lease ends, which handlers
   * allow for already (a job may run twice).
   */
  private async forget(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query({
      text: 'DELETE FROM jobs WHERE id = ANY($1::bigint[]) AND locked_by = $2',
      values: [ids, this.workerId],
    });
  }

  /** Claimed but not attempted: unlocked, and the attempt the claim counted taken back. */
  private async release(jobs: ClaimedJob[]): Promise<void> {
    await this.db.query({
      text: `UPDATE jobs SET locked_until = NULL, locked_by = NULL, attempts = attempts - 1
             WHERE id = ANY($1::bigint[]) AND locked_by = $2`,
      values: [jobs.map((j) => j.id), this.workerId],
    });
  }

  private schedule(lane: Lane, ms: number): void {
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = setTimeout(() => {
      lane.timer = null;
      lane.running = this.loop(lane).finally(() => {
        lane.running = null;
      });
    }, ms);
    lane.timer.unref();
  }

  private async loop(lane: Lane): Promise<void> {
    let ran = 0;
    try {
      ran = await this.runDue({ urgentOnly: lane.urgentOnly });
    } catch (err) {
      // every lane fails alike while the database is away: one warning a runner per interval
      const now = Date.now();
      if (now - this.lastClaimWarning >= CLAIM_WARNING_INTERVAL_MS) {
        this.lastClaimWarning = now;
        this.log.warn({ err: { message: (err as Error).message } }, 'job runner could not claim jobs');
      }
    }
    if (!this.stopped) this.schedule(lane, ran > 0 ? 0 : (this.options.pollMs ?? 1000));
  }

  private async claim(urgentOnly: boolean): Promise<ClaimedJob[]> {
    const names = [...this.handlers.keys()];
    if (names.length === 0) return [];
    // The urgent jobs that are due (their own small index), then ordinary ones to fill the
    // batch unless the lane takes urgent ones only; the batch runs in that order.
    const { rows } = await this.db.query<ClaimedJob>({
      name: 'jobs.claim',
      text: `WITH urgent AS (
               SELECT id FROM jobs WHERE urgent AND ${CLAIMABLE} AND name = ANY($1)
               ORDER BY run_at, id
               LIMIT $2
               FOR UPDATE SKIP LOCKED),
             ordinary AS (
               SELECT id FROM jobs WHERE NOT urgent AND ${CLAIMABLE} AND name = ANY($1)
               ORDER BY run_at, id
               LIMIT CASE WHEN $5::boolean THEN 0 ELSE $2 - (SELECT count(*) FROM urgent) END
               FOR UPDATE SKIP LOCKED),
             claimed AS (
               UPDATE jobs SET locked_until = now() + make_interval(secs => $3), locked_by = $4,
                               attempts = attempts + 1
               WHERE id IN (SELECT id FROM urgent UNION ALL SELECT id FROM ordinary)
               RETURNING id, name, payload, attempts, max_attempts, urgent, run_at)
             SELECT id, name, payload, attempts, max_attempts FROM claimed
             ORDER BY urgent DESC, run_at, id`,
      values: [names, this.options.batchSize ?? 20, this.options.lockSeconds ?? 300, this.workerId, urgentOnly],
    });
    return rows;
  }

  /** Runs one job; returns whether it succeeded (and is to be deleted with its batch). */
  private async execute(job: ClaimedJob): Promise<boolean> {
    const definition = this.handlers.get(job.name);
    if (!definition) return false;
    try {
      await definition.handle(job.payload as never, { db: this.db, attempt: job.attempts });
      return true;
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      const final = err instanceof GiveUp || job.attempts >= job.max_attempts;
      this.log[final ? 'error' : 'warn'](
        { job: job.name, id: job.id, attempt: job.attempts, err: { message } },
        final ? 'job failed for good' : 'job failed, will retry',
      );
      if (final) {
        // Dead: the row stays (attempts = max_attempts, dead_at set) for an operator to inspect
        // and replay. A GiveUp ends it early: max_attempts drops to the attempts made.
        await this.db.query({
          text: `UPDATE jobs SET locked_until = NULL, locked_by = NULL, last_error = $3, dead_at = now(),
                                 max_attempts = LEAST(max_attempts, attempts)
                 WHERE id = $1 AND locked_by = $2`,
          values: [job.id, this.workerId, message.slice(0, 2000)],
        });
        return false;
      }
      await this.db.query({
        text: `UPDATE jobs SET locked_until = NULL, locked_by = NULL, last_error = $3,
                               run_at = now() + make_interval(secs => $4)
               WHERE id = $1 AND locked_by = $2`,
        values: [job.id, this.workerId, message.slice(0, 2000), retryDelay(definition, job.attempts, err)],
      });
      return false;
    }
  }
}

/** Seconds until the next attempt after attempt `attempt` failed with `err`. */
export function retryDelay(definition: JobDefinition<never>, attempt: number, err: unknown): number {
  if (err instanceof RetryAfter) {
    const cap = definition.maxRetryAfterSeconds ?? 86_400;
    return Math.min(cap, Math.max(0, Number.isFinite(err.seconds) ? err.seconds : cap));
  }
  return definition.backoff ? withJitter(definition.backoff(attempt)) : backoffSeconds(attempt);
}
