import { randomBytes } from 'node:crypto';

/**
 * Human references like BW-7K3Q9D2M: 8 characters of Crockford base32 (no I, L, O or U, so
 * nothing is misread over the phone), 40 random bits. Uniqueness is enforced by the database;
 * the service retries on the rare collision.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REFERENCE_PATTERN = /^BW-[0-9A-HJKMNP-TV-Z]{8}$/;

export function newReference(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return `BW-${out}`;
}

/** Accepts what people type: lower case, and the letters Crockford maps to digits (O→0, I/L→1). */
export function normalizeReference(input: string): string | null {
  const cleaned = input.trim().toUpperCase().replace(/^BW-?/, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const candidate = `BW-${cleaned}`;
  return REFERENCE_PATTERN.test(candidate) ? candidate : null;
}
