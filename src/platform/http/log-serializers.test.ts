import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { serializeError, serializeRequest } from './log-serializers.js';

/** Request logs and logged errors carry no personal data: no client address, query or row values. */
describe('log serializers', () => {
  it('keep a Postgres error’s kind, code and constraint but not the values in its detail', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
      code: '23505',
      constraint: 'users_email_key',
      detail: 'Key (email)=(thandeka.canary@example.org) already exists.',
      where: 'SQL statement "INSERT INTO users … thandeka.canary@example.org"',
    });
    const logged = JSON.stringify(serializeError(err));
    expect(logged).not.toContain('thandeka.canary');
    expect(serializeError(err)).toMatchObject({ type: 'Error', code: '23505', constraint: 'users_email_key' });
  });

  it('keep the message of an error logged as a plain { message } (background jobs) and of a thrown string', () => {
    expect(serializeError({ message: 'timeout exceeded when trying to connect' })).toMatchObject({
      type: 'object',
      message: 'timeout exceeded when trying to connect',
    });
    expect(serializeError('socket hang up')).toMatchObject({ type: 'string', message: 'socket hang up' });
  });

  it('leave the client address and the query string out of the request logs', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const app = Fastify({
      logger: { level: 'info', stream, serializers: { req: serializeRequest, err: serializeError } },
    });
    app.get('/api/v1/users/:id', async () => ({ ok: true }));
    await app.inject({
      url: '/api/v1/users/42?email=thandeka.canary%40example.org',
      remoteAddress: '203.0.113.77',
    });
    await app.close();
    const logs = lines.join('');
    expect(logs).toContain('"url":"/api/v1/users/42"');
    expect(logs).toContain('"route":"/api/v1/users/:id"');
    expect(logs).not.toContain('203.0.113.77');
    expect(logs).not.toContain('canary');
  });
});
