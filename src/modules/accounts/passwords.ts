import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash, verify, type Algorithm } from '@node-rs/argon2';

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

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * A hash of a password nobody knows, verified when the email is unknown, so that a login for an
 * unknown email costs the same time as one with a wrong password.
 */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hash('decoy-password-that-matches-nothing', OPTIONS);
  return decoy;
}

export function commonPasswordCount(): number {
  return commonPasswords().size;
}
