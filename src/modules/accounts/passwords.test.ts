import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/http/errors.js';
import {
  HASHING_SLOTS,
  hashingLoad,
  hashPassword,
  HashingGate,
  MAX_WAITING_HASHES,
  verifyPassword,
} from './passwords.js';

/** Work that finishes when told to, and records how many ran at once. */
function controlled() {
  let now = 0;
  let most = 0;
  const finishers: Array<() => void> = [];
  const work = () =>
    new Promise<number>((resolve) => {
      now++;
      most = Math.max(most, now);
      finishers.push(() => {
        now--;
        resolve(most);
      });
    });
  return { work, finishAll: () => finishers.splice(0).forEach((f) => f()), most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('HashingGate', () => {
  it('runs at most its slots at once and the rest in turn', async () => {
    const gate = new HashingGate(2);
    const c = controlled();
    const all = Promise.all(Array.from({ length: 7 }, () => gate.run(c.work)));
    await tick();
    expect(gate.load()).toEqual({ running: 2, waiting: 5 });
    for (let i = 0; i < 4; i++) {
      c.finishAll();
      await tick();
    }
    await all;
    expect(c.most()).toBe(2);
    expect(gate.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('answers 503 instead of queueing without bound', async () => {
    const gate = new HashingGate(1);
    const c = controlled();
    const queued = Array.from({ length: 1 + MAX_WAITING_HASHES }, () => gate.run(c.work));
    await expect(gate.run(c.work)).rejects.toSatisfy((e) => e instanceof AppError && e.status === 503);
    while (gate.load().running > 0) {
      c.finishAll();
      await tick();
    }
    await Promise.all(queued);
  });

  it('gives the slot back when the work fails', async () => {
    const gate = new HashingGate(1);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
    expect(gate.load()).toEqual({ running: 0, waiting: 0 });
  });
});

describe('password hashing', () => {
  it('goes through the gate: never more hashes at once than HASHING_SLOTS', async () => {
    const n = HASHING_SLOTS + 2;
    const hashes = Array.from({ length: n }, (_, i) => hashPassword(`correct horse battery ${i}`));
    await tick();
    expect(hashingLoad()).toEqual({ running: HASHING_SLOTS, waiting: n - HASHING_SLOTS });
    const stored = await Promise.all(hashes);
    expect(await verifyPassword(stored[0]!, 'correct horse battery 0')).toBe(true);
    expect(await verifyPassword(stored[0]!, 'wrong')).toBe(false);
    expect(hashingLoad()).toEqual({ running: 0, waiting: 0 });
  });
});
