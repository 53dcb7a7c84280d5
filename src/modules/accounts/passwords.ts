import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { AppError } from '../../platform/http/errors.js';

/**
 * Password hashing and policy. argon2id with the OWASP minimum (19 MiB memory, 2 passes, 1 lane):
 * ~45 ms a hash on this machine, so a login costs the server something but a guessing attacker
 * far more.
 */
// Algorithm.Argon2id is 2 (a const enum, which isolated modules cannot read)
const ARGON2ID = 2 as Algorithm;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  if (!common) {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', 'common-passwords.txt');
    common = new Set(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean));
  }
  return common;
}

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common';

export function checkPassword(password: string): PasswordProblem | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (password.length > MAX_PASSWORD_LENGTH) return 'too_long';
  if (commonPasswords().has(password.toLowerCase())) return 'too_common';
  return null;
}

/**
 * At most this many hashes at once, one core fewer than the machine has (at least one), so that
 * a burst of sign-ins — or someone spraying passwords — can never take every core from serving
 * everything else: the others wait their turn. Measured under the abuse script's fuzzer on two
 * cores, up to four hashes ran at once on libuv's threads and cheap requests waited behind them.
 */
export const HASHING_SLOTS = Math.max(1, os.availableParallelism() - 1);
/** Past this many waiting, a request is told to come back (503 with Retry-After) instead of queueing. */
export const MAX_WAITING_HASHES = 200;

export class HashingGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly slots: number) {}

  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.slots) {
      if (this.waiting.length >= MAX_WAITING_HASHES) throw new AppError('unavailable', 'error.unavailable.detail');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // the slot passes straight to the next in line, or is given back
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const gate = new HashingGate(HASHING_SLOTS);

export function hashPassword(password: string): Promise<string> {
  return gate.run(() => hash(password, OPTIONS));
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  return gate.run(async () => {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  });
}

/** How many hashes run and wait right now (tests and metrics). */
export function hashingLoad(): { running: number; waiting: number } {
  return gate.load();
}

/**
 * A hash of a password nobody knows, verified when the email is unknown, so that a login for an
 * unknown email costs the same time as one with a wrong password.
 */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= gate.run(() => hash('decoy-password-that-matches-nothing', OPTIONS));
  return decoy;
}

export function commonPasswordCount(): number {
  return commonPasswords().size;
}
