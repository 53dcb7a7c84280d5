import type { FastifyReply } from 'fastify';

/**
 * Adds request headers to a reply's Vary, beside what others put there (CORS: Origin), once
 * each whatever their case. `*` already says everything varies.
 */
export function addVary(reply: FastifyReply, ...headers: string[]): void {
  const current = String(reply.getHeader('vary') ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (current.includes('*')) return;
  const known = new Set(current.map((v) => v.toLowerCase()));
  const added = headers.filter((h) => !known.has(h.toLowerCase()));
  if (added.length > 0) reply.header('vary', [...current, ...added].join(', '));
}
