import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PrivateRedis } from '../../../test/helpers/redis-server.js';
import type { Bus, BusLogger } from './bus.js';
import { MemoryBus } from './memory.js';
import { openBus } from './open.js';
import { RedisBus } from './redis.js';

/**
 * Both buses as the realtime layer uses them. The Redis bus runs as two "nodes" (two RedisBus
 * instances) on a Redis of the test's own, which the outage tests crash, freeze and bring back;
 * the shared Redis on 6379 is never touched.
 */

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

function recordingLog(): BusLogger & { entries: LogEntry[]; at(level: LogEntry['level']): LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    at: (level) => entries.filter((e) => e.level === level),
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => entries.push({ level: 'error', obj, msg }),
  };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('MemoryBus', () => {
  it('delivers asynchronously, in order, to every handler of the topic', async () => {
    const bus = new MemoryBus({ log: recordingLog() });
    const first: string[] = [];
    const second: string[] = [];
    const other: string[] = [];
    bus.subscribe('t', (m) => first.push(m));
    bus.subscribe('t', (m) => second.push(m));
    bus.subscribe('other', (m) => other.push(m));

    const sent = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
    const results = await Promise.all(sent.map((m) => bus.publish('t', m)));
    expect(results.every(Boolean)).toBe(true);
    await waitFor('delivery', () => second.length === sent.length);
    expect(first).toEqual(sent);
    expect(second).toEqual(sent);
    expect(other).toEqual([]);
    expect(bus.state()).toBe('up');
    await bus.close();
  });

  it('does not deliver inside publish, so a handler that publishes does not recurse', async () => {
    const bus = new MemoryBus({ log: recordingLog() });
    const seen: string[] = [];
    let depth = 0;
    bus.subscribe('t', (m) => {
      depth += 1;
      seen.push(`${m}@${depth}`);
      if (m === 'ping') void bus.publish('t', 'pong');
      depth -= 1;
    });
    void bus.publish('t', 'ping');
    expect(seen).toEqual([]);
    await waitFor('the answer', () => seen.length === 2);
    expect(seen).toEqual(['ping@1', 'pong@1']);
    await bus.close();
  });

  it('stops delivering to an unsubscribed handler, and only to that one', async () => {
    const bus = new MemoryBus({ log: recordingLog() });
    const kept: string[] = [];
    const dropped: string[] = [];
    const handler = (m: string) => dropped.push(m);
    bus.subscribe('t', (m) => kept.push(m));
    const unsubscribe = bus.subscribe('t', handler);
    // the same function subscribed twice is two registrations
    const unsubscribeAgain = bus.subscribe('t', handler);
    await bus.publish('t', 'a');
    await waitFor('a', () => kept.length === 1);
    unsubscribe();
    unsubscribe(); // twice is harmless
    await bus.publish('t', 'b');
    await waitFor('b', () => kept.length === 2);
    unsubscribeAgain();
    await bus.publish('t', 'c');
    await waitFor('c', () => kept.length === 3);
    expect(kept).toEqual(['a', 'b', 'c']);
    expect(dropped).toEqual(['a', 'a', 'b']);
    await bus.close();
  });

  it('keeps delivering to the other handlers when one throws, and logs it', async () => {
    const log = recordingLog();
    const bus = new MemoryBus({ log });
    const seen: string[] = [];
    bus.subscribe('t', () => {
      throw new Error('handler bug');
    });
    bus.subscribe('t', (m) => seen.push(m));
    await bus.publish('t', 'a');
    await bus.publish('t', 'b');
    await waitFor('delivery', () => seen.length === 2);
    expect(seen).toEqual(['a', 'b']);
    expect(log.at('error')).toHaveLength(2);
    expect(log.at('error')[0]!.obj).toMatchObject({ topic: 't', err: { message: 'handler bug' } });
    await bus.close();
  });

  it('refuses to publish once closed', async () => {
    const bus = new MemoryBus({ log: recordingLog() });
    await bus.close();
    expect(await bus.publish('t', 'late')).toBe(false);
  });
});

describe('openBus', () => {
  it('opens the memory bus without Redis and the Redis bus with it', async () => {
    const log = recordingLog();
    const memory = openBus({ redis: null }, log);
    expect(memory.kind).toBe('memory');
    await memory.close();
    // nothing listens on port 1: the Redis bus is made at once, and says 'down'
    const redis = openBus({ redis: { url: 'redis://127.0.0.1:1' } }, log);
    expect(redis.kind).toBe('redis');
    expect(redis.state()).toBe('down');
    await redis.close();
  });
});

