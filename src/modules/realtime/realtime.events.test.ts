import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Bus } from '../../platform/bus/bus.js';
import type { Database } from '../../platform/db/database.js';
import { EVENTS_TOPIC, REANNOUNCE_MS, Sequencer, type SequencerStore } from './realtime.events.js';
import type { WireEvent } from './realtime.repository.js';

// The sequencer's queries, without a database: each kick sequences the next waiting batch. Given
// to the sequencer rather than through vi.mock, which a module another test file of the same
// worker had loaded first (isolate: false) ignored: both tests then hung in a full run.
const batches: Array<{ from: number; to: number }> = [];
const store: SequencerStore = {
  sequencePending: async () => batches.shift() ?? null,
  loadRange: async (_db, after, upTo) =>
    Array.from({ length: upTo - after }, (_, i) => ({ seq: after + i + 1 }) as WireEvent),
  hasPending: async () => batches.length > 0,
};

const db = { transaction: (fn: (tx: unknown) => Promise<unknown>) => fn({}) } as unknown as Database;
const quiet = { warn: () => undefined };

/** A bus that refuses the first `refusals` publishes, and records what it took. */
function flakyBus(refusals: number) {
  const sent: number[][] = [];
  let left = refusals;
  const bus = {
    kind: 'redis',
    publish: async (topic: string, message: string) => {
      expect(topic).toBe(EVENTS_TOPIC);
      if (left-- > 0) return false;
      sent.push((JSON.parse(message) as WireEvent[]).map((e) => e.seq));
      return true;
    },
  } as unknown as Bus;
  return { bus, sent };
}

async function settle(sequencer: Sequencer) {
  sequencer.kick();
  await vi.waitFor(() => expect(batches).toHaveLength(0));
}

afterEach(() => {
  vi.useRealTimers();
  batches.length = 0;
});

describe('Sequencer', () => {
  it('announces again what the bus refused, until the bus takes it', async () => {
    vi.useFakeTimers();
    const { bus, sent } = flakyBus(3);
    const local: number[] = [];
    const sequencer = new Sequencer(db, bus, (events) => local.push(...events.map((e) => e.seq)), quiet, store);
    batches.push({ from: 1, to: 2 });
    await settle(sequencer);
    expect(local).toEqual([1, 2]); // this node's own sockets do not wait for the bus
    expect(sent).toEqual([]);

    // two more refusals, then the newest event goes out: other nodes fill 1 from the database
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MS);
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MS);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MS);
    expect(sent).toEqual([[2]]);
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MS * 4);
    expect(sent).toEqual([[2]]);
    await sequencer.close();
  });

  it('stops announcing again once a later batch went through', async () => {
    vi.useFakeTimers();
    const { bus, sent } = flakyBus(1);
    const sequencer = new Sequencer(db, bus, () => undefined, quiet, store);
    batches.push({ from: 1, to: 1 });
    await settle(sequencer);
    batches.push({ from: 2, to: 3 });
    await settle(sequencer);
    expect(sent).toEqual([[2, 3]]);
    await vi.advanceTimersByTimeAsync(REANNOUNCE_MS * 3);
    expect(sent).toEqual([[2, 3]]);
    await sequencer.close();
  });
});
