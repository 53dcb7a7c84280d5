import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressRefusal,
  DEFAULT_ALLOWED_PORTS,
  OutboundFailed,
  OutboundRefused,
  safeRequest,
  type OutboundLookup,
  type OutboundPolicy,
} from './safe-http.js';
import { newWebhookSecret, signWebhook, verifyWebhook } from './standard-webhooks.js';

/*
 * The "authority" is a real HTTP server on 127.0.0.2, which the test policy allow-lists. Traps
 * count connections where a request must never arrive: one on 127.0.0.1 at the authority's
 * port (a DNS answer that changes to loopback would land there), one on every local address
 * (`::`, dual-stack) for the literal-address forms.
 */
const AUTHORITY = '127.0.0.2';
const HUGE_BYTES = 2 * 1024 * 1024;

let authority: http.Server;
let authorityPort: number;
let authorityConnections = 0;
let loopbackTrap: CountingServer;
let wildcardTrap: CountingServer;

interface CountingServer {
  server: net.Server;
  port: number;
  connections(): number;
}

async function listen(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

async function countingServer(port: number, host: string): Promise<CountingServer> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  return { server, port: await listen(server, port, host), connections: () => count };
}

function authorityHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    switch (new URL(req.url ?? '/', 'http://authority').pathname) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'text/plain', 'x-twice': ['a', 'b'] }).end('hello');
        return;
      case '/echo':
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        return;
      case '/redirect':
        res.writeHead(302, { location: `http://127.0.0.1:${authorityPort}/ok` }).end();
        return;
      case '/silent':
        return; // never answers
      case '/trickle': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/huge':
        res.writeHead(200, { 'content-length': HUGE_BYTES }).end(Buffer.alloc(HUGE_BYTES, 'x'));
        return;
      case '/huge-chunked': {
        // no content-length: the cap must hold while streaming
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let sent = 0; sent < HUGE_BYTES; sent += 64 * 1024) res.write(Buffer.alloc(64 * 1024, 'x'));
        res.end();
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
}

beforeAll(async () => {
  authority = http.createServer(authorityHandler);
  authority.on('connection', () => authorityConnections++);
  authorityPort = await listen(authority, 0, AUTHORITY);
  loopbackTrap = await countingServer(authorityPort, '127.0.0.1');
  wildcardTrap = await countingServer(0, '::');
});

afterAll(async () => {
  authority.closeAllConnections();
  await Promise.all(
    [authority, loopbackTrap.server, wildcardTrap.server].map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    ),
  );
});

const authorityPolicy = (): OutboundPolicy => ({ allowedPorts: [authorityPort], allowAddresses: [AUTHORITY] });
const authorityUrl = (path: string): string => `http://${AUTHORITY}:${authorityPort}${path}`;

/** a DNS stand-in that gives the answers in turn (the last one forever after) and counts calls */
function scriptedLookup(...answers: LookupAddress[][]): OutboundLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    return answers[Math.min(calls.length - 1, answers.length - 1)] ?? [];
  };
  return Object.assign(lookup, { calls });
}
const v4 = (address: string): LookupAddress => ({ address, family: 4 });

async function refusal(promise: Promise<unknown>): Promise<OutboundRefused> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OutboundRefused);
  return error as OutboundRefused;
}

async function failure(promise: Promise<unknown>): Promise<OutboundFailed> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OutboundFailed);
  return error as OutboundFailed;
}

