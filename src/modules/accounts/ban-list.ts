import { createHash } from 'node:crypto';

/** The ban list as a value is stored: lower case, without a leading @ on a domain. */
export function normalizeBanValue(value: string): string {
  return value.trim().toLowerCase().replace(/^@/, '');
}

/**
 * How a ban-list entry is named in the audit trail and the moderation history. An email address is
 * personal data and the audit trail is hash-chained (it cannot be scrubbed later), so it holds only
 * the address's SHA-256; a domain names nobody and stays readable.
 */
export function banListTargetId(kind: 'email' | 'domain', value: string): string {
  const normalized = normalizeBanValue(value);
  return kind === 'email'
    ? `email-sha256:${createHash('sha256').update(normalized).digest('hex')}`
    : `domain:${normalized}`;
}