describe('RedisBus', () => {
  const redis = new PrivateRedis();
  const open: Bus[] = [];
  let testNumber = 0;
  let prefix = '';

  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()));
    // a test that failed half-way may leave Redis frozen or down: the next one needs it up
    redis.thaw();
    if (!redis.running) await redis.start();
  });

  /** one "node"; every node of a test shares the test's own channel prefix */
  function node(log: BusLogger = recordingLog()): RedisBus {
    const bus = new RedisBus(redis.url, { prefix, log });
    open.push(bus);
    return bus;
  }

  beforeEach(() => {
    testNumber += 1;
    prefix = `test:${process.pid}:${testNumber}:`;
  });

  /** how many connections Redis has subscribed to a topic: SUBSCRIBE has taken hold once this says so */
  async function subscribers(topic: string): Promise<number> {
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    try {
      const reply = (await admin.pubsub('NUMSUB', prefix + topic)) as [string, number];
      return Number(reply[1]);
    } catch {
      return -1;
    } finally {
      admin.disconnect();
    }
  }

  it('carries messages from one node to the handlers of every node, this one included, in order', async () => {
    const a = node();
    const b = node();
    const onA: string[] = [];
    const onB: string[] = [];
    const alsoOnB: string[] = [];
    a.subscribe('t', (m) => onA.push(m));
    b.subscribe('t', (m) => onB.push(m));
    b.subscribe('t', () => {
      // would become an uncaught exception (ioredis rethrows listener errors) if not caught
      throw new Error('handler bug');
    });
    b.subscribe('t', (m) => alsoOnB.push(m));
    await waitFor('both nodes up', () => a.state() === 'up' && b.state() === 'up');
    await waitFor('both subscriptions', async () => (await subscribers('t')) === 2);

    const sent = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
    // all at once: order must hold through ioredis' pipelining, not only between awaited calls
    const results = await Promise.all(sent.map((m) => a.publish('t', m)));
    expect(results.every(Boolean)).toBe(true);
    await waitFor('all messages on both nodes', () => onA.length === 1_000 && alsoOnB.length === 1_000);
    expect(onA).toEqual(sent);
    expect(onB).toEqual(sent);
    expect(alsoOnB).toEqual(sent);

    // and the other way round
    expect(await b.publish('t', 'from b')).toBe(true);
    await waitFor('the answer', () => onA.length === 1_001 && onB.length === 1_001);
    expect(onA.at(-1)).toBe('from b');
  });

  it('stops delivering to an unsubscribed handler, and unsubscribes from Redis when the last one goes', async () => {
    const a = node();
    const b = node();
    const first: string[] = [];
    const second: string[] = [];
    const onB: string[] = [];
    const unsubscribeFirst = a.subscribe('t', (m) => first.push(m));
    const unsubscribeSecond = a.subscribe('t', (m) => second.push(m));
    b.subscribe('t', (m) => onB.push(m));
    await waitFor('both subscriptions', async () => (await subscribers('t')) === 2);

    unsubscribeFirst();
    await a.publish('t', 'x');
    await waitFor('x', () => second.length === 1 && onB.length === 1);
    unsubscribeSecond();
    await waitFor('node A to unsubscribe', async () => (await subscribers('t')) === 1);
    await a.publish('t', 'y');
    await waitFor('y', () => onB.length === 2);
    await sleep(50);
    expect(first).toEqual([]);
    expect(second).toEqual(['x']);
    expect(onB).toEqual(['x', 'y']);

    // subscribing again takes hold again
    a.subscribe('t', (m) => first.push(m));
    await waitFor('node A to subscribe again', async () => (await subscribers('t')) === 2);
    await b.publish('t', 'z');
    await waitFor('z', () => first.length === 1);
    expect(first).toEqual(['z']);
  });

  it('survives a Redis crash: fails fast while it is down and resumes by itself when it is back', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    const consoleError = vi.spyOn(console, 'error');
    try {
      const logA = recordingLog();
      const logB = recordingLog();
      const a = node(logA);
      const b = node(logB);
      const onA: string[] = [];
      const onB: string[] = [];
      a.subscribe('t', (m) => onA.push(m));
      b.subscribe('t', (m) => onB.push(m));
      let resumedA = 0;
      let resumedB = 0;
      a.onResume(() => (resumedA += 1));
      b.onResume(() => (resumedB += 1));
      await waitFor('both nodes up', () => a.state() === 'up' && b.state() === 'up');
      await waitFor('both subscriptions', async () => (await subscribers('t')) === 2);
      expect(resumedA + resumedB).toBe(0); // the first connection is no resume
      expect(await a.publish('t', 'before')).toBe(true);
      await waitFor('before', () => onB.length === 1);

      await redis.kill();
      // at once, then over two seconds of redials
      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        expect(await a.publish('t', `lost ${i}`)).toBe(false);
        timings.push(performance.now() - started);
        await sleep(100);
      }
      expect(Math.max(...timings)).toBeLessThan(300);
      expect(a.state()).toBe('down');
      expect(b.state()).toBe('down');
      // one warning per node for the outage, not one per redial
      expect(logA.at('warn'), JSON.stringify(logA.entries)).toHaveLength(1);
      expect(logB.at('warn')).toHaveLength(1);

      await redis.restart();
      const restarted = performance.now();
      let probe = 0;
      // publish a probe until both nodes hear one: that is delivery resumed, end to end
      await waitFor(
        'delivery to resume',
        async () => {
          await a.publish('t', `probe ${probe++}`);
          return onA.some((m) => m.startsWith('probe')) && onB.some((m) => m.startsWith('probe'));
        },
        10_000,
      );
      const resumeMs = performance.now() - restarted;
      console.info(`bus: delivery resumed ${Math.round(resumeMs)} ms after Redis came back`);
      expect(resumeMs).toBeLessThan(10_000);
      await waitFor('both nodes up', () => a.state() === 'up' && b.state() === 'up');
      expect(resumedA).toBe(1);
      expect(resumedB).toBe(1);
      expect(logA.at('info')).toHaveLength(2); // first connect, and back after the outage
      expect(logA.at('warn')).toHaveLength(1);

      // nothing from the outage arrives late, and order holds after it
      const after = Array.from({ length: 100 }, (_, i) => `after ${i}`);
      expect((await Promise.all(after.map((m) => a.publish('t', m)))).every(Boolean)).toBe(true);
      await waitFor('after', () => onB.filter((m) => m.startsWith('after')).length === 100);
      expect(onB.filter((m) => !m.startsWith('probe'))).toEqual(['before', ...after]);
      expect(onA.some((m) => m.startsWith('lost'))).toBe(false);

      expect(unhandled).toEqual([]);
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
      consoleError.mockRestore();
    }
  });

  it('fails fast while Redis hangs, drops the hung connection, and resumes when it answers again', async () => {
    const a = node();
    const b = node();
    const onB: string[] = [];
    b.subscribe('t', (m) => onB.push(m));
    await waitFor('both nodes up', () => a.state() === 'up' && b.state() === 'up');
    await waitFor('the subscription', async () => (await subscribers('t')) === 1);

    redis.freeze();
    const started = performance.now();
    expect(await a.publish('t', 'unanswered')).toBe(false);
    expect(performance.now() - started).toBeLessThan(300);
    // the publisher's socket timeout gives up on the connection that gets no answers
    await waitFor('node A to notice', () => a.state() === 'down', 6_000);

    redis.thaw();
    await waitFor(
      'delivery to resume',
      async () => {
        await a.publish('t', 'probe');
        return onB.includes('probe');
      },
      10_000,
    );
    expect(a.state()).toBe('up');
  });

  it('resubscribes even when the connection drops again in the middle of resubscribing', async () => {
    // ioredis' own autoResubscribe forgets the channels here (and rejects a promise nobody holds)
    const cutter = await subscribeCutter(redis.port);
    try {
      const bus = new RedisBus(`redis://127.0.0.1:${cutter.port}`, { prefix, log: recordingLog() });
      open.push(bus);
      const seen: string[] = [];
      bus.subscribe('t', (m) => seen.push(m));
      let resumed = 0;
      bus.onResume(() => (resumed += 1));
      await waitFor('the bus up', () => bus.state() === 'up');

      cutter.armed = true;
      cutter.dropAll();
      await waitFor('the SUBSCRIBE to be cut', () => !cutter.armed);
      await waitFor('the bus up again', () => bus.state() === 'up', 10_000);
      expect(await subscribers('t')).toBe(1);
      expect(resumed).toBe(1);
      expect(await bus.publish('t', 'after')).toBe(true);
      await waitFor('after', () => seen.includes('after'));
    } finally {
      await cutter.close();
    }
  });

  it('closes at once while Redis is down', async () => {
    const a = node();
    const b = node();
    a.subscribe('t', () => undefined);
    await waitFor('both nodes up', () => a.state() === 'up' && b.state() === 'up');
    await redis.kill();
    await sleep(300); // into the redials
    const started = performance.now();
    await Promise.all([a.close(), b.close()]);
    expect(performance.now() - started).toBeLessThan(300);
    expect(await a.publish('t', 'late')).toBe(false);
  });

  it('closes at once when Redis was never there', async () => {
    const bus = new RedisBus('redis://127.0.0.1:1', { prefix, log: recordingLog() });
    await sleep(200);
    const started = performance.now();
    await bus.close();
    expect(performance.now() - started).toBeLessThan(300);
  });
});

/**
 * A loopback proxy to Redis that can cut every connection (`dropAll`) and, while `armed`, cuts
 * the connection that sends the next SUBSCRIBE, then disarms.
 */
async function subscribeCutter(redisPort: number) {
  const sockets = new Set<net.Socket>();
  const state = { armed: false };
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      if (state.armed && /subscribe/i.test(chunk.toString())) {
        state.armed = false;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    get armed() {
      return state.armed;
    },
    set armed(value: boolean) {
      state.armed = value;
    },
    dropAll,
    close: () => {
      dropAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