describe('safeRequest: the allowed authority', () => {
  it('GETs an answer with its status, headers and body', async () => {
    const response = await safeRequest(authorityUrl('/ok'), { method: 'GET' }, authorityPolicy());
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['x-twice']).toBe('a, b');
    expect(response.body.toString()).toBe('hello');
  });

  it('POSTs a body with its headers', async () => {
    const response = await safeRequest(
      authorityUrl('/echo?x=1'),
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' },
      authorityPolicy(),
    );
    expect(response.status).toBe(201);
    const echoed = JSON.parse(response.body.toString()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed.method).toBe('POST');
    expect(echoed.url).toBe('/echo?x=1');
    expect(echoed.body).toBe('{"a":1}');
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(echoed.headers['content-length']).toBe('7');
  });

  it('returns a redirect as it is, without following it', async () => {
    const before = loopbackTrap.connections();
    const response = await safeRequest(authorityUrl('/redirect'), { method: 'GET' }, authorityPolicy());
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`http://127.0.0.1:${authorityPort}/ok`);
    expect(loopbackTrap.connections()).toBe(before);
  });

  it('fails with a timeout when the server never answers', async () => {
    const started = Date.now();
    const error = await failure(
      safeRequest(authorityUrl('/silent'), { method: 'GET', timeoutMs: 200 }, authorityPolicy()),
    );
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('times out a response that starts but never ends: the deadline covers the whole body', async () => {
    const error = await failure(
      safeRequest(authorityUrl('/trickle'), { method: 'GET', timeoutMs: 300 }, authorityPolicy()),
    );
    expect(error.reason).toBe('timeout');
  });

  it('cuts off a body larger than the cap, declared or streamed', async () => {
    for (const path of ['/huge', '/huge-chunked']) {
      const error = await failure(safeRequest(authorityUrl(path), { method: 'GET' }, authorityPolicy()));
      expect(error.reason).toBe('too-large');
      expect(error.message).toMatch(/larger than 1048576 bytes/);
    }
    const small = await failure(
      safeRequest(authorityUrl('/ok'), { method: 'GET', maxResponseBytes: 4 }, authorityPolicy()),
    );
    expect(small.reason).toBe('too-large');
    const exact = await safeRequest(authorityUrl('/ok'), { method: 'GET', maxResponseBytes: 5 }, authorityPolicy());
    expect(exact.body.toString()).toBe('hello');
  });

  it('fails (retry later) when nothing listens', async () => {
    const probe = net.createServer();
    const freePort = await listen(probe, 0, AUTHORITY);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await failure(
      safeRequest(
        `http://${AUTHORITY}:${freePort}/`,
        { method: 'GET' },
        { allowedPorts: [freePort], allowAddresses: [AUTHORITY] },
      ),
    );
    expect(error.reason).toBe('network');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('fails (retry later) when the name does not resolve', async () => {
    const lookup: OutboundLookup = () =>
      Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND gone.test'), { code: 'ENOTFOUND' }));
    const error = await failure(safeRequest('http://gone.test/', { method: 'GET' }, { lookup }));
    expect(error.reason).toBe('network');
  });
});

describe('safeRequest: refused by policy', () => {
  it.each([
    ['file:///etc/passwd'],
    ['ftp://127.0.0.2/'],
    ['gopher://127.0.0.2:70/'],
    ['javascript:alert(1)'],
    ['data:text/plain,hi'],
  ])('refuses the scheme of %s', async (url) => {
    const error = await refusal(safeRequest(url, { method: 'GET' }, authorityPolicy()));
    expect(error.reason).toBe('scheme');
  });

  it('refuses something that is not a URL', async () => {
    expect((await refusal(safeRequest('not a url', { method: 'GET' }))).reason).toBe('url');
  });

  it('refuses credentials in the URL', async () => {
    const before = authorityConnections;
    const error = await refusal(
      safeRequest(`http://user:secret@${AUTHORITY}:${authorityPort}/ok`, { method: 'GET' }, authorityPolicy()),
    );
    expect(error.reason).toBe('credentials');
    expect(error.message).not.toContain('secret');
    expect(authorityConnections).toBe(before);
  });

  it('refuses a port that is not allowed, without connecting', async () => {
    const before = authorityConnections;
    const error = await refusal(
      safeRequest(authorityUrl('/ok'), { method: 'GET' }, { allowedPorts: [80, 443], allowAddresses: [AUTHORITY] }),
    );
    expect(error.reason).toBe('port');
    expect(error.message).toContain(`port ${authorityPort} is not allowed`);
    expect(authorityConnections).toBe(before);
  });

  it('allows only 80, 443, 8080 and 8443 by default (an absent port is the scheme default)', async () => {
    expect(DEFAULT_ALLOWED_PORTS).toEqual([80, 443, 8080, 8443]);
    for (const url of ['http://example.test:22/', 'https://example.test:6379/', 'http://example.test:443x/']) {
      const error = await refusal(safeRequest(url, { method: 'GET' }, { lookup: scriptedLookup([v4('8.8.8.8')]) }));
      expect(['port', 'url']).toContain(error.reason);
    }
    const lookup = scriptedLookup([v4('127.0.0.1')]);
    // no port: 443, allowed, so the refusal is the address one
    expect((await refusal(safeRequest('https://example.test/', { method: 'GET' }, { lookup }))).reason).toBe('address');
  });

  // every spelling must be refused without a connection: a server listens on every local
  // address at this port, so a mistake would show as a connection
  const literalHosts = [
    '127.0.0.1',
    '127.1',
    '0x7f000001',
    '2130706433',
    '0177.0.0.1',
    '127.0.0.1.',
    '127.255.255.254',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[0:0:0:0:0:ffff:127.0.0.1]',
    '[::127.0.0.1]',
    '[::1]',
    '[::]',
    '0.0.0.0',
    '0',
    '169.254.169.254',
    '[::ffff:169.254.169.254]',
    '[fe80::1]',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '[fc00::1]',
    '[fd12:3456::1]',
    '[64:ff9b::7f00:1]',
    '[64:ff9b::a9fe:a9fe]',
    '[2002:7f00:1::1]',
    '[2001:0:4136:e378:8000:63bf:3fff:fdd2]',
    '224.0.0.1',
    '255.255.255.255',
    '[ff02::1]',
  ];
  it.each(literalHosts)('refuses http://%s without connecting', async (host) => {
    const lookup = scriptedLookup([v4('8.8.8.8')]);
    const before = wildcardTrap.connections();
    const error = await refusal(
      safeRequest(
        `http://${host}:${wildcardTrap.port}/`,
        { method: 'GET' },
        { allowedPorts: [wildcardTrap.port], allowAddresses: [], lookup },
      ),
    );
    expect(error.reason).toBe('address');
    expect(error.message).toMatch(/is not a public address/);
    expect(wildcardTrap.connections()).toBe(before);
    // a literal is judged as it is, never looked up
    expect(lookup.calls).toEqual([]);
  });

  it('refuses localhost through the real resolver', async () => {
    const before = wildcardTrap.connections();
    const error = await refusal(
      safeRequest(`http://localhost:${wildcardTrap.port}/`, { method: 'GET' }, { allowedPorts: [wildcardTrap.port] }),
    );
    expect(error.message).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is not a public address: loopback/);
    expect(wildcardTrap.connections()).toBe(before);
  });

  it('refuses a name that resolves to loopback', async () => {
    const before = loopbackTrap.connections();
    const lookup = scriptedLookup([v4('127.0.0.1')]);
    const error = await refusal(
      safeRequest(`http://evil.test:${authorityPort}/ok`, { method: 'GET' }, { ...authorityPolicy(), lookup }),
    );
    expect(error.message).toBe('evil.test (127.0.0.1) is not a public address: loopback');
    expect(loopbackTrap.connections()).toBe(before);
  });

  it('refuses a name when ANY of its addresses is not public', async () => {
    const lookup = scriptedLookup([v4('93.184.215.14'), { address: '::1', family: 6 }]);
    const error = await refusal(safeRequest('http://mixed.test/', { method: 'GET' }, { lookup }));
    expect(error.message).toContain('(::1)');
  });

  it('checks the answer it connects with: a name that turns to loopback after a check is refused', async () => {
    // DNS rebinding: the first answer (say, to a check when the admin saved the URL) is public,
    // the next is loopback; only the answer used to connect counts
    const lookup = scriptedLookup([v4('93.184.215.14')], [v4('127.0.0.1')]);
    expect(await lookup('rebind.test')).toEqual([v4('93.184.215.14')]);
    const before = loopbackTrap.connections();
    const error = await refusal(
      safeRequest(`http://rebind.test:${authorityPort}/ok`, { method: 'GET' }, { ...authorityPolicy(), lookup }),
    );
    expect(error.reason).toBe('address');
    expect(loopbackTrap.connections()).toBe(before);
  });

  it('connects to the address it checked, resolving only once', async () => {
    // first the allowed authority, then loopback: a second resolution would land in the trap
    const lookup = scriptedLookup([v4(AUTHORITY)], [v4('127.0.0.1')]);
    const before = loopbackTrap.connections();
    const response = await safeRequest(
      `http://rebind.test:${authorityPort}/ok`,
      { method: 'GET' },
      { ...authorityPolicy(), lookup },
    );
    expect(response.body.toString()).toBe('hello');
    expect(lookup.calls).toEqual(['rebind.test']);
    expect(loopbackTrap.connections()).toBe(before);
  });
});

describe('addressRefusal', () => {
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'lets %s through',
    (address) => {
      expect(addressRefusal(address)).toBeNull();
    },
  );

  it('judges an IPv6 address that embeds IPv4 by the IPv4 address', () => {
    expect(addressRefusal('64:ff9b::808:808')).toBeNull();
    expect(addressRefusal('2002:808:808::1')).toBeNull();
    expect(addressRefusal('::ffff:7f00:1')).toBe('IPv4-mapped of a non-public IPv4 address: loopback');
    expect(addressRefusal('64:ff9b::a00:1')).toBe('NAT64 of a non-public IPv4 address: private');
    expect(addressRefusal('2002:c0a8:101::1')).toBe('6to4 of a non-public IPv4 address: private');
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['0.1.2.3', 'unspecified ("this network")'],
    ['::', 'unspecified'],
    ['172.31.255.255', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique local (private)'],
    ['100.127.255.255', 'carrier-grade NAT (shared)'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved (incl. broadcast)'],
    ['192.0.2.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:0:7f00:1', 'IPv4-translated (SIIT)'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo tunnel'],
    ['100::1', 'reserved (not global unicast)'],
    ['example.com', 'not an IP address'],
  ])('refuses %s: %s', (address, why) => {
    expect(addressRefusal(address)).toBe(why);
  });

  it('lets the allow-list through, by exact address or CIDR', () => {
    expect(addressRefusal('127.0.0.2', ['127.0.0.2'])).toBeNull();
    expect(addressRefusal('127.0.0.3', ['127.0.0.2'])).toBe('loopback');
    expect(addressRefusal('10.1.2.200', ['10.1.2.0/24'])).toBeNull();
    expect(addressRefusal('10.1.3.1', ['10.1.2.0/24'])).toBe('private');
    expect(addressRefusal('fd00::5', ['fd00::/64'])).toBeNull();
    // families do not mix: allowing 127.0.0.2 does not allow its IPv6 spelling
    expect(addressRefusal('::ffff:127.0.0.2', ['127.0.0.2'])).not.toBeNull();
    expect(() => addressRefusal('8.8.8.8', ['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => addressRefusal('8.8.8.8', ['intranet'])).toThrow(TypeError);
  });
});

describe('Standard Webhooks', () => {
  // the known answer from the reference library's tests (standard-webhooks, libraries/javascript)
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    message: { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, payload: '{"test": 2432232314}' },
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  const at = (seconds: number): { now: Date } => ({ now: new Date(seconds * 1000) });
  const t0 = vector.message.timestamp;

  it('signs the known answer', () => {
    expect(signWebhook(vector.message, [vector.secret])).toEqual({
      'webhook-id': vector.message.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': vector.signature,
    });
    const headers = signWebhook(vector.message, [vector.secret]);
    expect(verifyWebhook(headers, vector.message.payload, [vector.secret], at(t0))).toBe(true);
  });

  it('signs with every secret during a rotation, and either one verifies', () => {
    const [older, newer, other] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const message = { id: 'msg_1', timestamp: t0, payload: '{"report":42}' };
    const headers = signWebhook(message, [older, newer]);
    const entries = headers['webhook-signature'].split(' ');
    expect(entries).toHaveLength(2);
    expect(entries.every((entry) => /^v1,[A-Za-z0-9+/]{43}=$/.test(entry))).toBe(true);
    expect(verifyWebhook(headers, message.payload, [older], at(t0))).toBe(true);
    expect(verifyWebhook(headers, message.payload, [newer], at(t0))).toBe(true);
    expect(verifyWebhook(headers, message.payload, [other, newer], at(t0))).toBe(true);
    expect(verifyWebhook(headers, message.payload, [other], at(t0))).toBe(false);
  });

  it('refuses a tampered payload, id, timestamp or signature', () => {
    const headers = signWebhook(vector.message, [vector.secret]);
    const secrets = [vector.secret];
    const payload = vector.message.payload;
    expect(verifyWebhook(headers, '{"test": 2432232315}', secrets, at(t0))).toBe(false);
    expect(verifyWebhook({ ...headers, 'webhook-id': 'msg_other' }, payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook({ ...headers, 'webhook-timestamp': String(t0 + 1) }, payload, secrets, at(t0))).toBe(false);
    const flipped = vector.signature.replace('g0hM', 'g0hN');
    expect(verifyWebhook({ ...headers, 'webhook-signature': flipped }, payload, secrets, at(t0))).toBe(false);
    // the right bytes under another version tag are not a v1 signature
    const v2 = vector.signature.replace('v1,', 'v2,');
    expect(verifyWebhook({ ...headers, 'webhook-signature': v2 }, payload, secrets, at(t0))).toBe(false);
  });

  it('refuses a stale or future timestamp, within the tolerance both ways', () => {
    const headers = signWebhook(vector.message, [vector.secret]);
    const check = (now: number, toleranceSeconds?: number): boolean =>
      verifyWebhook(headers, vector.message.payload, [vector.secret], { ...at(now), toleranceSeconds });
    expect(check(t0 + 300)).toBe(true);
    expect(check(t0 + 301)).toBe(false);
    expect(check(t0 - 300)).toBe(true);
    expect(check(t0 - 301)).toBe(false);
    expect(check(t0 + 60, 30)).toBe(false);
  });

  it('refuses missing or malformed headers', () => {
    const headers = signWebhook(vector.message, [vector.secret]);
    const payload = vector.message.payload;
    const secrets = [vector.secret];
    const without = (name: keyof typeof headers) => ({ ...headers, [name]: undefined });
    expect(verifyWebhook(without('webhook-id'), payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook(without('webhook-timestamp'), payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook(without('webhook-signature'), payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook({ ...headers, 'webhook-timestamp': '1614265330.0' }, payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook({ ...headers, 'webhook-signature': 'v1,' }, payload, secrets, at(t0))).toBe(false);
    expect(verifyWebhook({ ...headers, 'webhook-signature': 'garbage' }, payload, secrets, at(t0))).toBe(false);
    // several signatures, the good one among them, as the spec allows
    const several = `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${vector.signature}`;
    expect(verifyWebhook({ ...headers, 'webhook-signature': several }, payload, secrets, at(t0))).toBe(true);
  });

  it('makes new secrets of 32 random bytes in the whsec_ form', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('rejects malformed secrets and messages as programming mistakes', () => {
    const message = vector.message;
    expect(() => signWebhook(message, [])).toThrow(TypeError);
    expect(() => signWebhook(message, ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'])).toThrow(/starts with "whsec_"/);
    expect(() => signWebhook(message, ['whsec_c2hvcnQ='])).toThrow(/24 to 64 bytes, not 5/);
    expect(() => signWebhook(message, ['whsec_not base64!not base64!not base64!'])).toThrow(/base64/);
    expect(() => signWebhook({ ...message, timestamp: Date.now() }, [vector.secret])).not.toThrow();
    expect(() => signWebhook({ ...message, timestamp: 1.5 }, [vector.secret])).toThrow(/whole unix seconds/);
    expect(() => signWebhook({ ...message, id: '' }, [vector.secret])).toThrow(TypeError);
  });
});
