import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jsonDeeperThan, registerJsonBodyParser } from './json-body.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonDeeperThan', () => {
  it('counts arrays and objects inside each other', () => {
    expect(jsonDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonDeeperThan(nested(65), 64)).toBe(true);
    expect(jsonDeeperThan('{"a":{"b":[{"c":1}]}}', 3)).toBe(true);
    expect(jsonDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
  });

  it('measures depth, not the number of brackets', () => {
    expect(jsonDeeperThan(`[${Array.from({ length: 10_000 }, () => '[1]').join(',')}]`, 2)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDeeperThan(JSON.stringify({ a: '[[[[{{{{', b: 'say \\"[[[[\\"' }), 1)).toBe(false);
    expect(jsonDeeperThan(JSON.stringify(['"', [['x']]]), 2)).toBe(true);
  });
});

describe('registerJsonBodyParser', () => {
  async function app() {
    const fastify = Fastify();
    registerJsonBodyParser(fastify);
    fastify.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
      reply.status(err.statusCode ?? 400).send({ error: err.message }),
    );
    fastify.post('/echo', async (request) => ({ body: request.body }));
    await fastify.ready();
    return fastify;
  }

  it('parses ordinary JSON as before', async () => {
    const fastify = await app();
    const res = await fastify.inject({ method: 'POST', url: '/echo', payload: { a: [1, { b: 'c' }] } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: { a: [1, { b: 'c' }] } });
  });

  it('refuses 100,000 levels before parsing them', async () => {
    const fastify = await app();
    const res = await fastify.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: nested(100_000),
    });
    expect(res.statusCode).toBe(400);
  });

  it('still refuses prototype poisoning', async () => {
    const fastify = await app();
    const res = await fastify.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBe(400);
  });
});
