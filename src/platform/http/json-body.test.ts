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
  async function app(options?: Parameters<typeof registerJsonBodyParser>[1]) {
    const fastify = Fastify();
    registerJsonBodyParser(fastify, options);
    fastify.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
      reply.status(err.statusCode ?? 400).send({ error: err.message }),
    );
    fastify.post('/echo', async (request) => ({ body: request.body }));
    await fastify.ready();
    return fastify;
  }
  const postJson = async (payload: string, options?: Parameters<typeof registerJsonBodyParser>[1]) =>
    (await app(options)).inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload,
    });

  it('parses ordinary JSON as before', async () => {
    const res = await postJson(JSON.stringify({ a: [1, { b: 'c' }] }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: { a: [1, { b: 'c' }] } });
  });

  it('refuses 100,000 levels before parsing them', async () => {
    expect((await postJson(nested(100_000))).statusCode).toBe(400);
  });

  it('still refuses prototype poisoning', async () => {
    expect((await postJson('{"__proto__":{"admin":true}}')).statusCode).toBe(400);
  });

  it('shows the exact text to onText, and keeps to a narrower body limit', async () => {
    const seen: string[] = [];
    const text = '{ "a" :1 }';
    const res = await postJson(text, { bodyLimit: 16, onText: (_request, t) => void seen.push(t) });
    expect(res.statusCode).toBe(200);
    expect(seen).toEqual([text]);
    expect((await postJson(JSON.stringify({ long: 'x'.repeat(20) }), { bodyLimit: 16 })).statusCode).toBe(413);
  });
});
