import type { Database } from '../../platform/db/database.js';
import type { Bus } from '../../platform/bus/bus.js';
import * as repo from './realtime.repository.js';
import type { WireEvent } from './realtime.repository.js';

export const EVENTS_TOPIC = 'realtime.events.v1';
const BATCH = 500;
/** how soon a node tries again to announce events the bus did not take */
export const REANNOUNCE_MS = 500;

export interface RealtimeLog {
  warn(obj: object, msg: string): void;
}

/** The sequencer's queries (realtime.repository.ts; tests give their own). */
export type SequencerStore = Pick<typeof repo, 'sequencePending' | 'loadRange' | 'hasPending'>;

/**
 * Gives committed timeline events their sequence numbers and announces them: to this node's
 * fan-out at once, and to every other node over the bus. Runs when a transaction that wrote
 * timeline events commits on this node, and on a timer for events committed elsewhere (a worker,
 * a node that died before it got here). One run at a time per node; across nodes the database
 * lock in `sequencePending` takes turns.
 */
export class Sequencer {
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /**
   * The newest event the bus did not take (Redis away, or this node's connection still
   * redialling). It is announced again until the bus takes it: the other nodes then fill the gap
   * before it from the database, instead of waiting for their poll or for the next event.
   */
  private unannounced: WireEvent | null = null;
  private reannounceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly local: (events: WireEvent[]) => void,
    private readonly log: RealtimeLog,
    private readonly store: SequencerStore = repo,
  ) {}

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = null));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reannounceTimer) clearTimeout(this.reannounceTimer);
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.closed && (await this.once())) {
          /* another batch may be waiting */
        }
      } catch (err) {
        // the next kick or sweep tries again; nothing is lost, the rows keep seq NULL
        this.log.warn({ err }, 'sequencing realtime events failed');
        return;
      }
    } while (this.again && !this.closed);
  }

  /** One batch; true when it was full (there may be more). */
  private async once(): Promise<boolean> {
    const range = await this.db.transaction((tx) => this.store.sequencePending(tx, BATCH));
    if (range === null) return false;
    const events = await this.store.loadRange(this.db, range.from - 1, range.to, BATCH);
    this.local(events);
    if (events.length > 0) await this.announce(events);
    return range.to - range.from + 1 >= BATCH;
  }

  private async announce(events: WireEvent[]): Promise<void> {
    const newest = events[events.length - 1]!;
    if (await this.bus.publish(EVENTS_TOPIC, JSON.stringify(events))) {
      if (this.unannounced && this.unannounced.seq <= newest.seq) this.unannounced = null;
      return;
    }
    if (!this.unannounced || this.unannounced.seq < newest.seq) this.unannounced = newest;
    this.reannounceLater();
  }

  private reannounceLater(): void {
    if (this.reannounceTimer || this.closed) return;
    this.reannounceTimer = setTimeout(() => {
      this.reannounceTimer = null;
      const event = this.unannounced;
      if (!event || this.closed) return;
      void this.bus.publish(EVENTS_TOPIC, JSON.stringify([event])).then((sent) => {
        if (sent && this.unannounced === event) this.unannounced = null;
        if (this.unannounced) this.reannounceLater();
      });
    }, REANNOUNCE_MS);
    this.reannounceTimer.unref();
  }

  /** The timer's check: cheap when nothing waits (a partial index of the unsequenced rows). */
  async sweep(): Promise<void> {
    if (!this.closed && (await this.store.hasPending(this.db))) this.kick();
  }
}

/**
 * Hands events to this node's sockets exactly once and in seq order, whatever the bus does: a
 * copy already seen is dropped, and a gap (a lost message, Redis down, a node that died between
 * its commit and its publish) is filled from the database, where every sequenced event is. A
 * poll does the same when nothing arrives, so fan-out continues on the database alone while
 * Redis is away.
 */
export class Fanout {
  private lastSeq = 0;
  private pollWaiting = false;
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private unresume: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly deliver: (events: WireEvent[]) => void,
    private readonly log: RealtimeLog,
  ) {}

  /** The newest seq handed out here: a new subscription starts after it. */
  get seq(): number {
    return this.lastSeq;
  }

  async start(): Promise<void> {
    this.lastSeq = await repo.maxSeq(this.db);
    this.unsubscribe = this.bus.subscribe(EVENTS_TOPIC, (message) => {
      let events: WireEvent[];
      try {
        events = JSON.parse(message) as WireEvent[];
      } catch {
        return;
      }
      this.accept(events);
    });
    this.unresume = this.bus.onResume(() => this.poll());
  }

  /** Events from the sequencer of this node or the bus; any order, any duplicates. */
  accept(events: WireEvent[]): void {
    this.enqueue(async () => {
      for (const event of events) {
        if (event.seq <= this.lastSeq) continue;
        if (event.seq > this.lastSeq + 1) await this.fill(event.seq - 1);
        if (event.seq <= this.lastSeq) continue;
        this.lastSeq = event.seq;
        this.deliver([event]);
      }
    });
  }

  /**
   * Reads whatever was sequenced after the last event handed out. At most one poll waits at a
   * time: on a slow database, polls must not pile up behind each other.
   */
  poll(): void {
    if (this.pollWaiting) return;
    this.pollWaiting = true;
    this.enqueue(async () => {
      this.pollWaiting = false;
      await this.fill(Number.MAX_SAFE_INTEGER);
    });
  }

  close(): Promise<void> {
    this.unsubscribe?.();
    this.unresume?.();
    return this.chain;
  }

  private async fill(upTo: number): Promise<void> {
    for (;;) {
      const events = await repo.loadRange(this.db, this.lastSeq, upTo, BATCH);
      // a seq taken by a sequencing transaction that rolled back never appears: skip past it
      if (events.length === 0) {
        if (upTo !== Number.MAX_SAFE_INTEGER) this.lastSeq = Math.max(this.lastSeq, upTo);
        return;
      }
      for (const event of events) {
        this.lastSeq = event.seq;
        this.deliver([event]);
      }
      if (events.length < BATCH) {
        if (upTo !== Number.MAX_SAFE_INTEGER) this.lastSeq = Math.max(this.lastSeq, upTo);
        return;
      }
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.log.warn({ err }, 'realtime fan-out could not read missed events; the next poll retries');
    });
  }
}
